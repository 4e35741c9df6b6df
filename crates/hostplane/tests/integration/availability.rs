//! Availability as an operator meets it: the API is up at once whatever the store holds, waits
//! that are pointless end, a stop is graceful, a crash (kill -9) in the middle of concurrent
//! adds, deletes, reconnects and state changes leaves every operation ended and nothing half
//! done, a PostgreSQL restart under load is answered clearly and recovered from, and so is a
//! full disk under the embedded SQLite; a low open-files limit is raised at start.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use hostplane_server::domain::host::{Crypto, Secret};
use hostplane_server::store::Store;
use hostplane_testkit::pg::OwnPg;
use hostplane_testkit::server::{Server, ServerOptions};
use hostplane_testkit::sshd::{SshdHost, SshdOptions};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;

use super::common::{assert_error, Api, Db, Env, Resp};

/// The server's store, opened from the test (the same database the server uses), with the
/// runtime its connections live on.
struct TestStore {
    rt: tokio::runtime::Runtime,
    s: Store,
}

fn store(env: &Env) -> TestStore {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(async {
        match &env.db {
            Some(db) => Store::open(&db.url).await,
            None => Store::open_sqlite(&env.server.data_dir).await,
        }
        .unwrap()
    });
    TestStore { rt, s }
}

impl TestStore {
    fn pool(&self) -> &sqlx::AnyPool {
        self.s.pool()
    }

