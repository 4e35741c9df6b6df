//! Several management nodes on one PostgreSQL (docs/scale-out.md): real `hostplane serve`
//! processes sharing a database and a secret key, each binding its SSH connections to its own
//! loopback address so that the in-process simulator can tell which node logged into or probed
//! each host, and how often. Tests: hosts shared out and each pinged by one node; a node killed
//! with SIGKILL and its hosts taken over, a host that dies afterwards marked Disconnected by its
//! new owner, the node back and taking its share again; a node cut off from the database (its
//! connections run through a proxy the test cuts) stops pinging before the others take over;
//! a database outage for every node moves nothing; a node stopped with SIGTERM hands its
//! hosts over at once; a job on a killed node ends
//! failed and its hosts are left in a state with an exit; DeleteHost and maintain on one node
//! cut short a connect waiting for a host's port on another; a logout
//! and a config change seen by every node at once; wrong passwords counted across nodes; adds
//! of one IP on two nodes give one host;
//! and on SQLite, a second node on the same file is refused.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hostplane_sim::config::SimConfig;
use hostplane_sim::{FaultChange, Sim};
use hostplane_testkit::pg::TestDb;
use hostplane_testkit::proxy::TcpProxy;
use hostplane_testkit::server::{Server, ServerOptions};
use reqwest::Method;
use serde_json::{json, Value};

use super::common::{assert_error, Api};

