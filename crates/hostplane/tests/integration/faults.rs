//! The fault matrix, as a table: every fault the simulator can show (down, refuse-auth, hang,
//! drop, slow, a changed host key, flapping) against add, reconnect and ping, each with the
//! expected host status, failed step, reason and fix, and a time bound taken from the configs —
//! and after every cell, nothing leaks: the server's SSH sockets, tasks, connects, jobs and
//! file descriptors are counted from outside (`/proc`, SIGUSR1) before and after.
//!
//! A ping failure has no API error: for ping cells the host's status is the answer.
//!
//! Then [`every_failed_step_names_a_fix`] walks every step of add, reconnect, state change and
//! delete to its failure and checks the README's promise: each names its step and a fix, and
//! [`silent_hosts_do_not_hold_up_the_pings_of_the_others`] checks that hosts whose pings wait
//! out their timeout do not delay the judgement of the others, and
//! [`pings_that_fail_for_want_of_descriptors_judge_nobody`] that the server's own want is not
//! blamed on its hosts.
//!
//! The simulator runs in this process on its own runtime; the server is a real process.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hostplane_sim::config::{FaultChange, HostGroup, SimConfig, SimFacts};
use hostplane_sim::host::SimHost;
use hostplane_sim::Sim;
use hostplane_testkit::server::{Server, ServerOptions};
use reqwest::Method;
use serde_json::{json, Value};

use super::common::{Api, Resp};

/// Where the matrix's hosts live (nothing else in the suites uses 127.81-82.x).
const PREFIX: &str = "127.8";
/// `kvm.testSshPortOpenTimeout` on the matrix's servers: long enough to tell a fail-fast add
/// from a wait, short enough for a test.
const PORT_WAIT: u64 = 8;
/// `kvm.ssh.authTimeout` and `kvm.ssh.commandTimeout`.
const SSH_TIMEOUT: u64 = 3;

struct SimHandle {
    _rt: tokio::runtime::Runtime,
    sim: Arc<Sim>,
    next: AtomicUsize,
}

/// The matrix's simulator: 80 standard hosts (one per cell), then the odd ones the step walk
/// needs.
fn sim() -> &'static SimHandle {
    static SIM: OnceLock<SimHandle> = OnceLock::new();
    SIM.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let group = |count, base: [u8; 4], facts: SimFacts, username: &str| HostGroup {
            count,
            base: Ipv4Addr::from(base),
            port: 0,
            username: username.into(),
            facts,
            ..Default::default()
        };
        let facts = SimFacts::default;
        let cfg = SimConfig {
            groups: vec![
                group(80, [127, 81, 0, 1], facts(), "root"),
                group(
                    1,
                    [127, 82, 0, 1],
                    SimFacts {
                        virtualization: "none".into(),
                        ..facts()
                    },
                    "root",
                ),
                group(
                    1,
                    [127, 82, 1, 1],
                    SimFacts {
                        memory: "512M".into(),
                        ..facts()
                    },
                    "root",
                ),
                group(
                    1,
                    [127, 82, 2, 1],
                    SimFacts {
                        os_id: "rocky".into(),
                        os_version: "9.3".into(),
                        os_release: "Blue Onyx".into(),
                        ..facts()
                    },
                    "root",
                ),
                group(1, [127, 82, 3, 1], facts(), "ops"),
            ],
            ..Default::default()
        };
        let sim = Arc::new(rt.block_on(Sim::start(cfg)).expect("start the simulator"));
        SimHandle {
            _rt: rt,
            sim,
            next: AtomicUsize::new(0),
        }
    })
}

/// A standard host no other cell uses, healthy.
fn fresh_host() -> Arc<SimHost> {
    let s = sim();
    let i = s.next.fetch_add(1, Ordering::SeqCst);
    assert!(i < 80, "the matrix needs more simulated hosts");
    s.sim.hosts()[i].clone()
}

/// The odd host of the step walk whose address starts with `base`.
fn odd_host(base: &str) -> Arc<SimHost> {
    sim()
        .sim
        .hosts()
        .iter()
        .find(|h| h.ip.to_string().starts_with(base))
        .unwrap()
        .clone()
}