    /// One statement's first column.
    fn column<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.rt.block_on(async {
            sqlx::query(sql)
                .fetch_all(self.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<T, _>(0).unwrap())
                .collect()
        })
    }

    fn ints(&self, sql: &str) -> Vec<i64> {
        self.column(sql)
    }

    fn count(&self, sql: &str) -> i64 {
        self.ints(sql)[0]
    }

    fn texts(&self, sql: &str) -> Vec<String> {
        self.column(sql)
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sshd() -> SshdHost {
    SshdHost::start(SshdOptions::default())
}

/// A zone, a KVM cluster, and the takeover flag in the (non-root) test users' homes.
fn prepare(api: &Api) -> String {
    assert_eq!(
        api.set_config("kvm", "takeOverFlagPath", "~/.hostplane/takeOver")
            .status,
        200
    );
    let zone = api.create_zone("z");
    api.create_cluster(zone["uuid"].as_str().unwrap(), "c")["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn add_params(cluster: &str, h: &SshdHost, name: &str) -> Value {
    json!({"name": name, "managementIp": h.ip, "sshPort": h.port, "username": h.user,
           "password": h.password, "clusterUuid": cluster})
}

/// Submit an async call; returns its job location (path only).
fn submit(api: &Api, method: Method, path: &str, body: Option<Value>) -> String {
    let r = api.send(method, &format!("/zstack/v1{path}"), body, &[]);
    assert_eq!(r.status, 202, "{path}: {}", r.text);
    let loc = r.body["location"].as_str().unwrap();
    loc[loc.find("/zstack/").unwrap()..].to_string()
}

fn job_step(api: &Api, loc: &str) -> Option<String> {
    let r = api.http.get(format!("{}{loc}", api.base)).send().unwrap();
    r.headers()
        .get("x-job-step")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn wait_step(api: &Api, loc: &str, step: &str) {
    let t = Instant::now();
    while job_step(api, loc).as_deref() != Some(step) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "job {loc} never reached {step}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_of(api: &Api, uuid: &str) -> Value {
    api.query(&format!("/hosts/{uuid}"))["inventories"][0].clone()
}

fn wait_until(within: Duration, what: &str, mut ok: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    t.elapsed()
}

/// The reason deep in an error's cause chain.
fn reasons(e: &Value) -> Vec<String> {
    let mut out = vec![];
    let mut e = Some(e);
    while let Some(x) = e {
        if let Some(r) = x["opaque"]["reason"].as_str() {
            out.push(r.to_string());
        }
        e = x.get("cause");
    }
    out
}

/// 300 hosts nobody can reach (a closed port on loopback addresses), in every status a stop
/// can leave: Connected, Disconnected, in maintenance, and Connecting — adds cut off (never
/// connected) and reconnects cut off — plus a job left running. With the default configs
/// (`host.load.all`, `host.reconnectAllOnBoot`, a 300 s port wait) the API answers at once,
/// no host is ever Connecting after the start, the cut-off adds are gone with their tags, the
/// job ends failed, and every reachable-by-intent host ends Disconnected.
fn start_up_with_unreachable_hosts(db: Db) {
    let mut env = Env::start(db);
    let cluster = prepare(&env.api);
    let zone: String = env.api.query(&format!("/clusters/{cluster}"))["inventories"][0]["zoneUuid"]
        .as_str()
        .unwrap()
        .to_string();
    // Fast pings, so "every host Disconnected" comes within seconds.
    env.api.set_config("host", "ping.interval", "2");
    env.api.set_config("host", "ping.maxFailure", "1");
    env.server.kill();

    let port = closed_port();
    let s = store(&env);
    let crypto = Crypto::load(&env.server.data_dir, None).unwrap();
    let statuses = [
        ("Connected", "Enabled", true),
        ("Disconnected", "Enabled", true),
        ("Connected", "Maintenance", true),
        ("Connecting", "Enabled", false),
        ("Connecting", "Enabled", true),
    ];
    s.rt.block_on(async {
        for i in 0..300usize {
            let (status, state, connected_before) = statuses[if i < 20 { 3 + i % 2 } else { i % 3 }];
            let uuid = format!("{:032x}", 0xa000_0000u64 + i as u64);
            let sealed = crypto
                .seal(&uuid, &Secret::Password("password".into()))
                .unwrap();
            sqlx::query(
                "INSERT INTO host (uuid, zone_uuid, cluster_uuid, name, management_ip, hypervisor_type, state, status, \
                 username, ssh_port, credential, cpu_num, create_date, last_op_date) \
                 VALUES ($1, $2, $3, $4, $5, 'KVM', $6, $7, 'root', $8, $9, $10, 1, 1)",
            )
            .bind(&uuid)
            .bind(&zone)
            .bind(&cluster)
            .bind(format!("dead-{i}"))
            .bind(format!("127.91.{}.{}", i / 200, i % 200 + 1))
            .bind(state)
            .bind(status)
            .bind(port as i64)
            .bind(sealed)
            .bind(connected_before.then_some(8i64))
            .execute(s.pool())
            .await
            .unwrap();
            let mut tags = vec![(0xb000_0000u64, "os::distribution::ubuntu")];
            if connected_before && status != "Disconnected" {
                tags.push((0xd000_0000u64, "ConnectedTime::1"));
            }
            for (base, tag) in tags {
                sqlx::query(
                    "INSERT INTO system_tag (uuid, resource_uuid, resource_type, tag, inherent, create_date, last_op_date) \
                     VALUES ($1, $2, 'HostVO', $3, 1, 1, 1)",
                )
                .bind(format!("{:032x}", base + i as u64))
                .bind(&uuid)
                .bind(tag)
                .execute(s.pool())
                .await
                .unwrap();
            }
        }
        sqlx::query("INSERT INTO job (uuid, api, state, create_date) VALUES ('cccccccccccccccccccccccccccccccc', 'AddKVMHost', 'Running', 1)")
            .execute(s.pool())
            .await
            .unwrap();
    });
    let cut_off_adds =
        s.count("SELECT COUNT(*) FROM host WHERE status = 'Connecting' AND cpu_num IS NULL");
    assert_eq!(cut_off_adds, 10);
    let maintained = s.count("SELECT COUNT(*) FROM host WHERE state = 'Maintenance'");
    // Those that will change to Disconnected: Connected (not in maintenance), or reconnecting.
    let to_disconnect = s.count(
        "SELECT COUNT(*) FROM host WHERE state = 'Enabled' \
         AND (status = 'Connected' OR (status = 'Connecting' AND cpu_num IS NOT NULL))",
    );

    let t = Instant::now();
    env.server.start_again_no_wait();
    let ready = wait_until(Duration::from_secs(15), "the API answers", || {
        env.server.ready()
    });
    eprintln!("API ready {ready:?} after the start, 300 unreachable hosts in the store");
    env.api.login("admin", "password");
    let connecting = |api: &Api| {
        api.query("/hosts?q=status=Connecting&count=true")["total"]
            .as_i64()
            .unwrap()
    };
    // Settled before the API opened: nothing Connecting, the cut-off adds gone with their tags.
    assert_eq!(connecting(&env.api), 0);
    assert_eq!(
        env.api.query("/hosts?count=true")["total"],
        300 - cut_off_adds
    );
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM system_tag WHERE resource_uuid NOT IN (SELECT uuid FROM host)"
        ),
        0
    );
    let job = env.api.send(
        Method::GET,
        "/zstack/v1/api-jobs/cccccccccccccccccccccccccccccccc",
        None,
        &[],
    );
    assert_error(&job, 503, "SYS.1006");
    assert!(
        job.text.contains("restarted while this job was running"),
        "{}",
        job.text
    );
    assert!(reasons(&job.body["error"]).contains(&"JOB.NODE_RESTARTED".to_string()));
    // The pass over the hosts runs behind the API: all end Disconnected, none Connecting meanwhile.
    wait_until(Duration::from_secs(40), "every host Disconnected", || {
        assert_eq!(connecting(&env.api), 0);
        env.api
            .query("/hosts?q=status=Connected&q=state!=Maintenance&count=true")["total"]
            == 0
    });
    eprintln!("every host Disconnected {:?} after the start", t.elapsed());
    // Each that changed has one event saying so, and lost its ConnectedTime tag; those already
    // Disconnected have none.
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM host_event WHERE type = 'StatusChanged' \
             AND to_value = 'Disconnected' AND cause IN ('boot', 'ping-failed')"
        ),
        to_disconnect
    );
    assert_eq!(
        s.count("SELECT COUNT(DISTINCT host_uuid) FROM host_event WHERE type = 'StatusChanged'"),
        to_disconnect
    );
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM system_tag WHERE tag LIKE 'ConnectedTime::%' \
             AND resource_uuid IN (SELECT uuid FROM host WHERE status = 'Disconnected')"
        ),
        0
    );
    assert_eq!(
        env.api
            .query("/hosts?q=state=Maintenance&q=status=Connected&count=true")["total"],
        maintained,
        "hosts in maintenance are left alone"
    );
}

