//! ZStack's wire protocol: paths, methods, sync vs async, jobs, headers, errors, dates, schema.

use reqwest::Method;
use serde_json::{json, Value};

use super::common::{assert_error, sha512, Db, Env};

fn sync_and_async_status_codes(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    // Sync: 200 with the body; the /v1 alias works too.
    let r = api.send(Method::GET, "/v1/zones", None, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"inventories": [], "schema": {}}));
    // Async: 202 with location built from the Host header, never the result itself.
    let r = api.send(
        Method::POST,
        "/zstack/v1/zones",
        Some(json!({"params": {"name": "z1"}})),
        &[],
    );
    assert_eq!(r.status, 202);
    let loc = r.body["location"].as_str().unwrap();
    assert!(
        loc.starts_with(&format!("{}/zstack/v1/api-jobs/", env.server.base)),
        "{loc}"
    );
    assert_eq!(r.body["apiTimeout"], 1_800_000);
    let done = api.poll(loc);
    assert_eq!(done.status, 200);
    assert_eq!(done.body["inventory"]["name"], "z1");
    assert!(done.body.get("schema").is_none(), "no schema unless asked");
    // The same job polled with X-JSON-Schema names the inventory class.
    let path = &loc[loc.find("/zstack").unwrap()..];
    let r = api.send(Method::GET, path, None, &[("X-JSON-Schema", "true")]);
    assert_eq!(
        r.body["schema"],
        json!({"inventory": "org.zstack.header.zone.ZoneInventory"})
    );
    // Other methods on a job: 405 text; unknown job: 404 text.
    let r = api.send(Method::DELETE, path, None, &[]);
    assert_eq!(
        (r.status, r.text.as_str()),
        (405, "only GET method is allowed for querying job status")
    );
    let r = api.send(
        Method::GET,
        "/zstack/v1/api-jobs/0123456789abcdef0123456789abcdef",
        None,
        &[],
    );
    assert_eq!(
        (r.status, r.text.as_str()),
        (404, "the job has been expired")
    );
    // Dates in Gson's Java 8 form.
    let date = done.body["inventory"]["createDate"].as_str().unwrap();
    let re_ok = date.split(' ').count() == 5
        && (date.ends_with(" AM") || date.ends_with(" PM"))
        && date.contains(", ");
    assert!(re_ok, "{date}");
    // Null fields are left out.
    assert!(done.body["inventory"].get("description").is_none());
}

fn job_uuid_header(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    let body = Some(json!({"params": {"name": "z"}}));
    let r = api.send(
        Method::POST,
        "/zstack/v1/zones",
        body.clone(),
        &[("X-Job-UUID", "short")],
    );
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            400,
            "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped"
        )
    );
    let id = "7f1c2a0d9b1e4c3fa1b2c3d4e5f60718";
    let r = api.send(
        Method::POST,
        "/zstack/v1/zones",
        body.clone(),
        &[("X-Job-UUID", id)],
    );
    assert_eq!(r.status, 202);
    assert!(r.body["location"].as_str().unwrap().ends_with(id));
    api.poll(r.body["location"].as_str().unwrap());
    let r = api.send(
        Method::POST,
        "/zstack/v1/zones",
        body,
        &[("X-Job-UUID", id)],
    );
    assert_eq!(
        (r.status, r.text.clone()),
        (400, format!("Duplicate job uuid[{id}]"))
    );
    assert_eq!(
        api.query("/zones?count=true")["total"],
        1,
        "the duplicate wrote nothing"
    );
}

