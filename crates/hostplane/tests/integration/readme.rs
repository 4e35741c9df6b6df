//! The README's curl walkthrough, run as written (`tests/readme/walkthrough.sh` extracts it)
//! against a real server and a real OpenSSH sshd: once logging in as root (whose takeover flag
//! goes to /var/run/zstack, a private tmpfs inside the test host), once as another user (for
//! whom the walkthrough sets `kvm.takeOverFlagPath` first). What a reader would check: the
//! commands succeed, the host was Connected, and everything it made is gone at the end.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use hostplane_testkit::sshd::{Login, SshdHost, SshdOptions};

use super::common::{Db, Env};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn walkthrough(root: bool) {
    let env = Env::start(Db::Sqlite);
    let host = SshdHost::start(SshdOptions {
        login: if root { Login::Root } else { Login::User },
        ..Default::default()
    });
    assert_eq!(host.user == "root", root);
    let repo = repo_root();
    let mut child = Command::new("bash")
        .arg(repo.join("tests/readme/walkthrough.sh"))
        .arg(repo.join("README.md"))
        .env("HP", format!("{}/zstack/v1", env.server.base))
        .env("HOST_IP", &host.ip)
        .env("SSH_PORT", host.port.to_string())
        .env("SSH_USER", &host.user)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/readme/walkthrough.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", host.password).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the walkthrough failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log:\n{}",
        out.status,
        env.server.log()
    );
    // The added host, as json.tool printed it, then the query's row.
    assert!(
        stdout.contains("\"status\": \"Connected\""),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("\"managementIp\": \"{}\"", host.ip)),
        "stdout:\n{stdout}"
    );
    assert!(stdout.contains("\"cpuNum\""), "stdout:\n{stdout}");
    assert!(
        !stdout.contains(&host.password) && !stderr.contains(&host.password),
        "the SSH password is never printed"
    );
    // Cleaned up.
    for what in ["/hosts", "/clusters", "/zones"] {
        assert_eq!(
            env.api.query(&format!("{what}?count=true"))["total"],
            0,
            "{what} left behind"
        );
    }
    // The takeover flag went where the user can write it.
    let flag_path = env
        .api
        .query("/global-configurations?q=category=kvm&q=name=takeOverFlagPath")["inventories"][0]
        ["value"]
        .clone();
    assert_eq!(
        flag_path,
        if root {
            "/var/run/zstack/takeOver"
        } else {
            "~/.hostplane/takeOver"
        }
    );
}

#[test]
fn curl_walkthrough_as_root() {
    walkthrough(true)
}

#[test]
fn curl_walkthrough_as_another_user() {
    walkthrough(false)
}