/// A new host whose port refuses fails in seconds (with the 300 s port wait configured); a
/// reconnect waits for a rebooting host, and DeleteHost and maintain cut that wait short.
fn pointless_waits_end(db: Db) {
    let env = Env::start(db);
    let cluster = prepare(&env.api);
    let (mut a, mut b) = (sshd(), sshd());
    let ua = env
        .api
        .post("/hosts/kvm", add_params(&cluster, &a, "a"))
        .body["inventory"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let ub = env
        .api
        .post("/hosts/kvm", add_params(&cluster, &b, "b"))
        .body["inventory"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    a.stop();
    b.stop();
    let t = Instant::now();
    let ra = submit(
        &env.api,
        Method::PUT,
        &format!("/hosts/{ua}/actions"),
        Some(json!({"reconnectHost": {}})),
    );
    let rb = submit(
        &env.api,
        Method::PUT,
        &format!("/hosts/{ub}/actions"),
        Some(json!({"reconnectHost": {}})),
    );
    wait_step(&env.api, &ra, "wait-for-ssh-port");
    wait_step(&env.api, &rb, "wait-for-ssh-port");
    assert_eq!(status_of(&env.api, &ua)["status"], "Connecting");
    // maintain parks the rebooting host: the wait ends, the host is in Maintenance.
    let m = env.api.action(
        &format!("/hosts/{ua}/actions"),
        "changeHostState",
        json!({"stateEvent": "maintain"}),
    );
    assert_eq!(m.status, 200, "{}", m.text);
    let h = status_of(&env.api, &ua);
    assert_eq!(h["state"], "Maintenance");
    assert_eq!(h["status"], "Disconnected");
    let r = env.api.poll(&ra);
    assert_error(&r, 503, "HOST.1002");
    assert!(
        reasons(&r.body["error"]).contains(&"HOST.CONNECT.CANCELLED".into()),
        "{}",
        r.text
    );
    // DeleteHost does not wait for the port either.
    let d = env.api.delete(&format!("/hosts/{ub}"));
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(env.api.query("/hosts?count=true")["total"], 1);
    let r = env.api.poll(&rb);
    assert!(
        reasons(&r.body["error"]).contains(&"HOST.CONNECT.CANCELLED".into()),
        "{}",
        r.text
    );
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "the waits were not cut short: {:?}",
        t.elapsed()
    );
}

/// A second caller that joins an in-flight connect with repinHostKey keeps it: the run it
/// joined refuses the new key, then its own run pins it.
fn joined_connect_keeps_repin(db: Db) {
    let env = Env::start(db);
    let cluster = prepare(&env.api);
    let mut h = sshd();
    let uuid = env
        .api
        .post("/hosts/kvm", add_params(&cluster, &h, "h"))
        .body["inventory"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    h.stop();
    let path = format!("/hosts/{uuid}/actions");
    let plain = submit(
        &env.api,
        Method::PUT,
        &path,
        Some(json!({"reconnectHost": {}})),
    );
    wait_step(&env.api, &plain, "wait-for-ssh-port");
    let repin = submit(
        &env.api,
        Method::PUT,
        &path,
        Some(json!({"reconnectHost": {"repinHostKey": true}})),
    );
    std::thread::sleep(Duration::from_millis(300));
    h.regenerate_host_key(); // back, with another key
    let r = env.api.poll(&plain);
    assert!(
        reasons(&r.body["error"]).contains(&"HOST.SSH.HOST_KEY_CHANGED".into()),
        "{}",
        r.text
    );
    let r = env.api.poll(&repin);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["inventory"]["status"], "Connected");
    let tag: String = form_urlencoded::byte_serialize(
        format!("__systemTag__=sshHostKey::{}", h.host_key_fingerprint).as_bytes(),
    )
    .collect();
    let tags = env
        .api
        .query(&format!("/hosts?q=uuid={uuid}&q={tag}&count=true"));
    assert_eq!(tags["total"], 1, "the new key is pinned");
}

/// SIGTERM: running jobs get the grace period, then end failed saying the node stopped; the
/// persistent ping session says goodbye; the process exits within grace + 5 s; after the
/// restart the poll tells the truth and no host is Connecting.
fn graceful_stop(db: Db) {
    let mut env = Env::start_with(db, vec![("HOSTPLANE_SHUTDOWN_GRACE".into(), "2".into())]);
    let cluster = prepare(&env.api);
    let (mut waiting, kept) = (sshd(), sshd());
    let uw = env
        .api
        .post("/hosts/kvm", add_params(&cluster, &waiting, "w"))
        .body["inventory"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    env.api.set_config("host", "ping.reuseSession", "true");
    env.api.set_config("host", "ping.interval", "1");
    let uk = env
        .api
        .post("/hosts/kvm", add_params(&cluster, &kept, "k"))
        .body["inventory"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    // The tracker holds a session to the kept host.
    std::thread::sleep(Duration::from_secs(3));
    waiting.stop();
    let job = submit(
        &env.api,
        Method::PUT,
        &format!("/hosts/{uw}/actions"),
        Some(json!({"reconnectHost": {}})),
    );
    wait_step(&env.api, &job, "wait-for-ssh-port");
    let goodbyes = |h: &SshdHost| h.log().matches("Received disconnect from").count();
    let before = goodbyes(&kept);
    let t = Instant::now();
    let exit = env.server.terminate(Duration::from_secs(2 + 5));
    let took = t.elapsed();
    assert!(
        exit.is_some_and(|s| s.success()),
        "no clean exit within grace + 5 s: {exit:?}\n{}",
        env.server.log()
    );
    assert!(
        took >= Duration::from_secs(2),
        "the grace was not given: {took:?}"
    );
    wait_until(
        Duration::from_secs(5),
        "the ping session said goodbye",
        || goodbyes(&kept) > before,
    );
    env.server.start_again_no_wait();
    env.server.wait_ready(Duration::from_secs(30));
    let r = env.api.poll(&job);
    assert_error(&r, 503, "HOST.1002");
    assert!(
        r.text.contains("the management node is stopping"),
        "{}",
        r.text
    );
    assert_eq!(status_of(&env.api, &uw)["status"], "Disconnected");
    assert_eq!(
        env.api.query("/hosts?q=status=Connecting&count=true")["total"],
        0
    );
    wait_until(
        Duration::from_secs(20),
        "the kept host is tracked again",
        || status_of(&env.api, &uk)["status"] == "Connected",
    );
}

/// kill -9 in the middle of concurrent adds, deletes, reconnects and state changes, twice at
/// different moments: after the restart every job ends with a result, no host stays
/// Connecting, no host is half there (tags without a row, a connected row without its tags, a
/// takeover flag naming a host the store does not have), and nothing was done twice.
fn kill_during_concurrent_operations(db: Db) {
    for delay in [Duration::from_millis(250), Duration::from_millis(2500)] {
        let mut env = Env::start(db);
        let cluster = prepare(&env.api);
        let hosts: Vec<SshdHost> = (0..7).map(|_| sshd()).collect();
        let mut uuids = vec![];
        for (i, h) in hosts.iter().enumerate().take(4) {
            let r = env
                .api
                .post("/hosts/kvm", add_params(&cluster, h, &format!("h{i}")));
            assert_eq!(r.status, 200, "{}", r.text);
            uuids.push(r.body["inventory"]["uuid"].as_str().unwrap().to_string());
        }
        let mut hosts = hosts;
        hosts[3].stop(); // its reconnect will wait for the port
        let api = &env.api;
        let jobs = vec![
            submit(
                api,
                Method::POST,
                "/hosts/kvm",
                Some(json!({"params": add_params(&cluster, &hosts[4], "n4")})),
            ),
            submit(
                api,
                Method::POST,
                "/hosts/kvm",
                Some(json!({"params": add_params(&cluster, &hosts[5], "n5")})),
            ),
            submit(
                api,
                Method::POST,
                "/hosts/kvm",
                Some(json!({"params": add_params(&cluster, &hosts[6], "n6")})),
            ),
            submit(api, Method::DELETE, &format!("/hosts/{}", uuids[0]), None),
            submit(
                api,
                Method::DELETE,
                &format!("/hosts/{}?deleteMode=Enforcing", uuids[1]),
                None,
            ),
            submit(
                api,
                Method::PUT,
                &format!("/hosts/{}/actions", uuids[2]),
                Some(json!({"reconnectHost": {}})),
            ),
            submit(
                api,
                Method::PUT,
                &format!("/hosts/{}/actions", uuids[3]),
                Some(json!({"reconnectHost": {}})),
            ),
            submit(
                api,
                Method::PUT,
                &format!("/hosts/{}/actions", uuids[2]),
                Some(json!({"changeHostState": {"stateEvent": "maintain"}})),
            ),
            submit(
                api,
                Method::PUT,
                &format!("/hosts/{}/actions", uuids[2]),
                Some(json!({"changeHostState": {"stateEvent": "enable"}})),
            ),
        ];
        std::thread::sleep(delay);
        env.server.kill();
        env.server.restart();
        hosts[3].restart();
        let api = &env.api;
        // Every job ends with a result.
        let mut outcomes = vec![];
        for j in &jobs {
            let r = api.poll(j);
            assert_ne!(r.status, 202);
            if r.status != 200 {
                assert!(r.body["error"]["code"].is_string(), "{j}: {}", r.text);
            }
            outcomes.push(if r.status == 200 {
                "ok".to_string()
            } else {
                reasons(&r.body["error"]).join("/")
            });
        }
        // No host stays Connecting.
        wait_until(Duration::from_secs(30), "no host Connecting", || {
            api.query("/hosts?q=status=Connecting&count=true")["total"] == 0
        });
        let s = store(&env);
        // Flag removals still pending for reachable hosts are done by themselves.
        wait_until(
            Duration::from_secs(30),
            "pending flag removals done",
            || s.count("SELECT COUNT(*) FROM host_cleanup") == 0,
        );
        // Nothing half there.
        assert_eq!(
            s.count("SELECT COUNT(*) FROM system_tag WHERE resource_type = 'HostVO' AND resource_uuid NOT IN (SELECT uuid FROM host)"),
            0,
            "system tags without a host"
        );
        assert_eq!(
            s.count("SELECT COUNT(*) FROM user_tag WHERE resource_type = 'HostVO' AND resource_uuid NOT IN (SELECT uuid FROM host)"),
            0,
            "user tags without a host"
        );
        assert_eq!(
            s.count(
                "SELECT COUNT(*) FROM host WHERE status = 'Connected' AND uuid NOT IN \
                       (SELECT resource_uuid FROM system_tag WHERE inherent = 1)"
            ),
            0,
            "a Connected host without its facts' tags"
        );
        let known: HashSet<String> = s.texts("SELECT uuid FROM host").into_iter().collect();
        for h in &hosts {
            if let Ok(flag) = std::fs::read_to_string(h.home.join(".hostplane/takeOver")) {
                let owner = flag.trim().trim_start_matches("uuid:").to_string();
                assert!(
                    known.contains(&owner),
                    "{}:{} keeps a takeover flag naming {owner}, which the store does not have (flag: {flag:?})",
                    h.ip,
                    h.port
                );
            }
        }
        // Nothing done twice: one row per address, no tag twice.
        assert_eq!(
            s.count("SELECT COUNT(*) FROM (SELECT resource_uuid, tag FROM system_tag GROUP BY resource_uuid, tag HAVING COUNT(*) > 1) d"),
            0
        );
        let ips = s.texts("SELECT management_ip FROM host");
        let unique: HashSet<&String> = ips.iter().collect();
        assert_eq!(unique.len(), ips.len());
        eprintln!(
            "kill after {delay:?}: {} hosts left; jobs: {outcomes:?}",
            ips.len()
        );
    }
}

/// PostgreSQL restarted under load (its own instance): calls answer a clear 503 while it is
/// down — never a hang or a crash; no host is marked Disconnected because the store failed; a
/// job whose result could not be written is written once the store is back; everything works
/// again by itself.
fn postgres_restart_under_load() {
    let pg = OwnPg::start(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("avail-pg-{}", std::process::id())),
    );
    let server = Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions {
            database_url: Some(pg.url.clone()),
            ..Default::default()
        },
    );
    let mut api = Api::new(&server.base);
    api.login("admin", "password");
    let env = Env {
        api,
        server,
        db: None,
    };
    let cluster = prepare(&env.api);
    let hosts: Vec<SshdHost> = (0..3).map(|_| sshd()).collect();
    let uuids: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            env.api
                .post("/hosts/kvm", add_params(&cluster, h, &format!("h{i}")))
                .body["inventory"]["uuid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    env.api.set_config("host", "ping.interval", "1");
    env.api.set_config("host", "ping.maxFailure", "1");
    env.api.set_config("host", "ping.loginEvery", "1");
    // A reconnect whose result is due while the store is down.
    let job = submit(
        &env.api,
        Method::PUT,
        &format!("/hosts/{}/actions", uuids[0]),
        Some(json!({"reconnectHost": {}})),
    );
    pg.stop();
    let down_at = Instant::now();
    // Load while it is down: every call answers, clearly, within bounds.
    while down_at.elapsed() < Duration::from_secs(8) {
        let t = Instant::now();
        let r: Resp = env.api.get("/hosts?limit=5");
        assert!(t.elapsed() < Duration::from_secs(15), "a call hung");
        assert_error(&r, 503, "SYS.1000");
        assert_eq!(
            r.body["error"]["opaque"]["reason"], "STORE.UNAVAILABLE",
            "{}",
            r.text
        );
        assert!(r.body["error"]["opaque"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("database")));
    }
    // Changes fail the same way, with a fix.
    let add = env.api.send(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        Some(json!({"params": add_params(&cluster, &hosts[0], "x")})),
        &[],
    );
    assert_eq!(add.status, 503, "{}", add.text);
    assert!(env
        .server
        .status_of("/zstack/v1/management-nodes/ready")
        .is_some());
    pg.start_again();
    // Back by itself.
    wait_until(Duration::from_secs(30), "queries answer again", || {
        env.api.get("/hosts?limit=5").status == 200
    });
    let r = env.api.poll(&job);
    assert_ne!(r.status, 202);
    for u in &uuids {
        wait_until(Duration::from_secs(20), "hosts Connected", || {
            status_of(&env.api, u)["status"] == "Connected"
        });
    }
    // The hosts nothing happened to were never marked Disconnected (the first one's reconnect
    // may have failed on the store: it is Disconnected then, and reconnected by the tracker).
    let log = env.server.log();
    for u in &uuids[1..] {
        assert!(
            !log.lines()
                .any(|l| l.contains("host is Disconnected") && l.contains(u.as_str())),
            "host {u} was marked Disconnected during the store outage"
        );
    }
    assert!(!log.contains("panicked"), "the server panicked");
    // A delete while the store is down fails with a fix, and works once it is back.
    pg.stop();
    let delete = || {
        let r = env.api.send(
            Method::DELETE,
            &format!("/zstack/v1/hosts/{}", uuids[2]),
            None,
            &[],
        );
        if r.status == 202 {
            env.api.poll(r.body["location"].as_str().unwrap())
        } else {
            r
        }
    };
    let d = delete();
    assert_eq!(d.status, 503, "{}", d.text);
    assert!(
        d.body["error"]["opaque"]["hint"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "{}",
        d.text
    );
    pg.start_again();
    wait_until(Duration::from_secs(30), "a delete works again", || {
        delete().status == 200
    });
    assert_eq!(env.api.query("/hosts?count=true")["total"], 2);
    // A start while the database is down: the port answers at once, IsReadyToGo says not
    // ready, and the server serves as soon as the database is up.
    let mut env = env;
    env.server.kill();
    pg.stop();
    env.server.start_again_no_wait();
    wait_until(Duration::from_secs(10), "the port answers", || {
        env.server
            .status_of("/zstack/v1/management-nodes/ready")
            .is_some()
    });
    assert_eq!(
        env.server.status_of("/zstack/v1/management-nodes/ready"),
        Some(503)
    );
    let r = env.api.get("/hosts?limit=1");
    assert_eq!(
        r.body["error"]["opaque"]["reason"], "NODE.STARTING",
        "{}",
        r.text
    );
    pg.start_again();
    env.server.wait_ready(Duration::from_secs(30));
    assert_eq!(env.api.query("/hosts?count=true")["total"], 2);
}

/// A small tmpfs mounted on a new directory, unmounted when dropped.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(name: &str, size: &str) -> SmallDisk {
        let path =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::process::Command::new("umount").arg(&path).status();
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs (the tests run as root)");
        SmallDisk { path }
    }

    /// Take every free byte: a file written until the file system refuses.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path.join("filler")).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.write_all(&[0u8; 512]);
    }

    fn free(&self) {
        std::fs::remove_file(self.path.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let kept = self.path.with_extension("log");
            let _ = std::fs::copy(self.path.join("server.log"), &kept);
            eprintln!(
                "server log (up to the full disk) kept in {}",
                kept.display()
            );
        }
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The disk under the embedded SQLite (and the server's log) fills up: calls that must write
/// answer 503 with reason `STORE.FULL` and a fix (not a bare internal error), reads still
/// answer, log lines that cannot be written take nothing down (they used to panic the task that
/// logged, and so cut HTTP connections), a connected host is not marked Disconnected for it,
/// and everything goes on by itself once space is freed.
#[test]
fn a_full_disk_is_named_and_outlived() {
    let disk = SmallDisk::mount("avail-full", "24m");
    let server = Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions {
            data_dir: Some(disk.path.clone()),
            ..Default::default()
        },
    );
    let api = Api::admin(&server.base);
    let cluster = prepare(&api);
    let h = sshd();
    let uuid = api.post("/hosts/kvm", add_params(&cluster, &h, "h0")).ok()["inventory"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    api.set_config("host", "ping.interval", "1").ok();
    api.set_config("host", "ping.maxFailure", "1").ok();

    disk.fill();
    // A change: SQLite may still have room in its own files for a few, then it has none.
    let create = |name: &str| {
        let r = api.send(
            Method::POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": name}})),
            &[],
        );
        match r.body["location"].as_str() {
            Some(loc) if r.status == 202 => api.poll(loc),
            _ => r,
        }
    };
    let mut refused = None;
    for i in 0..500 {
        let r = create(&format!("full-{i}"));
        if r.status != 200 || r.body.get("error").is_some() {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a full disk refused no write");
    let err = if r.body["error"].is_object() {
        &r.body["error"]
    } else {
        &r.body
    };
    assert_eq!(err["code"], "SYS.1000", "{}", r.text);
    assert_eq!(err["opaque"]["reason"], "STORE.FULL", "{}", r.text);
    assert!(
        err["opaque"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("disk") && h.contains("free space")),
        "{}",
        r.text
    );
    assert!(
        err["details"].as_str().unwrap().contains("disk is full"),
        "{}",
        r.text
    );
    // Reads still answer, and the host is not marked Disconnected for the store's trouble.
    for _ in 0..4 {
        assert_eq!(api.get("/zones?count=true").status, 200);
        assert_eq!(status_of(&api, &uuid)["status"], "Connected");
        std::thread::sleep(Duration::from_secs(1));
    }

    disk.free();
    let took = wait_until(
        Duration::from_secs(15),
        "writes go on once space is freed",
        || create("after").status == 200,
    );
    eprintln!("writes went on {took:?} after space was freed");
    assert_eq!(api.query("/zones?q=name=after&count=true")["total"], 1);
    assert_eq!(status_of(&api, &uuid)["status"], "Connected");
}

/// Started with a soft open-files limit of 256 under a hard one of 4,096 (as a shell's
/// `ulimit` may leave them), the server raises the soft limit to the hard one, says so, and warns
/// that 4,096 is few for a management node.
#[test]
fn the_open_files_limit_is_raised() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nofile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 256 && ulimit -Hn 4096 && exec '{}' serve --listen 127.0.0.1:{port} --data-dir '{}'",
            env!("CARGO_BIN_EXE_hostplane"),
            dir.display()
        ))
        .env_remove("HOSTPLANE_DATABASE_URL")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let api = Api::new(&format!("http://127.0.0.1:{port}"));
    wait_until(Duration::from_secs(30), "the server answers", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && api.get("/management-nodes/ready").status == 200
    });
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
    let text = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(text.contains("raised the open-files limit"), "{text}");
    assert!(text.contains("few open files allowed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

both_stores!(
    start_up_with_unreachable_hosts,
    pointless_waits_end,
    joined_connect_keeps_repin,
    graceful_stop,
    kill_during_concurrent_operations,
);

#[test]
fn postgres_restart_under_load_answers_and_recovers() {
    postgres_restart_under_load()
}
