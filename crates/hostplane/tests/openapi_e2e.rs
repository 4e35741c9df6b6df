//! The OpenAPI document, end to end: a real `hostplane serve` serves it without a session and
//! it is the committed `docs/openapi.json`; then `tests/e2e/openapi_check.py` validates it with
//! `openapi-spec-validator` (PyPI), checks it covers every API of the table, and drives the
//! server with a client that knows nothing but the document — LogInByAccount, CreateZone,
//! CreateCluster, AddKVMHost against a real OpenSSH sshd host, QueryHost, DeleteHost — checking
//! each request and each answer (job results included) against the document's schemas.

use std::path::Path;
use std::time::Duration;

use hostplane_testkit::api::Api;
use hostplane_testkit::python;
use hostplane_testkit::server::Server;
use hostplane_testkit::sshd::{SshdHost, SshdOptions};
use reqwest::blocking::Client;

#[test]
fn openapi_document_drives_a_real_server() {
    let py = python::python(&["openapi_spec_validator", "jsonschema"]);
    let server = Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        Default::default(),
    );
    let http = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Served without a session, and the same as the committed file.
    let r = http
        .get(format!("{}/zstack/v1/openapi.json", server.base))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let served = r.text().unwrap();
    let committed =
        std::fs::read_to_string(python::workspace_root().join("docs/openapi.json")).unwrap();
    assert_eq!(
        served, committed,
        "docs/openapi.json is not what the server serves"
    );

    // Test users are not root: the takeover flag goes to the login user's home.
    Api::admin(&server.base)
        .set_config("kvm", "takeOverFlagPath", "~/.hostplane/takeOver")
        .ok();

    let host = SshdHost::start(SshdOptions::default());
    let apis: Vec<&str> = hostplane_server::domain::api::APIS
        .iter()
        .map(|a| a.name)
        .collect();
    let port = host.port.to_string();
    let (ok, out, err) = python::run(
        &py,
        &python::workspace_root().join("tests/e2e/openapi_check.py"),
        &[&server.base],
        &[
            ("E2E_APIS", &apis.join(",")),
            ("E2E_HOST_IP", &host.ip),
            ("E2E_HOST_PORT", &port),
            ("E2E_HOST_USER", &host.user),
            ("E2E_HOST_PASSWORD", &host.password),
        ],
    );
    assert!(
        ok && out.contains("[openapi] all checks passed"),
        "openapi_check.py failed:\n--- stdout\n{out}\n--- stderr\n{err}\n--- server log\n{}",
        server.log()
    );
    eprintln!("{out}");
}