fn protocol_errors_are_plain_text(db: Db) {
    let mut env = Env::start(db);
    let r = env
        .api
        .send(Method::GET, "/zstack/v1/no-such-thing", None, &[]);
    assert_eq!(
        (r.status, r.text.as_str()),
        (404, "no api mapping to /zstack/v1/no-such-thing")
    );
    let r = env.api.send(Method::PATCH, "/zstack/v1/zones", None, &[]);
    assert_eq!(r.status, 405);
    let r = env.api.send(
        Method::PUT,
        "/zstack/v1/hosts/abc/actions",
        Some(json!({"noSuchAction": {}})),
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text
            .starts_with("the body doesn't contain action mapping"),
        "{}",
        r.text
    );
    let r = env
        .api
        .send(Method::GET, "/zstack/v1/zones?q=nooperator", None, &[]);
    assert_eq!(r.status, 400);
    assert!(
        r.text.contains("doesn't contain any query operator"),
        "{}",
        r.text
    );
    let r = env
        .api
        .send(Method::GET, "/zstack/v1/zones?limit=ten", None, &[]);
    assert_eq!(r.status, 400);
    // Bad JSON and wrong types: 400, nothing written.
    let raw = env
        .api
        .http
        .post(format!("{}/zstack/v1/zones", env.server.base))
        .header(
            "Authorization",
            format!("OAuth {}", env.api.session.as_ref().unwrap()),
        )
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let r = env.api.send(
        Method::POST,
        "/zstack/v1/zones",
        Some(json!({"params": {"name": "z", "isDefault": "maybe"}})),
        &[],
    );
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            400,
            "[isDefault] field is excepted a boolean, but was [maybe]."
        )
    );
    assert_eq!(env.api.query("/zones?count=true")["total"], 0);
    // Authorization header rules.
    env.api.session = None;
    let r = env.api.send(Method::GET, "/zstack/v1/zones", None, &[]);
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "missing header 'Authorization'")
    );
    let r = env.api.send(
        Method::GET,
        "/zstack/v1/zones",
        None,
        &[("Authorization", "Basic abc")],
    );
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "Authorization type must be 'OAuth'")
    );
}

fn sessions(db: Db) {
    let mut env = Env::start(db);
    // Wrong password: 503 ID.1000.
    let mut other = super::common::Api::new(&env.server.base);
    assert_error(&other.login("admin", "wrong"), 503, "ID.1000");
    assert_error(&other.login("nobody", "password"), 503, "ID.1000");
    // Validate, then log out; logging out an unknown session is fine too.
    let s = env.api.session.clone().unwrap();
    let r = env.api.send(
        Method::GET,
        &format!("/zstack/v1/accounts/sessions/{s}/valid"),
        None,
        &[],
    );
    assert_eq!(r.body, json!({"valid": true}));
    // An unknown session: sync → 503 ID.1001; async → 202, then the job fails with ID.1001.
    env.api.session = Some("0123456789abcdef0123456789abcdef".into());
    assert_error(&env.api.get("/zones"), 503, "ID.1001");
    let r = env.api.send(
        Method::POST,
        "/zstack/v1/zones",
        Some(json!({"params": {"name": "z"}})),
        &[],
    );
    assert_eq!(r.status, 202);
    assert_error(
        &env.api.poll(r.body["location"].as_str().unwrap()),
        503,
        "ID.1001",
    );
    env.api.session = Some(s.clone());
    let r = env.api.send(
        Method::DELETE,
        &format!("/zstack/v1/accounts/sessions/{s}"),
        None,
        &[],
    );
    assert_eq!((r.status, r.body.clone()), (200, json!({})));
    let r = env.api.send(
        Method::DELETE,
        "/zstack/v1/accounts/sessions/nope",
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    assert_error(&env.api.get("/zones"), 503, "ID.1001");
    let r = env.api.send(
        Method::GET,
        &format!("/zstack/v1/accounts/sessions/{s}/valid"),
        None,
        &[],
    );
    assert_eq!(r.body, json!({"valid": false}));
}

fn expired_session(db: Db) {
    let mut env = Env::start(db);
    assert_eq!(
        env.api
            .set_config("identity", "session.timeout", "1")
            .status,
        200
    );
    env.api.login("admin", "password");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r = env.api.get("/zones");
    assert_error(&r, 503, "ID.1001");
    assert_eq!(r.body["error"]["details"], "Session expired");
}

fn admin_password_from_env(db: Db) {
    let env = Env::start_with(db, vec![]);
    drop(env);
    let pg = (db == Db::Postgres).then(hostplane_testkit::pg::TestDb::create);
    let opts = hostplane_testkit::server::ServerOptions {
        database_url: pg.as_ref().map(|d| d.url.clone()),
        env: vec![("HOSTPLANE_ADMIN_PASSWORD".into(), "s3cret!".into())],
        ..Default::default()
    };
    let server = hostplane_testkit::server::Server::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")),
        opts,
    );
    let mut api = super::common::Api::new(&server.base);
    assert_error(&api.login("admin", "password"), 503, "ID.1000");
    assert_eq!(api.login("admin", "s3cret!").status, 200);
    assert!(
        !server.log().contains("s3cret"),
        "the password is never logged"
    );
}