fn heal(h: &SimHost) {
    h.apply(&FaultChange {
        down: Some(false),
        refuse_auth: Some(false),
        hang: Some(false),
        drop: Some(false),
        slow_ms: Some(0),
        flap_ms: Some(0),
        ..Default::default()
    });
}

/// A matrix server: the simulator's hosts log in as root, so the takeover flag stays at
/// ZStack's path; short SSH bounds and fast pings.
struct Bench {
    server: Server,
    api: Api,
    cluster: String,
    baseline: Counts,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    sockets: usize,
    fds: usize,
    tasks: u64,
}

impl Bench {
    fn start() -> Bench {
        let server = Server::start(
            Path::new(env!("CARGO_BIN_EXE_hostplane")),
            ServerOptions::default(),
        );
        let mut api = Api::new(&server.base);
        // No keep-alive: an idle client connection is a task and a socket on the server.
        api.http = reqwest::blocking::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        api.login("admin", "password");
        for (c, n, v) in [
            ("kvm", "testSshPortOpenTimeout", PORT_WAIT.to_string()),
            ("kvm", "ssh.authTimeout", SSH_TIMEOUT.to_string()),
            ("kvm", "ssh.commandTimeout", SSH_TIMEOUT.to_string()),
            ("host", "ping.interval", "1".into()),
            ("host", "ping.timeout", "2".into()),
            ("host", "ping.maxFailure", "2".into()),
            ("host", "ping.sleepPeriodAfterFailure", "0".into()),
            ("host", "ping.loginEvery", "1".into()),
        ] {
            assert_eq!(api.set_config(c, n, &v).status, 200);
        }
        let zone = api.create_zone("z");
        let cluster = api.create_cluster(zone["uuid"].as_str().unwrap(), "c")["uuid"]
            .as_str()
            .unwrap()
            .to_string();
        let mut b = Bench {
            server,
            api,
            cluster,
            baseline: Counts {
                sockets: 0,
                fds: 0,
                tasks: 0,
            },
        };
        // Warm up (the store's pool, the tracker's first snapshot), then count.
        let h = fresh_host();
        let r = b.add(&h, json!({}));
        assert_eq!(r.status, 200, "{}", r.text);
        b.delete(r.body["inventory"]["uuid"].as_str().unwrap());
        std::thread::sleep(Duration::from_millis(500));
        b.baseline = b.counts();
        eprintln!("baseline: {:?}", b.baseline);
        b
    }

    fn counts(&self) -> Counts {
        Counts {
            sockets: self.server.tcp_connections_to(PREFIX),
            fds: self.server.open_fds(),
            tasks: self.server.counters()["tasks"],
        }
    }

    fn add(&self, h: &SimHost, extra: Value) -> Resp {
        let mut p = json!({"name": format!("sim-{}", h.index), "managementIp": h.ip.to_string(),
            "sshPort": h.port, "username": h.username, "password": "password",
            "clusterUuid": self.cluster});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        self.api.post("/hosts/kvm", p)
    }

    fn add_ok(&self, h: &SimHost) -> String {
        let r = self.add(h, json!({}));
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["inventory"]["uuid"].as_str().unwrap().to_string()
    }

    fn status(&self, uuid: &str) -> Option<String> {
        self.api.query(&format!("/hosts/{uuid}"))["inventories"][0]["status"]
            .as_str()
            .map(str::to_string)
    }

