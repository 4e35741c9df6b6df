//! Observability against real sshd hosts, on both stores: host events (every change of a
//! host's life, in order, with its cause; retention), webhook subscriptions (the target rules,
//! filters, signatures), `/metrics` (route templates, no identities, the bearer token) and JSON
//! logs (request id, job and host uuid as fields).

use std::time::{Duration, Instant};

use hostplane_testkit::server::ServerOptions;
use hostplane_testkit::sshd::{SshdHost, SshdOptions};
use hostplane_testkit::webhook::Receiver;
use reqwest::Method;
use serde_json::{json, Value};

use super::common::{assert_error, Db, Env};

/// A server with a zone, a cluster, a quiet tracker and one connected sshd host.
struct HostEnv {
    env: Env,
    host: SshdHost,
    uuid: String,
}

impl HostEnv {
    fn start(db: Db, env: Vec<(String, String)>) -> HostEnv {
        let env = Env::start_with(db, env);
        let api = &env.api;
        // Test users are not root: keep the takeover flag in their home. No ping round during
        // the test: its changes are the test's own.
        assert_eq!(
            api.set_config("kvm", "takeOverFlagPath", "~/.hostplane/takeOver")
                .status,
            200
        );
        assert_eq!(api.set_config("host", "ping.interval", "3600").status, 200);
        let zone = api.create_zone("z");
        let cluster = api.create_cluster(zone["uuid"].as_str().unwrap(), "c");
        let host = SshdHost::start(SshdOptions::default());
        let r = api.post(
            "/hosts/kvm",
            json!({"name": "h", "managementIp": host.ip, "sshPort": host.port, "username": host.user,
                   "password": host.password, "clusterUuid": cluster["uuid"]}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let uuid = r.body["inventory"]["uuid"].as_str().unwrap().to_string();
        HostEnv { env, host, uuid }
    }

    fn state(&self, event: &str) {
        let r = self.env.api.action(
            &format!("/hosts/{}/actions", self.uuid),
            "changeHostState",
            json!({"stateEvent": event}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }

    fn events(&self, extra: &str) -> Vec<Value> {
        let b = self.env.api.query(&format!(
            "/host-events?q=hostUuid={}&sort=%2Bid{extra}",
            self.uuid
        ));
        b["inventories"].as_array().cloned().unwrap_or_default()
    }

    fn wait_status(&self, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let h = self.env.api.query(&format!("/hosts/{}", self.uuid));
            if h["inventories"][0]["status"] == status {
                return;
            }
            assert!(Instant::now() < deadline, "not {status}: {h}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// (type, from, to, cause) of each event.
fn summary(events: &[Value]) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    events
        .iter()
        .map(|e| (s(&e["type"]), s(&e["from"]), s(&e["to"]), s(&e["cause"])))
        .collect()
}

fn ev(t: &str, from: &str, to: &str, cause: &str) -> (String, String, String, String) {
    (t.into(), from.into(), to.into(), cause.into())
}

fn host_events_follow_a_hosts_life(db: Db) {
    let mut he = HostEnv::start(db, vec![]);
    let started = chrono::Utc::now().timestamp_millis() - 60_000;
    he.state("disable");
    he.state("enable");
    he.state("maintain");
    he.state("enable");
    he.wait_status("Connected");
    // A changed host key: the reconnect fails and the host is Disconnected; with repinHostKey
    // it connects and pins the new key.
    he.host.regenerate_host_key();
    let path = format!("/hosts/{}/actions", he.uuid);
    let r = he.env.api.action(&path, "reconnectHost", json!({}));
    assert_eq!(r.status, 503, "{}", r.text);
    let r = he
        .env
        .api
        .action(&path, "reconnectHost", json!({"repinHostKey": true}));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = he.env.api.delete(&format!("/hosts/{}", he.uuid));
    assert_eq!(r.status, 200, "{}", r.text);

    let events = he.events("");
    let got = summary(&events);
    let repinned = &events[11];
    assert_eq!(
        got,
        vec![
            ev("Added", "-", "Connected", "AddKVMHost"),
            ev("StateChanged", "Enabled", "Disabled", "ChangeHostState"),
            ev("StateChanged", "Disabled", "Enabled", "ChangeHostState"),
            ev(
                "StateChanged",
                "Enabled",
                "PreMaintenance",
                "ChangeHostState"
            ),
            ev(
                "StateChanged",
                "PreMaintenance",
                "Maintenance",
                "ChangeHostState"
            ),
            ev("StateChanged", "Maintenance", "Enabled", "ChangeHostState"),
            ev(
                "StatusChanged",
                "Connecting",
                "Connected",
                "maintenance-exit"
            ),
            ev("Reconnected", "Connecting", "Connected", "maintenance-exit"),
            ev(
                "StatusChanged",
                "Connected",
                "Disconnected",
                "ReconnectHost"
            ),
            ev(
                "StatusChanged",
                "Disconnected",
                "Connected",
                "ReconnectHost"
            ),
            ev("Reconnected", "Disconnected", "Connected", "ReconnectHost"),
            ev(
                "HostKeyRepinned",
                repinned["from"].as_str().unwrap(),
                repinned["to"].as_str().unwrap(),
                "ReconnectHost"
            ),
            ev("StateChanged", "Enabled", "Disabled", "DeleteHost"),
            ev("Deleted", "Connected", "-", "DeleteHost"),
        ],
        "{events:#?}"
    );
    assert_ne!(repinned["from"], repinned["to"]);
    assert!(repinned["to"].as_str().unwrap().starts_with("SHA256:"));
    assert_eq!(events[8]["reason"], "HOST.SSH.HOST_KEY_CHANGED");
    // Every event names the host (kept after its deletion), the node, and its job when an API
    // made it; ids grow.
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["hostName"], "h", "{e}");
        assert_eq!(e["managementIp"], he.host.ip.as_str(), "{e}");
        assert!(e["managementNodeUuid"].as_str().is_some(), "{e}");
        assert_eq!(
            e["jobUuid"].as_str().is_some(),
            e["cause"] != "maintenance-exit",
            "{e}"
        );
        if i > 0 {
            assert!(e["id"].as_i64() > events[i - 1]["id"].as_i64());
        }
    }
    // The query language over events.
    let api = &he.env.api;
    let n = api.query(&format!(
        "/host-events?q=hostUuid={}&q=type=StateChanged&count=true",
        he.uuid
    ));
    assert_eq!(n["total"], 6, "{n}");
    let last = api.query(&format!(
        "/host-events?q=hostUuid={}&sort=-id&limit=1&fields=id,type",
        he.uuid
    ));
    assert_eq!(
        last["inventories"][0],
        json!({"id": events[13]["id"], "type": "Deleted"})
    );
    let since = api.query(&format!(
        "/host-events?q=hostUuid={}&q=createDate>={started}&count=true",
        he.uuid
    ));
    assert_eq!(since["total"], 14);
    let later = api.query(&format!(
        "/host-events?q=hostUuid={}&q=createDate>={}&count=true",
        he.uuid,
        chrono::Utc::now().timestamp_millis() + 60_000
    ));
    assert_eq!(later["total"], 0);
    // The host is gone: following the expansion finds nothing.
    let gone = api.query("/host-events?q=host.name=h&count=true");
    assert_eq!(gone["total"], 0);
    // The legacy RPC face serves the same query.
    let r = api.send(
        Method::POST,
        "/zstack/api",
        Some(json!({"org.zstack.hostplane.APIQueryHostEventMsg": {
            "conditions": [{"name": "hostUuid", "op": "=", "value": he.uuid},
                           {"name": "type", "op": "=", "value": "Deleted"}],
            "session": {"uuid": api.session.clone().unwrap()},
        }})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let result: Value = serde_json::from_str(r.body["result"].as_str().unwrap()).unwrap();
    let reply = &result["org.zstack.hostplane.APIQueryHostEventReply"];
    assert_eq!(reply["success"], true, "{result}");
    assert_eq!(reply["inventories"][0]["id"], events[13]["id"], "{result}");
}

fn event_retention_is_bounded(db: Db) {
    let he = HostEnv::start(db, vec![]);
    for _ in 0..3 {
        he.state("disable");
        he.state("enable");
    }
    let all = he.events("");
    assert_eq!(all.len(), 7, "{all:#?}");
    let api = &he.env.api;
    assert_eq!(api.set_config("host", "event.maxCount", "3").status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while he.events("").len() > 3 {
        assert!(Instant::now() < deadline, "not swept to 3 events");
        std::thread::sleep(Duration::from_millis(200));
    }
    let kept: Vec<&Value> = all[4..].iter().collect();
    let now: Vec<Value> = he.events("");
    assert_eq!(
        now.iter().map(|e| &e["id"]).collect::<Vec<_>>(),
        kept.iter().map(|e| &e["id"]).collect::<Vec<_>>(),
        "the newest are kept"
    );
    assert_eq!(
        api.set_config("host", "event.retentionPeriod", "1").status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !he.events("").is_empty() {
        assert!(Instant::now() < deadline, "events older than 1 s not swept");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn webhook_subscriptions(db: Db) {
    let he = HostEnv::start(db, vec![]);
    let api = &he.env.api;
    let create = |params: Value| api.post("/host-event-subscriptions", params);

    // Local, link-local and odd targets are refused by default.
    let hook = Receiver::start(0);
    for url in [
        hook.url.as_str(),
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:9/x",
        "http://[::1]:9/",
    ] {
        let r = create(json!({"name": "w", "url": url}));
        assert_error(&r, 503, "SYS.1007");
        assert!(
            r.text.contains("rest.webhook.allowedNetworks"),
            "{url}: {}",
            r.text
        );
    }
    for url in ["ftp://10.0.0.1/", "http://user:pw@10.0.0.1/", "not a url"] {
        assert_error(&create(json!({"name": "w", "url": url})), 503, "SYS.1007");
    }
    assert_error(
        &create(json!({"name": "w", "url": "http://10.0.0.1/", "eventTypes": ["Nope"]})),
        503,
        "SYS.1007",
    );
    assert_error(
        &create(
            json!({"name": "w", "url": "http://10.0.0.1/", "hostUuid": "0123456789abcdef0123456789abcdef"}),
        ),
        503,
        "SYS.1003",
    );

    assert_eq!(
        api.set_config("rest", "webhook.allowedNetworks", "127.0.0.0/8")
            .status,
        200
    );
    let deletes = Receiver::start(0);
    let a = create(json!({"name": "all", "url": hook.url, "hostUuid": he.uuid, "secret": "k"}));
    assert_eq!(a.status, 200, "{}", a.text);
    let b = create(
        json!({"name": "deletes", "url": deletes.url, "eventTypes": ["Deleted", "Deleted"]}),
    );
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(b.body["inventory"]["eventTypes"], "Deleted");
    let subs = api.query("/host-event-subscriptions?sort=%2Bname");
    assert_eq!(subs["inventories"].as_array().unwrap().len(), 2);
    assert!(
        !subs.to_string().contains("\"secret\""),
        "the secret is never returned: {subs}"
    );
    let one = api.query(&format!(
        "/host-event-subscriptions/{}",
        a.body["inventory"]["uuid"].as_str().unwrap()
    ));
    assert_eq!(one["inventories"][0]["url"], hook.url.as_str());

    he.state("disable");
    let got = hook.wait_for(Duration::from_secs(30), |d| !d.is_empty());
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["event"]["type"], "StateChanged");
    assert_eq!(body["event"]["to"], "Disabled");
    assert_eq!(body["subscriptionUuid"], a.body["inventory"]["uuid"]);
    assert!(got[0].headers["x-hostplane-signature"].starts_with("sha256="));
    assert_eq!(got[0].method, "POST");
    assert!(
        deletes.received().is_empty(),
        "a StateChanged is not a Deleted"
    );

    let r = api.delete(&format!("/hosts/{}", he.uuid));
    assert_eq!(r.status, 200);
    let got = deletes.wait_for(Duration::from_secs(30), |d| !d.is_empty());
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["event"]["type"], "Deleted");
    assert_eq!(body["event"]["hostName"], "h");
    hook.wait_for(Duration::from_secs(30), |d| {
        d.iter().any(|x| x.body.contains("\"Deleted\""))
    });

    let ua = a.body["inventory"]["uuid"].as_str().unwrap();
    assert_eq!(
        api.delete(&format!("/host-event-subscriptions/{ua}"))
            .status,
        200
    );
    assert_eq!(
        api.delete(&format!("/host-event-subscriptions/{ua}"))
            .status,
        200,
        "deleting a missing subscription succeeds"
    );
    let subs = api.query("/host-event-subscriptions?count=true");
    assert_eq!(subs["total"], 1);
}

fn metrics_endpoint(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    let zone = api.create_zone("z");
    let zone_uuid = zone["uuid"].as_str().unwrap();
    api.query(&format!("/zones/{zone_uuid}"));
    let nope = api.get(&format!("/nope/{zone_uuid}"));
    assert_eq!(nope.status, 404);
    let r = api.send(
        Method::GET,
        "/zstack/v1/management-nodes/ready",
        None,
        &[("X-Request-Id", "req-abc.1")],
    );
    assert_eq!(r.status, 200);

    let http = reqwest::blocking::Client::new();
    let resp = http
        .get(format!("{}/metrics", env.server.base))
        .header("X-Request-Id", "scrape-1")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-request-id"], "scrape-1");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = resp.text().unwrap();
    for want in [
        "hostplane_hosts{status=\"Connected\",state=\"Enabled\"} 0",
        "hostplane_management_nodes 1",
        "route=\"/zstack/v1/zones/{uuid}\",status=\"200\"",
        "route=\"unmatched\",status=\"404\"",
        "hostplane_jobs_total{api=\"CreateZone\",result=\"succeeded\"} 1",
        "hostplane_build_info{version=\"",
        "process_open_fds ",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains(zone_uuid), "a uuid in a label:\n{text}");
    assert!(
        !text.contains("127.0.0.1"),
        "an address in a label:\n{text}"
    );

    // With a token, /metrics needs it.
    let pg = env.db.as_ref().map(|d| d.url.clone());
    let guarded = hostplane_testkit::server::Server::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions {
            database_url: pg,
            env: vec![("HOSTPLANE_METRICS_TOKEN".into(), "t0ken".into())],
            ..Default::default()
        },
    );
    let url = format!("{}/metrics", guarded.base);
    let r = http.get(&url).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = http.get(&url).bearer_auth("wrong").send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http.get(&url).bearer_auth("t0ken").send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap().contains("hostplane_hosts"));
}

crate::both_stores!(
    host_events_follow_a_hosts_life,
    event_retention_is_bounded,
    webhook_subscriptions,
    metrics_endpoint,
);

/// `HOSTPLANE_LOG_FORMAT=json`: every line is JSON, and a connect's lines carry the request
/// id, the job and the host uuid as fields.
#[test]
fn json_logs() {
    let he = HostEnv::start(
        Db::Sqlite,
        vec![("HOSTPLANE_LOG_FORMAT".into(), "json".into())],
    );
    let api = &he.env.api;
    let r = api.send(
        Method::PUT,
        &format!("/zstack/v1/hosts/{}/actions", he.uuid),
        Some(json!({"reconnectHost": {}})),
        &[("X-Request-Id", "req-json-1")],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let location = r.body["location"].as_str().unwrap();
    let job = location.rsplit('/').next().unwrap().to_string();
    assert_eq!(api.poll(location).status, 200);
    let log = he.env.server.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 5);
    for l in &lines {
        for k in ["timestamp", "level", "target", "message"] {
            assert!(l.get(k).is_some(), "{k} missing: {l}");
        }
    }
    let connected = lines
        .iter()
        .find(|l| l["message"] == "host connected" && l["request_id"] == "req-json-1")
        .unwrap_or_else(|| panic!("no 'host connected' line of the request:\n{log}"));
    assert_eq!(connected["job"], job.as_str(), "{connected}");
    assert_eq!(connected["api"], "ReconnectHost", "{connected}");
    assert_eq!(connected["host.uuid"], he.uuid.as_str(), "{connected}");
    assert!(!log.contains(&he.host.password), "a password in the log");
}

/// A webhook over https: the receiver's certificate is signed by a CA the server trusts
/// through the system store (`SSL_CERT_FILE` here); the receiver is Python's own HTTPS server.
#[test]
fn webhook_over_https() {
    let dir = std::env::temp_dir().join(format!("hostplane-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sh = |cmd: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", cmd])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=hostplane-test-ca");
    sh("openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost");
    sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext && \
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.join("receiver.py"),
        format!(
            r#"import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open("got.json", "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", {port}), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("leaf.pem", "leaf.key")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
"#
        ),
    )
    .unwrap();
    let mut receiver = std::process::Command::new("python3")
        .arg("receiver.py")
        .current_dir(&dir)
        .spawn()
        .expect("start the https receiver");
    let he = HostEnv::start(
        Db::Sqlite,
        vec![(
            "SSL_CERT_FILE".into(),
            dir.join("ca.pem").display().to_string(),
        )],
    );
    let api = &he.env.api;
    assert_eq!(
        api.set_config("rest", "webhook.allowedNetworks", "127.0.0.0/8")
            .status,
        200
    );
    let url = format!("https://localhost:{port}/hook");
    let r = api.post(
        "/host-event-subscriptions",
        json!({"name": "tls", "url": url}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    he.state("disable");
    let deadline = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let got = std::fs::read_to_string(dir.join("got.json")).unwrap_or_default();
        if got.contains("\"Disabled\"") {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "nothing delivered over https:\n{}",
            he.env.server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let event: Value = serde_json::from_str(got.lines().next().unwrap()).unwrap();
    assert_eq!(event["event"]["type"], "StateChanged");
    let _ = receiver.kill();
    let _ = receiver.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
