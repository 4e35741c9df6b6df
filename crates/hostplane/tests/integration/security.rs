//! Security (docs/security.md): what an attacker on the same network can and cannot make the
//! server do. Every test runs against a real server process on both stores; "another address"
//! is a client bound to another loopback address (127.0.0.2, ...), which the server sees as a
//! different TCP peer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::common::{assert_error, sha512, Api, Db, Env};

/// The store's URL as the test can open it.
fn store_url(env: &Env) -> String {
    match &env.db {
        Some(d) => d.url.clone(),
        None => format!(
            "sqlite://{}",
            env.server.data_dir.join("hostplane.db").display()
        ),
    }
}

/// Run statements on the server's store; returns the rows of the last one, as text cells.
fn sql(env: &Env, statements: &[&str]) -> Vec<Vec<String>> {
    let url = store_url(env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
        let mut last = Vec::new();
        for s in statements {
            last = sqlx::query(s)
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .iter()
                .map(|r| {
                    (0..r.columns().len())
                        .map(|i| {
                            r.try_get::<String, _>(i)
                                .or_else(|_| r.try_get::<i64, _>(i).map(|n| n.to_string()))
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect();
        }
        last
    })
}

fn job_rows(env: &Env) -> i64 {
    sql(env, &["SELECT COUNT(*) FROM job"])[0][0]
        .parse()
        .unwrap()
}

/// A local HTTP listener that answers 200 to everything and counts the requests it got.
struct Counter {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Counter {
    fn start() -> Counter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for c in listener.incoming() {
                let Ok(mut c) = c else { return };
                let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 65536];
                let _ = c.read(&mut buf);
                h.fetch_add(1, Ordering::SeqCst);
                let _ = c.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Counter { url, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Wait (bounded) until at least `n` hits arrived.
    fn wait_for(&self, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.hits() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.hits()
    }
}

/// A client whose connections come from `source` (a loopback address other than 127.0.0.1).
fn rpc(api: &Api, class: &str, msg: Value) -> Value {
    let r = api.send(
        Method::POST,
        "/zstack/api",
        Some(json!({ class: msg })),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn rpc_result(wrapper: &Value) -> Value {
    serde_json::from_str(wrapper["result"].as_str().unwrap()).unwrap()
}

fn unauthenticated_calls_leave_no_job_and_call_no_webhook(db: Db) {
    let mut env = Env::start(db);
    let hook = Counter::start();
    // Loopback allowed, so only the missing session can stop the hook.
    assert_eq!(
        env.api
            .set_config("rest", "webhook.allowedNetworks", "127.0.0.1/32")
            .status,
        200
    );
    let rows_before = job_rows(&env);
    let good = env.api.session.clone();
    env.api.session = Some("0".repeat(32));
    let mut locations = Vec::new();
    for i in 0..40 {
        let r = env.api.send(
            Method::POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": format!("z{i}")}})),
            &[("X-Web-Hook", &hook.url)],
        );
        assert_eq!(r.status, 202, "ZStack's answer stays 202: {}", r.text);
        locations.push(r.body["location"].as_str().unwrap().to_string());
    }
    for loc in locations.iter().step_by(8) {
        let r = env.api.poll(loc);
        assert_error(&r, 503, "ID.1001");
    }
    // The same over RPC: Processing, then the error on the result poll.
    let mut rpc_jobs = Vec::new();
    for i in 0..20 {
        let w = rpc(
            &env.api,
            "org.zstack.header.zone.APICreateZoneMsg",
            json!({"name": format!("r{i}"), "session": {"uuid": "0".repeat(32)}}),
        );
        assert_eq!(w["state"], "Processing", "{w}");
        rpc_jobs.push(w["uuid"].as_str().unwrap().to_string());
    }
    let r = env.api.send(
        Method::GET,
        &format!("/zstack/api/result/{}", rpc_jobs[3]),
        None,
        &[],
    );
    assert_eq!(r.body["state"], "Done", "{}", r.text);
    let result = rpc_result(&r.body);
    let reply = &result["org.zstack.header.zone.APICreateZoneEvent"];
    assert_eq!(reply["success"], false, "{result}");
    assert_eq!(reply["error"]["code"], "ID.1001", "{result}");
    // No sessionless call wrote a job row, created a zone or called the hook.
    assert_eq!(job_rows(&env), rows_before);
    env.api.session = good;
    assert_eq!(env.api.query("/zones?count=true")["total"], 0);
    // The same call with a session does deliver: the listener works, and no hook came before.
    let r = env.api.send(
        Method::POST,
        "/zstack/v1/zones",
        Some(json!({"params": {"name": "authorised"}})),
        &[("X-Web-Hook", &hook.url)],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(hook.wait_for(1), 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hook.hits(), 1, "only the authorised call reached the hook");
    assert_eq!(job_rows(&env), rows_before + 1);
}

fn webhook_targets_are_checked(db: Db) {
    let env = Env::start(db);
    let hook = Counter::start();
    let create = |name: &str, url: &str| {
        env.api.send(
            Method::POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": name}})),
            &[("X-Web-Hook", url)],
        )
    };
    let rows_before = job_rows(&env);
    // Loopback, cloud metadata, unspecified, other schemes: refused by default, on the call.
    for url in [
        hook.url.as_str(),
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/x",
        "http://0.0.0.0:9/x",
        "http://localhost:9/x",
        "file:///etc/passwd",
        "gopher://10.0.0.1/x",
        "not a url",
    ] {
        let r = create("refused", url);
        assert_error(&r, 503, "SYS.1007");
        assert!(
            r.body["error"]["details"]
                .as_str()
                .unwrap()
                .contains("X-Web-Hook"),
            "{}",
            r.text
        );
    }
    let r = create("refused", &hook.url);
    assert!(
        r.text.contains("127.0.0.1"),
        "names the address: {}",
        r.text
    );
    assert_eq!(job_rows(&env), rows_before, "a refused hook starts no job");
    assert_eq!(env.api.query("/zones?count=true")["total"], 0);
    // Allowed by config: delivered.
    let set = env
        .api
        .set_config("rest", "webhook.allowedNetworks", "127.0.0.0/8");
    assert_eq!(set.status, 200, "{}", set.text);
    let r = create("allowed", &hook.url);
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(hook.wait_for(1), 1);
    // A rule list can narrow too: refuse everything.
    let set = env
        .api
        .set_config("rest", "webhook.allowedNetworks", "!0.0.0.0/0,!::/0");
    assert_eq!(set.status, 200, "{}", set.text);
    assert_error(&create("narrowed", &hook.url), 503, "SYS.1007");
    assert_error(
        &env.api
            .set_config("rest", "webhook.allowedNetworks", "localhost"),
        503,
        "SYS.1007",
    );
    assert_eq!(hook.hits(), 1);
}

fn wrong_passwords_lock_out_one_address(db: Db) {
    let env = Env::start(db);
    let base = env.server.base.clone();
    let mut attacker = Api::from_address(&base, "127.0.0.2");
    for _ in 0..5 {
        let r = attacker.login("admin", "guess");
        assert_error(&r, 503, "ID.1000");
        assert_eq!(r.body["error"]["details"], "wrong account name or password");
    }
    // Locked: even the right password is refused, and the details say for whom and until when.
    let r = attacker.login("admin", "password");
    assert_error(&r, 503, "ID.1000");
    let details = r.body["error"]["details"].as_str().unwrap();
    assert!(details.contains("locked"), "{details}");
    assert!(details.contains("admin"), "{details}");
    assert!(details.contains("127.0.0.2"), "{details}");
    assert!(details.contains("until"), "{details}");
    assert!(r.body["error"]["opaque"]["lockedUntil"].as_i64().is_some());
    // The RPC face logs in through the same rule.
    let w = rpc(
        &attacker,
        "org.zstack.header.identity.APILogInByAccountMsg",
        json!({"accountName": "admin", "password": sha512("password")}),
    );
    let result = rpc_result(&w);
    let err = &result["org.zstack.header.identity.APILogInReply"]["error"];
    assert_eq!(err["code"], "ID.1000", "{result}");
    assert!(err["details"].as_str().unwrap().contains("locked"));
    // Other addresses are not locked out: nobody can lock the admin out from elsewhere.
    let mut admin = Api::from_address(&base, "127.0.0.3");
    assert_eq!(admin.login("admin", "password").status, 200);
    assert_eq!(env.api.query("/zones?count=true")["total"], 0);
    // A success resets the count: 4 wrong, 1 right, 4 wrong, and the right one still works.
    let mut user = Api::from_address(&base, "127.0.0.4");
    for _ in 0..4 {
        assert_error(&user.login("admin", "typo"), 503, "ID.1000");
    }
    assert_eq!(user.login("admin", "password").status, 200);
    for _ in 0..4 {
        assert_error(&user.login("admin", "typo"), 503, "ID.1000");
    }
    assert_eq!(user.login("admin", "password").status, 200);
    // The lock ends after identity.login.lockSeconds.
    assert_eq!(
        env.api
            .set_config("identity", "login.lockSeconds", "1")
            .status,
        200
    );
    let mut late = Api::from_address(&base, "127.0.0.5");
    for _ in 0..5 {
        assert_error(&late.login("admin", "guess"), 503, "ID.1000");
    }
    let r = late.login("admin", "password");
    assert!(r.text.contains("locked"), "{}", r.text);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(late.login("admin", "password").status, 200);
    // The log names the lock, never a password digest.
    let log = env.server.log();
    assert!(log.contains("locked out"), "the lock is logged");
    assert!(!log.contains(&sha512("guess")) && !log.contains(&sha512("password")));
}

fn max_concurrent_sessions(db: Db) {
    let env = Env::start(db);
    assert_eq!(
        env.api
            .set_config("identity", "session.maxConcurrent", "3")
            .status,
        200
    );
    // The environment's own session is the first of three.
    let mut two = Api::new(&env.server.base);
    assert_eq!(two.login("admin", "password").status, 200);
    let mut three = Api::new(&env.server.base);
    assert_eq!(three.login("admin", "password").status, 200);
    let mut four = Api::new(&env.server.base);
    let r = four.login("admin", "password");
    assert_error(&r, 503, "ID.1006");
    // Logging one out makes room.
    let s = two.session.clone().unwrap();
    let r = two.send(
        Method::DELETE,
        &format!("/zstack/v1/accounts/sessions/{s}"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(four.login("admin", "password").status, 200);
}

fn session_tokens_are_hashed_at_rest(db: Db) {
    let mut env = Env::start(db);
    let token = env.api.session.clone().unwrap();
    let rows = sql(&env, &["SELECT * FROM session"]);
    assert!(!rows.is_empty());
    for row in &rows {
        for cell in row {
            assert!(!cell.contains(&token), "the token is in the session table");
        }
    }
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    };
    assert_eq!(
        sql(
            &env,
            &[&format!(
                "SELECT COUNT(*) FROM session WHERE token_sha256 = '{hash}'"
            )]
        )[0][0],
        "1"
    );
    if db == Db::Sqlite {
        // Not in any file of the database (the write-ahead log included).
        for entry in std::fs::read_dir(&env.server.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains("hostplane.db") {
                let bytes = std::fs::read(&path).unwrap();
                let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
                assert!(!found, "the token is in {}", path.display());
            }
        }
    }
    // The session survives a restart, and logging out still ends it.
    env.server.restart();
    assert_eq!(env.api.query("/zones?count=true")["total"], 0);
    let r = env.api.send(
        Method::GET,
        &format!("/zstack/v1/accounts/sessions/{token}/valid"),
        None,
        &[],
    );
    assert_eq!(r.body, json!({"valid": true}));
    let r = env.api.send(
        Method::DELETE,
        &format!("/zstack/v1/accounts/sessions/{token}"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    assert_error(&env.api.get("/zones"), 503, "ID.1001");
    // No log line holds the token, the password digest or an Authorization header.
    let log = env.server.log();
    assert!(!log.contains(&token), "the token is in the log");
    assert!(!log.contains(&sha512("password")));
    assert!(!log.contains("OAuth"));
    assert!(
        log.contains("/accounts/sessions/***"),
        "the access log masks it"
    );
}

fn large_bodies_and_slow_clients_are_cut_off(db: Db) {
    let env = Env::start(db);
    // 2 MiB against the default 1 MiB: 413, before the body is read.
    let big = json!({"params": {"name": "z", "description": "a".repeat(2 << 20)}});
    let r = env
        .api
        .send(Method::POST, "/zstack/v1/zones", Some(big.clone()), &[]);
    assert_eq!(r.status, 413, "{}", &r.text[..r.text.len().min(200)]);
    assert!(r.text.contains("rest.request.maxBodySize"), "{}", r.text);
    // Each request has an id, echoed when the client sent one.
    let r = env.api.send(
        Method::GET,
        "/zstack/v1/zones",
        None,
        &[("X-Request-Id", "abc-42")],
    );
    assert_eq!(r.status, 200);
    // (reqwest's blocking Resp drops headers: check the echo over a raw connection below.)
    // Raised limit: the same body is read (and fails validation, not the limit).
    assert_eq!(
        env.api
            .set_config("rest", "request.maxBodySize", "4M")
            .status,
        200
    );
    let r = env
        .api
        .send(Method::POST, "/zstack/v1/zones", Some(big), &[]);
    assert_ne!(r.status, 413, "{}", &r.text[..r.text.len().min(200)]);

    // A slow client: headers or body trickling are cut off after rest.request.readTimeout.
    assert_eq!(
        env.api
            .set_config("rest", "request.readTimeout", "2")
            .status,
        200
    );
    let addr = format!("127.0.0.1:{}", env.server.port);
    let trickle = |head: &[u8], then: &[u8]| -> (String, bool) {
        let mut c = TcpStream::connect(&addr).unwrap();
        c.write_all(head).unwrap();
        let started = Instant::now();
        let mut cut = false;
        // One byte every 200 ms for at most 20 s (bounded): the server must close first.
        while started.elapsed() < Duration::from_secs(20) {
            if c.write_all(then).is_err() {
                cut = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        (String::from_utf8_lossy(&answer).to_string(), cut)
    };
    let (_, cut) = trickle(
        b"GET /zstack/v1/zones HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        b"a",
    );
    assert!(cut, "trickled headers are cut off");
    let (answer, cut) = trickle(
        b"POST /zstack/v1/zones HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-1\r\nContent-Length: 100000\r\n\r\n",
        b"a",
    );
    assert!(cut, "a trickled body is cut off");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-request-id: slow-1"),
        "{answer}"
    );
    // The server still answers everyone else.
    assert_eq!(env.api.get("/zones").status, 200);
    let log = env.server.log();
    // One access-log line per request, with its id and status.
    let line = |id: &str| {
        log.lines()
            .find(|l| l.contains("hostplane::access") && l.contains(id))
            .unwrap_or_else(|| panic!("no access-log line for {id}"))
            .to_string()
    };
    assert!(line("slow-1").contains("408"));
    let ok = line("abc-42");
    assert!(ok.contains("200") && ok.contains("/zstack/v1/zones") && ok.contains("GET"));
}

fn store_errors_show_no_database_text(db: Db) {
    let env = Env::start(db);
    // Break the store under the server: the zone table goes away.
    sql(&env, &["ALTER TABLE zone RENAME TO zone_gone_xyz"]);
    let r = env.api.get("/zones");
    assert_error(&r, 503, "SYS.1000");
    let details = r.body["error"]["details"].as_str().unwrap();
    for leak in [
        "zone_gone",
        "no such table",
        "relation",
        "SELECT",
        "sqlx",
        "database error",
    ] {
        assert!(
            !r.text.contains(leak),
            "the reply leaks [{leak}]: {}",
            r.text
        );
    }
    let id = r.body["error"]["opaque"]["errorId"].as_str().unwrap();
    assert!(details.contains(id), "{details}");
    // The log has the cause under that id.
    let log = env.server.log();
    let line = log
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("error id {id} not in the log"));
    assert!(line.contains("zone"), "{line}");
    sql(&env, &["ALTER TABLE zone_gone_xyz RENAME TO zone"]);
    assert_eq!(env.api.get("/zones").status, 200);
}

both_stores!(
    unauthenticated_calls_leave_no_job_and_call_no_webhook,
    webhook_targets_are_checked,
    wrong_passwords_lock_out_one_address,
    max_concurrent_sessions,
    session_tokens_are_hashed_at_rest,
    large_bodies_and_slow_clients_are_cut_off,
    store_errors_show_no_database_text,
);