    fn delete(&self, uuid: &str) {
        let r = self.api.delete(&format!("/hosts/{uuid}"));
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Nothing leaks: SSH sockets to the simulator, connects, jobs and tracked hosts back to
    /// none, tasks and descriptors back to the baseline (within a 10 s settle).
    fn assert_no_leak(&self, cell: &str) {
        let t = Instant::now();
        loop {
            let c = self.counts();
            let n = self.server.counters();
            let clean = c.sockets == 0
                && c.tasks <= self.baseline.tasks
                && c.fds <= self.baseline.fds + 2
                && n["connects"] == 0
                && n["jobs"] == 0
                && n["tracked"] == 0;
            if clean {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{cell}: leaked: {c:?} (baseline {:?}), {n:?}; descriptors: {:?}",
                self.baseline,
                self.server.open_fd_targets()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Down,
    RefuseAuth,
    Hang,
    Drop,
    Slow,
    KeyChange,
    Flap,
}

const FAULTS: [Fault; 8] = [
    Fault::None,
    Fault::Down,
    Fault::RefuseAuth,
    Fault::Hang,
    Fault::Drop,
    Fault::Slow,
    Fault::KeyChange,
    Fault::Flap,
];

fn inflict(h: &SimHost, f: Fault) {
    let c = match f {
        Fault::None => return,
        Fault::Down => FaultChange {
            down: Some(true),
            ..Default::default()
        },
        Fault::RefuseAuth => FaultChange {
            refuse_auth: Some(true),
            ..Default::default()
        },
        Fault::Hang => FaultChange {
            hang: Some(true),
            ..Default::default()
        },
        Fault::Drop => FaultChange {
            drop: Some(true),
            ..Default::default()
        },
        Fault::Slow => FaultChange {
            slow_ms: Some(400),
            ..Default::default()
        },
        Fault::KeyChange => FaultChange {
            rotate_key: true,
            ..Default::default()
        },
        Fault::Flap => FaultChange {
            flap_ms: Some(600),
            ..Default::default()
        },
    };
    h.apply(&c);
}

/// What a cell expects. `outcomes`: the accepted (status, step, reason) triples — status
/// `None` means the host is gone; step and reason `None` mean the call succeeded. A flapping
/// host may land on more than one.
struct Expect {
    outcomes: Vec<(
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    )>,
    /// The call (or, for ping, the status change) ends within this.
    within: Duration,
}

fn ok(status: &'static str, within: u64) -> Expect {
    Expect {
        outcomes: vec![(Some(status), None, None)],
        within: Duration::from_secs(within),
    }
}

fn fails(
    status: Option<&'static str>,
    step: &'static str,
    reason: &'static str,
    within: u64,
) -> Expect {
    Expect {
        outcomes: vec![(status, Some(step), Some(reason))],
        within: Duration::from_secs(within),
    }
}

/// The failure's step, reason and hint: from the deepest error that names a step.
fn failure(body: &Value) -> Option<(String, String, String)> {
    let mut e = Some(&body["error"]);
    let mut found = None;
    while let Some(x) = e.filter(|x| x.is_object()) {
        if let Some(step) = x["opaque"]["step"].as_str() {
            found = Some((
                step.to_string(),
                x["opaque"]["reason"].as_str().unwrap_or("").to_string(),
                x["opaque"]["hint"].as_str().unwrap_or("").to_string(),
            ));
        }
        e = x.get("cause");
    }
    found
}

fn check(cell: &str, got: (Option<String>, Option<(String, String, String)>), e: &Expect) {
    let (status, fail) = got;
    if let Some((_, _, hint)) = &fail {
        assert!(!hint.is_empty(), "{cell}: a failure without a fix");
    }
    let matches = e.outcomes.iter().any(|(s, step, reason)| {
        status.as_deref() == *s
            && fail.as_ref().map(|f| f.0.as_str()) == *step
            && fail.as_ref().map(|f| f.1.as_str()) == *reason
    });
    assert!(
        matches,
        "{cell}: got status {status:?}, failure {fail:?}; expected one of {:?}",
        e.outcomes
    );
}

/// AddKVMHost against each fault.
fn add_expect(f: Fault) -> Expect {
    let flap_failures = [
        "wait-for-ssh-port",
        "ssh-login",
        "check-sudo",
        "check-takeover",
        "collect-facts",
        "write-takeover-flag",
        "save",
    ];
    match f {
        Fault::None => ok("Connected", 10),
        // A refusal is an answer: well before the port wait.
        Fault::Down => fails(None, "wait-for-ssh-port", "HOST.SSH.PORT_REFUSED", 4),
        Fault::RefuseAuth => fails(None, "ssh-login", "HOST.SSH.AUTH_FAILED", 5),
        Fault::Hang => fails(None, "ssh-login", "HOST.SSH.TIMEOUT", SSH_TIMEOUT + 4),
        // The first command after the login (check-sudo's read of the flag) is cut.
        Fault::Drop => fails(None, "check-sudo", "HOST.SSH.CONNECTION_LOST", 6),
        Fault::Slow => ok("Connected", 15),
        // The operator gave the fingerprint recorded before the host was reinstalled.
        Fault::KeyChange => fails(None, "verify-host-key", "HOST.SSH.HOST_KEY_CHANGED", 5),
        Fault::Flap => Expect {
            outcomes: std::iter::once((Some("Connected"), None, None))
                .chain(flap_failures.iter().flat_map(|s| {
                    [
                        (None, Some(*s), Some("HOST.SSH.PORT_REFUSED")),
                        (None, Some(*s), Some("HOST.SSH.CONNECTION_LOST")),
                        (None, Some(*s), Some("HOST.SSH.PROTOCOL")),
                        (None, Some(*s), Some("HOST.SSH.TIMEOUT")),
                        (None, Some(*s), Some("HOST.SSH.COMMAND_FAILED")),
                    ]
                }))
                .collect(),
            within: Duration::from_secs(PORT_WAIT + 2 * SSH_TIMEOUT + 4),
        },
    }
}

/// ReconnectHost of a Connected host after the fault struck.
fn reconnect_expect(f: Fault) -> Expect {
    let d = Some("Disconnected");
    match f {
        Fault::None => ok("Connected", 10),
        // A reconnect waits for a rebooting host, up to the port wait.
        Fault::Down => fails(
            d,
            "wait-for-ssh-port",
            "HOST.SSH.PORT_CLOSED",
            PORT_WAIT + 4,
        ),
        Fault::RefuseAuth => fails(d, "ssh-login", "HOST.SSH.AUTH_FAILED", 5),
        Fault::Hang => fails(d, "ssh-login", "HOST.SSH.TIMEOUT", SSH_TIMEOUT + 4),
        Fault::Drop => fails(d, "check-sudo", "HOST.SSH.CONNECTION_LOST", 6),
        Fault::Slow => ok("Connected", 15),
        Fault::KeyChange => fails(d, "verify-host-key", "HOST.SSH.HOST_KEY_CHANGED", 5),
        // It waits through the down phases; a cut mid-way is the other answer.
        Fault::Flap => Expect {
            outcomes: vec![
                (Some("Connected"), None, None),
                (d, Some("wait-for-ssh-port"), Some("HOST.SSH.PORT_CLOSED")),
                (d, Some("ssh-login"), Some("HOST.SSH.PROTOCOL")),
                (d, Some("ssh-login"), Some("HOST.SSH.TIMEOUT")),
                (d, Some("check-sudo"), Some("HOST.SSH.CONNECTION_LOST")),
                (d, Some("check-sudo"), Some("HOST.SSH.TIMEOUT")),
                (d, Some("collect-facts"), Some("HOST.SSH.CONNECTION_LOST")),
                (d, Some("collect-facts"), Some("HOST.SSH.TIMEOUT")),
                (
                    d,
                    Some("write-takeover-flag"),
                    Some("HOST.SSH.CONNECTION_LOST"),
                ),
            ],
            within: Duration::from_secs(PORT_WAIT + 2 * SSH_TIMEOUT + 4),
        },
    }
}

/// The ping tracker alone: the status the host reaches (interval 1 s, 2 tries of 2 s).
fn ping_expect(f: Fault) -> Expect {
    // interval + maxFailure × timeout, and a margin.
    let detect = 1 + 2 * 2 + 4;
    match f {
        // Still Connected after four rounds.
        Fault::None | Fault::Slow => ok("Connected", 4),
        Fault::Down | Fault::RefuseAuth | Fault::Hang | Fault::Drop | Fault::KeyChange => {
            ok("Disconnected", detect)
        }
        // Marked Disconnected in a down phase, reconnected in an up one: either, while it flaps.
        Fault::Flap => Expect {
            outcomes: vec![
                (Some("Connected"), None, None),
                (Some("Disconnected"), None, None),
                (Some("Connecting"), None, None),
            ],
            within: Duration::from_secs(detect),
        },
    }
}

fn add_cell(b: &Bench, f: Fault) {
    let cell = format!("add × {f:?}");
    let h = fresh_host();
    let pin = h.host_key_fingerprint();
    inflict(&h, f);
    let extra = if f == Fault::KeyChange {
        json!({ "hostKeyFingerprint": pin })
    } else {
        json!({})
    };
    let e = add_expect(f);
    let t = Instant::now();
    let r = b.add(&h, extra);
    let took = t.elapsed();
    assert!(
        took <= e.within,
        "{cell}: took {took:?}, bound {:?}",
        e.within
    );
    let uuid = r.body["inventory"]["uuid"].as_str().map(str::to_string);
    let status = uuid.as_deref().and_then(|u| b.status(u));
    let fail = (r.status != 200).then(|| failure(&r.body).expect("a failure names its step"));
    check(&cell, (status, fail), &e);
    if r.status != 200 {
        assert_eq!(
            b.api.query("/hosts?count=true")["total"],
            0,
            "{cell}: a failed add leaves nothing"
        );
    }
    heal(&h);
    if let Some(u) = uuid {
        b.delete(&u);
    }
    b.assert_no_leak(&cell);
    eprintln!("{cell}: {:?} in {took:?}", r.status);
}

fn reconnect_cell(b: &Bench, f: Fault) {
    let cell = format!("reconnect × {f:?}");
    let h = fresh_host();
    let uuid = b.add_ok(&h);
    inflict(&h, f);
    let e = reconnect_expect(f);
    let t = Instant::now();
    let r = b.api.action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({}),
    );
    let took = t.elapsed();
    assert!(
        took <= e.within,
        "{cell}: took {took:?}, bound {:?}",
        e.within
    );
    let fail = (r.status != 200).then(|| {
        assert_eq!(r.body["error"]["code"], "HOST.1002", "{cell}: {}", r.text);
        failure(&r.body).expect("a failure names its step")
    });
    check(&cell, (b.status(&uuid), fail), &e);
    if f == Fault::RefuseAuth {
        assert!(
            r.text.contains("HOST.1012"),
            "{cell}: the password changed: {}",
            r.text
        );
    }
    heal(&h);
    b.delete(&uuid);
    b.assert_no_leak(&cell);
    eprintln!("{cell}: {} in {took:?}", r.status);
}

fn ping_cell(b: &Bench, f: Fault) {
    let cell = format!("ping × {f:?}");
    let h = fresh_host();
    let uuid = b.add_ok(&h);
    let e = ping_expect(f);
    inflict(&h, f);
    let t = Instant::now();
    let want = e.outcomes[0].0.unwrap();
    // Disconnected: reached within the bound. Connected: still so after the bound.
    let status = loop {
        let s = b.status(&uuid);
        if want == "Disconnected" && s.as_deref() == Some("Disconnected") {
            break s;
        }
        if t.elapsed() >= e.within {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    check(&cell, (status.clone(), None), &e);
    heal(&h);
    if f == Fault::Flap || f == Fault::Down || f == Fault::Hang || f == Fault::Drop {
        // It comes back by itself once healed.
        let t = Instant::now();
        while b.status(&uuid).as_deref() != Some("Connected") {
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "{cell}: not reconnected after healing"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    b.delete(&uuid);
    b.assert_no_leak(&cell);
    eprintln!("{cell}: {status:?} after {:?}", t.elapsed());
}

#[test]
fn fault_matrix_add() {
    let b = Bench::start();
    for f in FAULTS {
        add_cell(&b, f);
    }
}

#[test]
fn fault_matrix_reconnect() {
    let b = Bench::start();
    for f in FAULTS {
        reconnect_cell(&b, f);
    }
}

#[test]
fn fault_matrix_ping() {
    let b = Bench::start();
    for f in FAULTS {
        ping_cell(&b, f);
    }
}

/// Hosts that stay silent (here: sshd accepts and never answers) must not hold up the pings of
/// the hosts that answer: with two ping slots and four silent hosts whose tries each wait out an
/// 8 s timeout, a host that goes down is still Disconnected within seconds (its tries get
/// slots; the silent ones wait aside), and nothing leaks.
#[test]
fn silent_hosts_do_not_hold_up_the_pings_of_the_others() {
    let b = Bench::start();
    for (n, v) in [
        ("ping.parallelismDegree", "2"),
        ("ping.timeout", "8"),
        ("ping.maxFailure", "3"),
    ] {
        assert_eq!(b.api.set_config("host", n, v).status, 200);
    }
    let silent: Vec<_> = (0..4).map(|_| fresh_host()).collect();
    let watched = fresh_host();
    let uuids: Vec<String> = silent.iter().map(|h| b.add_ok(h)).collect();
    let watched_uuid = b.add_ok(&watched);
    for h in &silent {
        inflict(h, Fault::Hang);
    }
    // Their tries are under way (each holds a slot for 2 s, then waits aside).
    std::thread::sleep(Duration::from_secs(3));
    inflict(&watched, Fault::Down);
    let t = Instant::now();
    while b.status(&watched_uuid).as_deref() != Some("Disconnected") {
        assert!(
            t.elapsed() < Duration::from_secs(7),
            "the host that went down waited behind the silent ones' pings"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("down host Disconnected after {:?}", t.elapsed());
    // The silent ones are judged too, after their own tries' timeouts.
    for uuid in &uuids {
        let t = Instant::now();
        while b.status(uuid).as_deref() != Some("Disconnected") {
            assert!(
                t.elapsed() < Duration::from_secs(40),
                "a silent host stays Connected"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for h in silent.iter().chain([&watched]) {
        heal(h);
    }
    for uuid in uuids.iter().chain([&watched_uuid]) {
        b.delete(uuid);
    }
    b.assert_no_leak("silent hosts");
}

/// A ping that fails for the management server's own want — here no file descriptor left: its
/// limit lowered, from outside, under what it holds — judges nobody: the hosts stay Connected,
/// the failures are counted as `HOST.SSH.LOCAL` and logged, and pings go on once descriptors
/// are back. (Before, they failed as a closed port and the hosts were marked Disconnected.)
#[test]
fn pings_that_fail_for_want_of_descriptors_judge_nobody() {
    let b = Bench::start();
    let hosts: Vec<_> = (0..2).map(|_| fresh_host()).collect();
    let uuids: Vec<String> = hosts.iter().map(|h| b.add_ok(h)).collect();
    let pid = b.server.pid().unwrap().to_string();
    // The soft limit only: raising a hard limit again may not be permitted.
    let soft_limit = |n: &str| {
        let ok = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={n}:")])
            .status()
            .unwrap()
            .success();
        assert!(
            ok,
            "prlimit (util-linux) sets the server's open-files limit"
        );
    };
    let hard = std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
        .unwrap();
    soft_limit("8");
    // Several rounds (a login ping every second, two tries each) with no socket to be had.
    std::thread::sleep(Duration::from_secs(5));
    soft_limit(&hard);
    for uuid in &uuids {
        assert_eq!(b.status(uuid).as_deref(), Some("Connected"), "{uuid}");
    }
    let metrics = b.api.send(Method::GET, "/metrics", None, &[]);
    assert!(
        metrics.text.contains("reason=\"HOST.SSH.LOCAL\""),
        "{}",
        metrics.text
    );
    assert!(b
        .server
        .log()
        .contains("this management server is out of open files"));
    // Pings go on: a host that dies now is judged as before.
    inflict(&hosts[0], Fault::Down);
    let t = Instant::now();
    while b.status(&uuids[0]).as_deref() != Some("Disconnected") {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "pings did not resume"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for (h, uuid) in hosts.iter().zip(&uuids) {
        heal(h);
        b.delete(uuid);
    }
}

/// The README promises a fix in every add and reconnect error: walk each step to its failure
/// (and the refusals of a state change and a delete) and check that each names its step and
/// a non-empty fix.
#[test]
fn every_failed_step_names_a_fix() {
    let b = Bench::start();
    let mut seen = vec![];
    let mut expect = |what: &str, r: &Resp, step: &str| {
        assert_ne!(r.status, 200, "{what}: did not fail");
        let (s, _reason, hint) =
            failure(&r.body).unwrap_or_else(|| panic!("{what}: no step: {}", r.text));
        assert_eq!(s, step, "{what}: {}", r.text);
        assert!(!hint.is_empty(), "{what}: no fix: {}", r.text);
        seen.push(step.to_string());
    };
    // Add.
    let h = fresh_host();
    let r = b.add(&h, json!({"privateKey": "not a key"}));
    expect("a private key that is not one", &r, "load-credential");
    h.set_down(true);
    expect(
        "a port that refuses",
        &b.add(&h, json!({})),
        "wait-for-ssh-port",
    );
    h.set_down(false);
    expect(
        "a wrong password",
        &b.add(&h, json!({"password": "wrong"})),
        "ssh-login",
    );
    expect(
        "another host key than the one given",
        &b.add(
            &h,
            json!({"hostKeyFingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        ),
        "verify-host-key",
    );
    h.put_flag(
        "/var/run/zstack/takeOver",
        "uuid:0123456789abcdef0123456789abcdef",
        0,
    );
    expect(
        "a host another manager pinged just now",
        &b.add(&h, json!({})),
        "check-takeover",
    );
    h.apply(&FaultChange {
        clear_flags: true,
        drop: Some(true),
        ..Default::default()
    });
    expect("a connection cut", &b.add(&h, json!({})), "check-sudo");
    heal(&h);
    expect(
        "no virtualization",
        &b.add(&odd_host("127.82.0."), json!({})),
        "check-virtualization",
    );
    expect(
        "too little memory",
        &b.add(&odd_host("127.82.1."), json!({})),
        "check-memory",
    );
    let arm = b.api.post(
        "/clusters",
        json!({"name": "arm", "zoneUuid": b.api.query(&format!("/clusters/{}", b.cluster))["inventories"][0]["zoneUuid"],
               "hypervisorType": "KVM", "architecture": "aarch64"}),
    );
    let arm = arm.body["inventory"]["uuid"].as_str().unwrap().to_string();
    expect(
        "an x86_64 host in an aarch64 cluster",
        &b.add(&h, json!({"clusterUuid": arm})),
        "check-architecture",
    );
    let ubuntu = b.add_ok(&h);
    expect(
        "another OS than the cluster's",
        &b.add(&odd_host("127.82.2."), json!({})),
        "check-os",
    );
    expect(
        "a login user that is not root and has no sudo",
        &b.add(&odd_host("127.82.3."), json!({"password": "password"})),
        "check-sudo",
    );
    // Reconnect.
    h.apply(&FaultChange {
        refuse_auth: Some(true),
        ..Default::default()
    });
    let path = format!("/hosts/{ubuntu}/actions");
    expect(
        "a changed password",
        &b.api.action(&path, "reconnectHost", json!({})),
        "ssh-login",
    );
    heal(&h);
    expect(
        "maintain a host that is not Connected",
        &b.api
            .action(&path, "changeHostState", json!({"stateEvent": "maintain"})),
        "check-status",
    );
    assert_eq!(b.api.action(&path, "reconnectHost", json!({})).status, 200);
    assert_eq!(
        b.api
            .action(&path, "changeHostState", json!({"stateEvent": "maintain"}))
            .status,
        200
    );
    expect(
        "reconnect a host in maintenance",
        &b.api.action(&path, "reconnectHost", json!({})),
        "check-state",
    );
    b.api
        .action(&path, "changeHostState", json!({"stateEvent": "enable"}));
    // A reconnect cut short by a delete.
    let t = Instant::now();
    while b.status(&ubuntu).as_deref() != Some("Connected") {
        assert!(t.elapsed() < Duration::from_secs(15));
        std::thread::sleep(Duration::from_millis(100));
    }
    h.set_down(true);
    let job = b.api.send(
        Method::PUT,
        &format!("/zstack/v1{path}"),
        Some(json!({"reconnectHost": {}})),
        &[],
    );
    let loc = job.body["location"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(500));
    b.delete(&ubuntu);
    expect(
        "a reconnect cut short by a delete",
        &b.api.poll(&loc),
        "wait-for-ssh-port",
    );
    heal(&h);
    eprintln!("steps walked: {seen:?}");
}