/// The key every node of a plane shares.
const KEY: &str = "5f2b6c1d8e9a0b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4";
const PING_S: u64 = 2;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Wait (bounded) until `f` holds; returns how long it took.
fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    loop {
        if f() {
            return t.elapsed();
        }
        assert!(t.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plane of management nodes on one test database, with simulated hosts.
/// (Fields drop in order: the servers stop before their database and hosts go.)
struct Plane {
    nodes: Vec<Server>,
    /// Node i's SSH source address.
    sources: Vec<IpAddr>,
    /// Node i's database proxy, if it has one.
    proxies: Vec<Option<TcpProxy>>,
    apis: Vec<Api>,
    cluster: String,
    db: TestDb,
    sim: Arc<Sim>,
    _rt: tokio::runtime::Runtime,
}

impl Plane {
    /// `n` nodes (those in `proxied` reach the database through a proxy), `hosts` simulated
    /// hosts on 127.93.`block`.x, a zone and a cluster; pings at the default interval until
    /// [`Plane::fast_pings`].
    fn start(block: u8, n: usize, proxied: &[usize], hosts: u32) -> Plane {
        let (rt, sim) =
            Sim::start_blocking(SimConfig::hosts(hosts, Ipv4Addr::new(127, 93, block, 1)), 2)
                .expect("start the simulator");
        let db = TestDb::create();
        let mut p = Plane {
            sim,
            _rt: rt,
            db,
            nodes: vec![],
            sources: vec![],
            proxies: vec![],
            apis: vec![],
            cluster: String::new(),
        };
        for i in 0..n {
            p.add_node(block, proxied.contains(&i));
            if i == 0 {
                // Configs before the others start; they read them at start-up.
                let api = &p.apis[0];
                for (name, value) in [
                    ("ping.timeout", "3"),
                    ("ping.maxFailure", "2"),
                    ("ping.sleepPeriodAfterFailure", "0"),
                ] {
                    let r = api.set_config("host", name, value);
                    assert_eq!(r.status, 200, "{}", r.text);
                }
                let zone = api.create_zone("z")["uuid"].as_str().unwrap().to_string();
                p.cluster = api.create_cluster(&zone, "c")["uuid"]
                    .as_str()
                    .unwrap()
                    .to_string();
            }
        }
        p.wait_nodes(n);
        p
    }

    fn add_node(&mut self, block: u8, proxied: bool) {
        let i = self.nodes.len();
        let source = IpAddr::V4(Ipv4Addr::new(127, 94, block, i as u8 + 1));
        let (url, proxy) = if proxied {
            let target: SocketAddr = {
                let hostport = self
                    .db
                    .url
                    .split('@')
                    .nth(1)
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap();
                hostport.parse().unwrap()
            };
            let proxy = TcpProxy::start(target);
            (proxy.url_for(&self.db.url), Some(proxy))
        } else {
            (self.db.url.clone(), None)
        };
        let server = Server::start(
            std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")),
            ServerOptions {
                database_url: Some(url),
                env: vec![
                    ("HOSTPLANE_SECRET_KEY".into(), KEY.into()),
                    ("HOSTPLANE_SSH_SOURCE_ADDRESS".into(), source.to_string()),
                ],
                ..Default::default()
            },
        );
        let mut api = Api::new(&server.base);
        api.login("admin", "password");
        self.nodes.push(server);
        self.sources.push(source);
        self.proxies.push(proxy);
        self.apis.push(api);
    }

    /// Every running node lists `n` live management nodes, and has waited out its join.
    fn wait_nodes(&self, n: usize) {
        for (i, api) in self.apis.iter().enumerate() {
            wait_until(
                &format!("node {i} sees {n} management nodes"),
                Duration::from_secs(30),
                || {
                    // A node whose database just came back may fail a call or two.
                    let r = api.get("/management-nodes");
                    r.status == 200 && r.body["inventories"].as_array().map(Vec::len) == Some(n)
                },
            );
        }
        std::thread::sleep(Duration::from_secs(3)); // a heartbeat interval and the margin
    }

    /// Add every simulated host, each through node `i % n`, each job polled on another node.
    fn add_all(&self) -> Vec<String> {
        let n = self.apis.len();
        let jobs: Vec<String> = self
            .sim
            .hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let r = self.apis[i % n].send(
                    Method::POST,
                    "/zstack/v1/hosts/kvm",
                    Some(json!({"params": {
                        "name": format!("sim-{i}"), "managementIp": h.ip.to_string(),
                        "sshPort": h.port, "username": "root", "password": "password",
                        "clusterUuid": self.cluster,
                    }})),
                    &[],
                );
                assert_eq!(r.status, 202, "{}", r.text);
                r.body["location"].as_str().unwrap().to_string()
            })
            .collect();
        jobs.iter()
            .enumerate()
            .map(|(i, job)| {
                // A job started on one node is polled on the next: any node answers.
                let r = self.apis[(i + 1) % n].poll(&local(job, &self.nodes[(i + 1) % n]));
                assert_eq!(r.body["inventory"]["status"], "Connected", "{}", r.text);
                r.body["inventory"]["uuid"].as_str().unwrap().to_string()
            })
            .collect()
    }

    /// A ping every `PING_S` seconds, set on the last node: every node applies it at once.
    fn fast_pings(&self) {
        let r = self
            .apis
            .last()
            .unwrap()
            .set_config("host", "ping.interval", &PING_S.to_string());
        assert_eq!(r.status, 200, "{}", r.text);
        std::thread::sleep(Duration::from_secs(1));
    }

    fn node_of(&self, ip: &IpAddr) -> usize {
        self.sources
            .iter()
            .position(|s| s == ip)
            .unwrap_or_else(|| panic!("a host was contacted from {ip}, which is no node"))
    }

    /// For each host: the nodes that contacted it since the last reset, with the first and
    /// last time.
    fn contacts(&self) -> Vec<HashMap<usize, (i64, i64)>> {
        self.sim
            .hosts()
            .iter()
            .map(|h| {
                h.peers()
                    .into_iter()
                    .map(|(ip, p)| (self.node_of(&ip), (p.first_ms, p.last_ms)))
                    .collect()
            })
            .collect()
    }

    fn reset_contacts(&self) {
        for h in self.sim.hosts() {
            h.reset_peers();
        }
    }

    /// Watch `window`: every host must be pinged by exactly one node. Returns each host's node.
    fn owners_over(&self, window: Duration) -> Vec<usize> {
        self.reset_contacts();
        std::thread::sleep(window);
        self.contacts()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                assert_eq!(c.len(), 1, "host {i} was pinged by nodes {c:?}");
                *c.keys().next().unwrap()
            })
            .collect()
    }
}

/// A job location as seen from another node (same path, that node's address).
fn local(location: &str, node: &Server) -> String {
    let path = location
        .split_once("://")
        .map(|(_, r)| &r[r.find('/').unwrap()..])
        .unwrap_or(location);
    format!("{}{path}", node.base)
}

fn shares(owners: &[usize], n: usize) -> Vec<usize> {
    let mut s = vec![0; n];
    for o in owners {
        s[*o] += 1;
    }
    s
}

