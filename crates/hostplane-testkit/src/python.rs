//! The Python the end-to-end tests drive (ZStack's Python client, the Prometheus parser, the
//! OpenAPI validator): the packages of `tests/e2e/requirements.txt`.
//!
//! `HOSTPLANE_E2E_PYTHON` (a python with those packages) when set; otherwise, with `CI` set, the
//! test fails (never a silent skip); on a developer's machine `target/e2e-venv` is made and
//! `tests/e2e/requirements.txt` installed into it (PyPI), once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn can_import(python: &Path, modules: &[&str]) -> bool {
    Command::new(python)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A python that can import `modules` (see the module doc).
pub fn python(modules: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os("HOSTPLANE_E2E_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            can_import(&p, modules),
            "HOSTPLANE_E2E_PYTHON={} cannot import {modules:?}: pip install -r tests/e2e/requirements.txt into it",
            p.display()
        );
        return p;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide the test Python: set HOSTPLANE_E2E_PYTHON to a python with \
         tests/e2e/requirements.txt installed (scripts/test.sh does)"
    );
    let root = workspace_root();
    let venv = root.join("target/e2e-venv");
    let py = venv.join("bin/python");
    if !can_import(&py, modules) {
        if !py.exists() {
            let ok = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "python3 -m venv {} failed", venv.display());
        }
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(root.join("tests/e2e/requirements.txt"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok && can_import(&py, modules),
            "installing tests/e2e/requirements.txt into {} failed",
            venv.display()
        );
    }
    py
}

/// Run `python script args...` with `env`; (success, stdout, stderr).
pub fn run(
    python: &Path,
    script: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut c = Command::new(python);
    c.arg(script).args(args).env("PYTHONUNBUFFERED", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
