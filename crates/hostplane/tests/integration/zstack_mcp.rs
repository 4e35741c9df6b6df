//! hostplane end to end with ZStack's own Python client (`zstack-mcp-server` from PyPI, its
//! `zstack_mcp.zstack_client.ZStackClient`, which speaks the legacy RPC API).
//!
//! A real `hostplane serve` (SQLite) and a real OpenSSH test host; the global config
//! `kvm.takeOverFlagPath` is pointed at the login user's home over REST (test users are not
//! root); then `tests/e2e/zstack_mcp_client.py` logs in, creates a zone and a cluster, adds
//! the host with AddKVMHost, queries it with conditions and deletes it, checking every reply.
//!
//! The Python: `HOSTPLANE_E2E_PYTHON` (a python with the packages of
//! `tests/e2e/requirements.txt` installed) when set. Otherwise, with `CI` set, the test fails
//! (never a silent skip); on a developer's machine it makes `target/e2e-venv` and installs
//! `tests/e2e/requirements.txt` there (PyPI), once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hostplane_testkit::server::Server;
use hostplane_testkit::sshd::{SshdHost, SshdOptions};

use super::common::Api;

/// How long the Python script may run (each async call costs it at least one 1 s poll).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The version of zstack-mcp-server that requirements.txt pins.
fn pinned_version(requirements: &Path) -> String {
    std::fs::read_to_string(requirements)
        .expect("read tests/e2e/requirements.txt")
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("zstack-mcp-server==")
                .map(str::to_string)
        })
        .expect("requirements.txt pins zstack-mcp-server==<version>")
}

/// The installed zstack-mcp-server version of this python, if it can import the client.
fn installed_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m, zstack_mcp.zstack_client; print(m.version('zstack-mcp-server'))",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A python with zstack-mcp-server installed (see the module doc).
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HOSTPLANE_E2E_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            installed_version(&p).is_some(),
            "HOSTPLANE_E2E_PYTHON={} cannot import zstack_mcp.zstack_client: pip install -r tests/e2e/requirements.txt into it",
            p.display()
        );
        return p;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide ZStack's Python client: set HOSTPLANE_E2E_PYTHON to a python with \
         tests/e2e/requirements.txt installed (.ci/run: python3 -m venv target/e2e-venv && \
         target/e2e-venv/bin/pip install -r tests/e2e/requirements.txt && \
         export HOSTPLANE_E2E_PYTHON=$PWD/target/e2e-venv/bin/python)"
    );
    let root = workspace_root();
    let requirements = root.join("tests/e2e/requirements.txt");
    let venv = root.join("target/e2e-venv");
    let py = venv.join("bin/python");
    let want = pinned_version(&requirements);
    if installed_version(&py).as_deref() != Some(want.as_str()) {
        eprintln!(
            "e2e: installing {} into {}",
            requirements.display(),
            venv.display()
        );
        if !py.exists() {
            run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        }
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(&requirements));
        assert_eq!(
            installed_version(&py).as_deref(),
            Some(want.as_str()),
            "zstack-mcp-server did not install into {}",
            venv.display()
        );
    }
    py
}

#[test]
fn zstack_mcp_client_end_to_end() {
    let python = python();
    let server = Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        Default::default(),
    );
    let host = SshdHost::start(SshdOptions::default());
    let mut rest = Api::new(&server.base);
    rest.login("admin", "password");
    let r = rest.set_config("kvm", "takeOverFlagPath", "~/.hostplane/takeOver");
    assert_eq!(
        r.body["inventory"]["value"], "~/.hostplane/takeOver",
        "{}",
        r.text
    );

    let script = workspace_root().join("tests/e2e/zstack_mcp_client.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .env("HOSTPLANE_URL", &server.base)
        .env("HOSTPLANE_ACCOUNT", "admin")
        .env("HOSTPLANE_PASSWORD", "password")
        .env("E2E_HOST_IP", &host.ip)
        .env("E2E_HOST_PORT", host.port.to_string())
        .env("E2E_HOST_USER", &host.user)
        .env("E2E_HOST_PASSWORD", &host.password)
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("ZSTACK_SESSION_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    // Read both pipes on threads so a chatty script cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (out_t.join().unwrap(), err_t.join().unwrap());
    let ok = status.is_some_and(|s| s.success());
    assert!(
        ok,
        "{} {}: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log (tail)\n{}",
        python.display(),
        script.display(),
        match status {
            Some(s) => format!("exited with {s}"),
            None => format!("killed after {SCRIPT_TIMEOUT:?}"),
        },
        tail(&server.log(), 60)
    );
    assert!(stdout.contains("[e2e] all steps passed"), "{stdout}");
    eprintln!("{stdout}");
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}