fn status_of(api: &Api, uuid: &str) -> String {
    api.query(&format!("/hosts/{uuid}"))["inventories"][0]["status"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// 300 hosts on three nodes: each pinged by exactly one node, shares within ±30 % of even;
/// a node killed with SIGKILL: its hosts pinged by the others within 10 s, the survivors still
/// one per host, a host that dies afterwards Disconnected by its new owner; the node back: it
/// takes its share again.
#[test]
fn hosts_are_shared_out_and_taken_over_when_a_node_dies() {
    let mut p = Plane::start(1, 3, &[], 300);
    let uuids = p.add_all();
    p.fast_pings();
    let window = Duration::from_secs(2 * PING_S + 1);
    let owners = p.owners_over(window);
    let s = shares(&owners, 3);
    eprintln!("shares of 300 hosts: {s:?}");
    for (i, n) in s.iter().enumerate() {
        assert!(
            (70..=130).contains(n),
            "node {i} pings {n} of 300 hosts: {s:?}"
        );
    }

    // SIGKILL node 2.
    let victim = 2;
    p.nodes[victim].kill();
    p.reset_contacts();
    let theirs: Vec<usize> = (0..300).filter(|h| owners[*h] == victim).collect();
    let took = wait_until(
        "the dead node's hosts pinged by the others",
        Duration::from_secs(10),
        || {
            let c = p.contacts();
            theirs.iter().all(|h| c[*h].keys().any(|n| *n != victim))
        },
    );
    eprintln!(
        "{} hosts of the killed node pinged by the others {took:?} after the kill",
        theirs.len()
    );
    wait_until(
        "the dead node gone from QueryManagementNode",
        Duration::from_secs(10),
        || {
            p.apis[0].query("/management-nodes")["inventories"]
                .as_array()
                .unwrap()
                .len()
                == 2
        },
    );
    let after = p.owners_over(window);
    for h in 0..300 {
        assert_ne!(after[h], victim);
        if owners[h] != victim {
            assert_eq!(after[h], owners[h], "host {h} of a surviving node moved");
        }
    }

    // A host that dies after the failover: Disconnected by its new owner.
    let h = theirs[0];
    p.sim.hosts()[h].set_down(true);
    wait_until(
        "a taken-over host that died marked Disconnected",
        Duration::from_secs(PING_S * 2 + 15),
        || status_of(&p.apis[0], &uuids[h]) == "Disconnected",
    );
    p.sim.hosts()[h].set_down(false);
    wait_until("it reconnects", Duration::from_secs(30), || {
        status_of(&p.apis[1], &uuids[h]) == "Connected"
    });

    // The node comes back (same data directory, same node uuid): it takes its share again.
    p.nodes[victim].restart();
    p.wait_nodes(3);
    let back = p.owners_over(window);
    assert_eq!(
        back, owners,
        "the node that came back pings its old share again"
    );
}

/// A node whose database connections are cut stops pinging before the others take its hosts
/// over (no host pinged by two nodes for longer than a ping interval); once the database is
/// back it joins again and takes its share.
#[test]
fn a_node_cut_off_from_the_database_stops_pinging() {
    let p = Plane::start(2, 2, &[1], 40);
    p.add_all();
    p.fast_pings();
    let window = Duration::from_secs(2 * PING_S + 1);
    let owners = p.owners_over(window);
    let theirs: Vec<usize> = (0..40).filter(|h| owners[*h] == 1).collect();
    assert!(!theirs.is_empty(), "{owners:?}");

    p.proxies[1].as_ref().unwrap().cut();
    let cut = now_ms();
    p.reset_contacts();
    wait_until(
        "the cut-off node's hosts pinged by the other",
        Duration::from_secs(15),
        || {
            let c = p.contacts();
            theirs.iter().all(|h| c[*h].contains_key(&0))
        },
    );
    std::thread::sleep(window);
    let c = p.contacts();
    for h in &theirs {
        let (a_first, _) = c[*h][&0];
        if let Some((_, b_last)) = c[*h].get(&1) {
            // The cut-off node may finish a ping it started; it starts none once fenced.
            assert!(
                *b_last <= a_first + (PING_S as i64) * 1000,
                "host {h}: the cut-off node pinged it at +{} ms, the other took over at +{} ms",
                b_last - cut,
                a_first - cut
            );
            assert!(
                b_last - cut < 7_000,
                "host {h} pinged {} ms after the cut",
                b_last - cut
            );
        }
    }
    for (h, hc) in c.iter().enumerate() {
        assert!(
            !hc.is_empty(),
            "host {h} not pinged at all while a node was cut off"
        );
    }
    // What an operator's alert sees: the cut-off node says it is fenced, the other does not.
    let fenced = |i: usize| {
        let r = p.apis[i].send(Method::GET, "/metrics", None, &[]);
        assert_eq!(r.status, 200, "{}", r.text);
        r.text.contains("\nhostplane_management_node_fenced 1\n")
    };
    assert!(fenced(1), "the cut-off node reports itself fenced");
    assert!(!fenced(0), "the other node is not fenced");
    let last_b = theirs
        .iter()
        .filter_map(|h| c[*h].get(&1))
        .map(|x| x.1 - cut)
        .max();
    let first_a = theirs.iter().map(|h| c[*h][&0].0 - cut).max();
    eprintln!(
        "cut-off node's last ping +{last_b:?} ms after the cut; its hosts all pinged by the other by +{first_a:?} ms"
    );

    // The database is back: the node joins again and takes its share.
    p.proxies[1].as_ref().unwrap().restore();
    p.wait_nodes(2);
    std::thread::sleep(Duration::from_secs(2));
    let back = p.owners_over(window);
    assert_eq!(
        back, owners,
        "the node that came back pings its old share again"
    );
    assert!(p.nodes[1].log().contains("declared this node dead"));
    assert!(!fenced(1), "back and serving: not fenced");
}

/// The database away for every node (all their connections cut for longer than the dead-node
/// limit, as in a database restart): every node stops pinging; when it is back nobody is
/// declared dead, nothing moves, and the pings resume.
#[test]
fn a_database_outage_moves_nothing() {
    let p = Plane::start(7, 2, &[0, 1], 20);
    p.add_all();
    p.fast_pings();
    let window = Duration::from_secs(2 * PING_S + 1);
    let owners = p.owners_over(window);

    for proxy in p.proxies.iter().flatten() {
        proxy.cut();
    }
    let cut = now_ms();
    p.reset_contacts();
    std::thread::sleep(Duration::from_secs(10));
    let c = p.contacts();
    for (h, hc) in c.iter().enumerate() {
        for (node, (_, last)) in hc {
            assert!(
                last - cut < 7_000,
                "host {h} pinged by node {node} {} ms into the outage",
                last - cut
            );
        }
    }
    for proxy in p.proxies.iter().flatten() {
        proxy.restore();
    }
    p.wait_nodes(2);
    let back = p.owners_over(window);
    assert_eq!(back, owners, "nothing moved");
    for (i, n) in p.nodes.iter().enumerate() {
        let log = n.log();
        assert!(
            !log.contains("management node is dead"),
            "node {i} declared a node dead"
        );
        assert!(
            !log.contains("declared this node dead"),
            "node {i} was declared dead"
        );
        assert!(log.contains("cannot write this management node's heartbeat"));
    }
}

/// A node stopped the ordinary way (SIGTERM) leaves at once: the other node pings its hosts
/// within a few seconds, without waiting for the dead-node limit.
#[test]
fn a_stopped_node_hands_its_hosts_over_at_once() {
    let mut p = Plane::start(6, 2, &[], 12);
    p.add_all();
    p.fast_pings();
    let owners = p.owners_over(Duration::from_secs(2 * PING_S + 1));
    let theirs: Vec<usize> = (0..12).filter(|h| owners[*h] == 1).collect();
    p.reset_contacts();
    let t = Instant::now();
    assert!(
        p.nodes[1].stop(Duration::from_secs(15)),
        "the node stops on SIGTERM"
    );
    let took = wait_until(
        "the stopped node's hosts pinged by the other",
        Duration::from_secs(10),
        || {
            let c = p.contacts();
            theirs.iter().all(|h| c[*h].contains_key(&0))
        },
    );
    eprintln!(
        "hosts of a stopped node pinged by the other {:?} after SIGTERM",
        t.elapsed()
    );
    assert!(took < Duration::from_secs(10));
    assert_eq!(
        p.apis[0].query("/management-nodes")["inventories"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(p.nodes[1].log().contains("left the management plane"));
}

/// Jobs running on a node that is killed end failed once it is declared dead, polled on
/// another node; the add it was running is rolled back, the reconnect leaves its host
/// Disconnected.
#[test]
fn jobs_of_a_killed_node_end_failed() {
    let mut p = Plane::start(3, 2, &[], 2);
    let r = p.apis[0].set_config("host", "connection.autoReconnectOnError", "false");
    assert_eq!(r.status, 200, "{}", r.text);
    let (h0, h1) = (p.sim.hosts()[0].clone(), p.sim.hosts()[1].clone());
    // A job started on node 0 and polled on node 1.
    let r = p.apis[0].send(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        Some(
            json!({"params": {"name": "h0", "managementIp": h0.ip.to_string(), "sshPort": h0.port,
            "username": "root", "password": "password", "clusterUuid": p.cluster}}),
        ),
        &[],
    );
    let r = p.apis[1].poll(&local(r.body["location"].as_str().unwrap(), &p.nodes[1]));
    assert_eq!(r.body["inventory"]["status"], "Connected", "{}", r.text);
    let h0_uuid = r.body["inventory"]["uuid"].as_str().unwrap().to_string();

    // Both hosts hang (TCP accepted, SSH silent): an add of one and a reconnect of the other
    // run on node 0 until it dies.
    let hang = FaultChange {
        hang: Some(true),
        ..Default::default()
    };
    h0.apply(&hang);
    h1.apply(&hang);
    let add = p.apis[0].send(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        Some(
            json!({"params": {"name": "h1", "managementIp": h1.ip.to_string(), "sshPort": h1.port,
            "username": "root", "password": "password", "clusterUuid": p.cluster}}),
        ),
        &[],
    );
    assert_eq!(add.status, 202, "{}", add.text);
    let reconnect = p.apis[0].send(
        Method::PUT,
        &format!("/zstack/v1/hosts/{h0_uuid}/actions"),
        Some(json!({"reconnectHost": {}})),
        &[],
    );
    assert_eq!(reconnect.status, 202, "{}", reconnect.text);
    let jobs: Vec<String> = [&add, &reconnect]
        .iter()
        .map(|r| local(r.body["location"].as_str().unwrap(), &p.nodes[1]))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    for j in &jobs {
        let r = p.apis[1].send(Method::GET, &j[p.nodes[1].base.len()..], None, &[]);
        assert_eq!(r.status, 202, "still running, seen from node 1: {}", r.text);
    }

    p.nodes[0].kill();
    let killed = Instant::now();
    for j in &jobs {
        let r = p.apis[1].poll(j);
        assert!(r.status >= 400, "{}", r.text);
        assert!(r.text.contains("died during the operation"), "{}", r.text);
    }
    eprintln!(
        "jobs of the killed node failed {:?} after the kill",
        killed.elapsed()
    );
    assert!(
        killed.elapsed() < Duration::from_secs(20),
        "{:?}",
        killed.elapsed()
    );
    let ip1 = h1.ip.to_string();
    let left = p.apis[1].query(&format!("/hosts?q=managementIp={ip1}&count=true"));
    assert_eq!(left["total"], 0, "the cut-off add is rolled back: {left}");
    assert_eq!(status_of(&p.apis[1], &h0_uuid), "Disconnected");
}

/// A reconnect waiting on node 0 for the SSH port of a host that is down (a rebooting host:
/// `kvm.testSshPortOpenTimeout` is 300 s) holds the host's lease; DeleteHost and maintain
/// through node 1 cut it short there, as on one node, instead of waiting out the port: both
/// answer within seconds, and the reconnect jobs end failed naming why.
#[test]
fn delete_and_maintain_on_one_node_cut_a_waiting_connect_on_another() {
    let p = Plane::start(8, 2, &[], 2);
    let r = p.apis[0].set_config("host", "connection.autoReconnectOnError", "false");
    assert_eq!(r.status, 200, "{}", r.text);
    let uuids = p.add_all();
    let down = FaultChange {
        down: Some(true),
        ..Default::default()
    };
    let mut jobs = vec![];
    for (i, h) in p.sim.hosts().iter().enumerate() {
        h.apply(&down);
        let r = p.apis[0].send(
            Method::PUT,
            &format!("/zstack/v1/hosts/{}/actions", uuids[i]),
            Some(json!({"reconnectHost": {}})),
            &[],
        );
        assert_eq!(r.status, 202, "{}", r.text);
        jobs.push(local(r.body["location"].as_str().unwrap(), &p.nodes[0]));
    }
    std::thread::sleep(Duration::from_secs(3));
    for j in &jobs {
        let r = p.apis[0].send(Method::GET, &j[p.nodes[0].base.len()..], None, &[]);
        assert_eq!(
            r.status, 202,
            "the reconnect waits for the port: {}",
            r.text
        );
    }

    let t = Instant::now();
    let r = p.apis[1].send(
        Method::DELETE,
        &format!("/zstack/v1/hosts/{}", uuids[0]),
        None,
        &[],
    );
    let r = if r.status == 202 {
        p.apis[1].poll(&local(r.body["location"].as_str().unwrap(), &p.nodes[1]))
    } else {
        r
    };
    assert!(r.status < 300, "{}", r.text);
    let deleted_in = t.elapsed();
    let t = Instant::now();
    let r = p.apis[1].send(
        Method::PUT,
        &format!("/zstack/v1/hosts/{}/actions", uuids[1]),
        Some(json!({"changeHostState": {"stateEvent": "maintain"}})),
        &[],
    );
    let r = if r.status == 202 {
        p.apis[1].poll(&local(r.body["location"].as_str().unwrap(), &p.nodes[1]))
    } else {
        r
    };
    assert_eq!(r.body["inventory"]["state"], "Maintenance", "{}", r.text);
    let maintained_in = t.elapsed();
    eprintln!("delete {deleted_in:?}, maintain {maintained_in:?} across nodes");
    assert!(deleted_in < Duration::from_secs(15), "{deleted_in:?}");
    assert!(maintained_in < Duration::from_secs(15), "{maintained_in:?}");

    let ends: Vec<Value> = jobs.iter().map(|j| p.apis[0].poll(j).body).collect();
    assert!(
        ends[0].to_string().contains("the host is being deleted"),
        "{}",
        ends[0]
    );
    assert!(
        ends[1]
            .to_string()
            .contains("the host was put into maintenance"),
        "{}",
        ends[1]
    );
    let left = p.apis[1].query(&format!("/hosts/{}", uuids[0]));
    assert_eq!(
        left["inventories"].as_array().map(Vec::len),
        Some(0),
        "{left}"
    );
}

/// A logout through one node is refused by the other at once; a global config changed on one
/// node applies on the other within a second.
#[test]
fn logouts_and_config_changes_are_seen_by_every_node() {
    let p = Plane::start(4, 2, &[], 1);
    let mut a = Api::new(&p.nodes[0].base);
    a.login("admin", "password");
    let session = a.session.clone().unwrap();
    let mut b = Api::new(&p.nodes[1].base);
    b.session = Some(session.clone());
    assert_eq!(b.get("/zones").status, 200);
    assert_eq!(a.get("/zones").status, 200); // node 0 has seen (and may remember) it
    let r = b.send(
        Method::DELETE,
        &format!("/zstack/v1/accounts/sessions/{session}"),
        None,
        &[],
    );
    assert!(r.status < 300, "{}", r.text);
    assert_error(&a.get("/zones"), 503, "ID.1001");

    // identity.session.timeout, changed on node 0, read by node 1's logins.
    let r = p.apis[0].set_config("identity", "session.timeout", "600");
    assert_eq!(r.status, 200, "{}", r.text);
    let changed = Instant::now();
    let lifetime = |api: &mut Api| -> i64 {
        let r = api.login("admin", "password");
        let inv = &r.body["inventory"];
        let parse = |k: &str| {
            // "Jan 6, 2017 3:51:16 AM": the lifetime is the difference of two such dates.
            let s = inv[k].as_str().unwrap().to_string();
            chrono_free_parse(&s)
        };
        parse("expiredDate") - parse("createDate")
    };
    let mut b2 = Api::new(&p.nodes[1].base);
    wait_until(
        "node 1 applies a config changed on node 0",
        Duration::from_secs(1),
        || (lifetime(&mut b2) - 600).abs() <= 2,
    );
    eprintln!(
        "config applied on the other node {:?} after the change",
        changed.elapsed()
    );
}

/// Wrong passwords are counted by the plane, not per node: tries spread over two nodes lock the
/// address out of the account on both, and the lock still holds after both nodes restart.
#[test]
fn wrong_passwords_count_on_every_node() {
    let mut p = Plane::start(9, 2, &[], 1);
    let from =
        |p: &Plane, node: usize, source: &str| Api::from_address(&p.nodes[node].base, source);
    let (mut a, mut b) = (from(&p, 0, "127.0.9.2"), from(&p, 1, "127.0.9.2"));
    for _ in 0..3 {
        assert_error(&a.login("admin", "guess"), 503, "ID.1000");
    }
    for _ in 0..2 {
        assert_error(&b.login("admin", "guess"), 503, "ID.1000");
    }
    // identity.login.maxFailures (5) reached across the two: locked on both.
    for api in [&mut a, &mut b] {
        let r = api.login("admin", "password");
        assert_error(&r, 503, "ID.1000");
        let details = r.body["error"]["details"].as_str().unwrap();
        assert!(details.contains("locked"), "{details}");
        assert!(details.contains("127.0.9.2"), "{details}");
    }
    // Another address is not locked out, on either node.
    for node in 0..2 {
        assert_eq!(
            from(&p, node, "127.0.9.3")
                .login("admin", "password")
                .status,
            200
        );
    }
    // A restart of every node forgets nothing.
    for node in &mut p.nodes {
        node.kill();
    }
    for node in &mut p.nodes {
        node.restart();
    }
    let r = from(&p, 1, "127.0.9.2").login("admin", "password");
    assert_error(&r, 503, "ID.1000");
    assert!(r.text.contains("locked"), "{}", r.text);
}

/// Seconds since an arbitrary epoch of a date in Gson's format (`Jan 6, 2017 3:51:16 AM`);
/// good for differences within a year.
fn chrono_free_parse(s: &str) -> i64 {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split([' ', ',', ':']).filter(|p| !p.is_empty()).collect();
    let month = months.iter().position(|m| *m == parts[0]).unwrap() as i64;
    let day: i64 = parts[1].parse().unwrap();
    let (h, m, sec): (i64, i64, i64) = (
        parts[3].parse().unwrap(),
        parts[4].parse().unwrap(),
        parts[5].parse().unwrap(),
    );
    let h = h % 12 + if parts[6] == "PM" { 12 } else { 0 };
    ((month * 31 + day) * 24 + h) * 3600 + m * 60 + sec
}

/// The same IP added through two nodes at once: one host. A node with another secret key is
/// refused.
#[test]
fn adds_of_one_ip_on_two_nodes_give_one_host() {
    let p = Plane::start(5, 2, &[], 4);
    for (i, h) in p.sim.hosts().iter().enumerate() {
        let submit = |api: &Api, name: String| {
            let r = api.send(
                Method::POST,
                "/zstack/v1/hosts/kvm",
                Some(
                    json!({"params": {"name": name, "managementIp": h.ip.to_string(),
                    "sshPort": h.port, "username": "root", "password": "password",
                    "clusterUuid": p.cluster}}),
                ),
                &[],
            );
            assert_eq!(r.status, 202, "{}", r.text);
            r.body["location"].as_str().unwrap().to_string()
        };
        let jobs = [
            (0, submit(&p.apis[0], format!("a-{i}"))),
            (1, submit(&p.apis[1], format!("b-{i}"))),
        ];
        let results: Vec<Value> = jobs.iter().map(|(n, j)| p.apis[*n].poll(j).body).collect();
        let ok = results
            .iter()
            .filter(|r| r.get("inventory").is_some())
            .count();
        assert_eq!(ok, 1, "exactly one add succeeds: {results:?}");
        let failed = results.iter().find(|r| r.get("error").is_some()).unwrap();
        assert!(
            failed.to_string().contains("managementIp")
                || failed.to_string().contains("management ip"),
            "{failed}"
        );
        let n = p.apis[1].query(&format!("/hosts?q=managementIp={}&count=true", h.ip));
        assert_eq!(n["total"], 1, "{n}");
    }

    // A node with another secret key could open no host's credential: it refuses to start.
    let dir = std::env::temp_dir().join(format!("hostplane-wrong-key-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hostplane"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &p.db.url,
        ])
        .arg("--data-dir")
        .arg(&dir)
        .env("HOSTPLANE_SECRET_KEY", "11".repeat(32))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs the same key"), "{err}");
}

/// SQLite is the one-node store: a second server on the same database file is refused with an
/// error that says so, and the first one goes on.
#[test]
fn a_second_node_on_one_sqlite_file_is_refused() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_hostplane"));
    let first = Server::start(bin, ServerOptions::default());
    let out = std::process::Command::new(bin)
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(&first.data_dir)
        .env_remove("HOSTPLANE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already running on the SQLite database") && err.contains("PostgreSQL"),
        "{err}"
    );
    let mut api = Api::new(&first.base);
    assert_eq!(api.login("admin", "password").status, 200);
}