fn management_node_and_version(db: Db) {
    let env = Env::start(db);
    let r = env.api.send(
        Method::PUT,
        "/zstack/v1/management-nodes/actions",
        Some(json!({"getVersion": {}})),
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body["success"], true);
    assert!(r.body["version"].as_str().is_some());
    let r = env.api.send(
        Method::PUT,
        "/zstack/v1/management-nodes/actions",
        Some(json!({"getCurrentTime": {}})),
        &[],
    );
    assert!(r.body["currentTime"]["MillionSeconds"].as_i64().is_some());
    let body = env.api.query("/management-nodes");
    let nodes = body["inventories"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    for f in ["uuid", "hostName", "joinDate", "heartBeat"] {
        assert!(nodes[0].get(f).is_some(), "{f} missing: {body}");
    }
    let uuid = nodes[0]["uuid"].as_str().unwrap();
    assert_eq!(
        env.api.query(&format!("/management-nodes/{uuid}"))["inventories"][0]["uuid"],
        uuid
    );
}

fn job_running_at_kill_fails_after_restart(db: Db) {
    let mut env = Env::start(db);
    // A host add to a port that accepts TCP but never speaks SSH keeps its job running (for
    // kvm.ssh.authTimeout); a closed port would fail the add at once.
    let silent = std::net::TcpListener::bind("127.0.0.254:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let zone = env.api.create_zone("z");
    let cluster = env.api.create_cluster(zone["uuid"].as_str().unwrap(), "c");
    let r = env.api.send(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        Some(json!({"params": {"name": "h", "managementIp": "127.0.0.254", "sshPort": port, "username": "u", "password": "p", "clusterUuid": cluster["uuid"]}})),
        &[],
    );
    assert_eq!(r.status, 202);
    let loc = r.body["location"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let path = &loc[loc.find("/zstack").unwrap()..];
    assert_eq!(
        env.api.send(Method::GET, path, None, &[]).status,
        202,
        "still running"
    );
    env.server.restart();
    let r = env.api.send(Method::GET, path, None, &[]);
    assert_error(&r, 503, "SYS.1006");
    assert!(
        r.body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("restarted"),
        "{}",
        r.text
    );
    // The half-added host is gone: no host stays Connecting forever.
    assert_eq!(env.api.query("/hosts?count=true")["total"], 0);
}

/// Read one HTTP request from a test listener and answer it with `status`.
fn receive(listener: &std::net::TcpListener, status: u16) -> String {
    use std::io::{Read, Write};
    let (mut c, _) = listener.accept().unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = c.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let len = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + len || n == 0 {
                write!(
                    c,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .unwrap();
                return text;
            }
        }
    }
}

fn web_hook_delivers_the_result(db: Db) {
    let env = Env::start(db);
    // The test's listener is on loopback, which webhooks may reach only when allowed.
    let allow = env
        .api
        .set_config("rest", "webhook.allowedNetworks", "127.0.0.1/32");
    assert_eq!(allow.status, 200, "{}", allow.text);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let id = "5f1c2a0d9b1e4c3fa1b2c3d4e5f60718";
    let r = env.api.send(
        Method::POST,
        "/zstack/v1/zones",
        Some(json!({"params": {"name": "hooked"}})),
        &[("X-Web-Hook", &url), ("X-Job-UUID", id)],
    );
    assert_eq!(r.status, 202, "the location is still answered");
    // The first delivery is refused: hostplane retries.
    let first = receive(&listener, 500);
    let second = receive(&listener, 200);
    for req in [&first, &second] {
        let lower = req.to_ascii_lowercase();
        assert!(req.starts_with("POST /hook "), "{req}");
        assert!(lower.contains(&format!("x-job-uuid: {id}")), "{req}");
        assert!(lower.contains("x-job-success: true"), "{req}");
        assert!(req.contains("\"name\":\"hooked\""), "{req}");
    }
}

/// UpdateAccount as ZStack's Java SDK sends it (PUT /accounts/{uuid}, `updateAccount`, polled),
/// and as zstack-cli sends it (RPC APIUpdateAccountMsg): the new password works at once, the
/// old one no longer, sessions stay valid, `oldPassword` is checked when given.
fn update_account(db: Db) {
    let env = Env::start(db);
    let admin = "36c27e8ff05c4780bf6d2fa65700f22e";
    let update = |api: &super::common::Api, body: Value| {
        api.action(&format!("/accounts/{admin}"), "updateAccount", body)
    };
    // A wrong old password changes nothing.
    let r = update(
        &env.api,
        json!({"password": sha512("n3w-Pass"), "oldPassword": sha512("nope")}),
    );
    assert_error(&r, 503, "SYS.1007");
    assert!(
        r.body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("old password"),
        "{}",
        r.text
    );
    let mut other = super::common::Api::new(&env.server.base);
    assert_eq!(other.login("admin", "password").status, 200);
    // The right one: the event carries the AccountInventory, never a password.
    let r = update(
        &env.api,
        json!({"password": sha512("n3w-Pass"), "oldPassword": sha512("password"),
               "description": "the admin"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let inv = &r.body["inventory"];
    assert_eq!(
        (
            inv["uuid"].as_str(),
            inv["name"].as_str(),
            inv["description"].as_str()
        ),
        (Some(admin), Some("admin"), Some("the admin"))
    );
    assert!(inv.get("password").is_none() && !r.text.contains(&sha512("n3w-Pass")));
    // At once: the new password logs in, the old one not; both sessions still work.
    let mut fresh = super::common::Api::new(&env.server.base);
    assert_error(&fresh.login("admin", "password"), 503, "ID.1000");
    assert_eq!(fresh.login("admin", "n3w-Pass").status, 200);
    assert_eq!(env.api.get("/zones").status, 200);
    assert_eq!(other.get("/zones").status, 200);
    // Without oldPassword the session is enough (as in ZStack).
    assert_eq!(
        update(&other, json!({"password": sha512("third")})).status,
        200
    );
    // The admin's name cannot change; an unknown account is not found.
    assert_error(&update(&env.api, json!({"name": "root"})), 503, "SYS.1006");
    let r = env.api.action(
        "/accounts/0123456789abcdef0123456789abcdef",
        "updateAccount",
        json!({"password": sha512("x")}),
    );
    assert_error(&r, 503, "SYS.1003");
    // No session: refused before any job starts.
    let anon = super::common::Api::new(&env.server.base);
    let r = anon.send(
        Method::PUT,
        &format!("/zstack/v1/accounts/{admin}"),
        Some(json!({"updateAccount": {"password": sha512("x")}})),
        &[],
    );
    assert_eq!(r.status, 400, "{}", r.text);

    // RPC, the zstack-cli way: submitted, then polled by its uuid.
    let r = env.api.send(
        Method::POST,
        "/zstack/api",
        Some(json!({"org.zstack.header.identity.APIUpdateAccountMsg": {
            "uuid": admin, "password": sha512("rpc-Pass"), "oldPassword": sha512("third"),
            "session": {"uuid": env.api.session.clone().unwrap()}}})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let job = r.body["uuid"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let r = env
            .api
            .send(Method::GET, &format!("/zstack/api/result/{job}"), None, &[]);
        if r.body["state"] == "Done" {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "{}", r.text);
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let result: Value = serde_json::from_str(done.body["result"].as_str().unwrap()).unwrap();
    let event = &result["org.zstack.header.identity.APIUpdateAccountEvent"];
    assert_eq!(event["success"], true, "{result}");
    assert_eq!(event["inventory"]["uuid"], admin, "{result}");
    assert_eq!(fresh.login("admin", "rpc-Pass").status, 200);
    assert!(
        !env.server.log().contains("rpc-Pass") && !env.server.log().contains(&sha512("rpc-Pass")),
        "passwords are never logged"
    );
}

both_stores!(
    update_account,
    web_hook_delivers_the_result,
    sync_and_async_status_codes,
    job_uuid_header,
    protocol_errors_are_plain_text,
    sessions,
    expired_session,
    admin_password_from_env,
    management_node_and_version,
    job_running_at_kill_fails_after_restart,
);
