//! End to end with simulated hosts: a real `hostplane serve` process adds 20 hosts of an
//! in-process `hostplane-sim` through the REST API, all become Connected; one host dies and the
//! ping tracker marks it Disconnected within `interval × maxFailure + 5 s`; it comes back and is
//! reconnected automatically.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hostplane_sim::config::{HostGroup, SimConfig};
use hostplane_sim::Sim;
use hostplane_testkit::server::{Server, ServerOptions};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use sha2::Digest;

struct Api {
    base: String,
    session: String,
    http: Client,
}

impl Api {
    fn login(base: &str) -> Api {
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let pw = hex::encode(sha2::Sha512::digest(b"password"));
        let r: Value = http
            .put(format!("{base}/zstack/v1/accounts/login"))
            .json(&json!({"logInByAccount": {"accountName": "admin", "password": pw}}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session = r["inventory"]["uuid"]
            .as_str()
            .expect("session")
            .to_string();
        Api {
            base: base.to_string(),
            session,
            http,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}/zstack/v1{path}", self.base))
            .header("Authorization", format!("OAuth {}", self.session));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// Submit an async API; returns the job location.
    fn submit(&self, method: reqwest::Method, path: &str, body: Value) -> String {
        let (status, b) = self.req(method, path, Some(body));
        assert_eq!(status, 202, "{path}: {b}");
        b["location"].as_str().unwrap().to_string()
    }

    fn wait(&self, location: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let resp = self
                .http
                .get(location)
                .header("Authorization", format!("OAuth {}", self.session))
                .send()
                .unwrap();
            if resp.status().as_u16() != 202 {
                return resp.json().unwrap();
            }
            assert!(Instant::now() < deadline, "job {location} still running");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.wait(&self.submit(method, path, body))
    }

    fn set_config(&self, name: &str, value: &str) {
        let r = self.call(
            reqwest::Method::PUT,
            &format!("/global-configurations/host/{name}/actions"),
            json!({"updateGlobalConfig": {"value": value}}),
        );
        assert!(r.get("error").is_none(), "{r}");
    }

    fn status_of(&self, uuid: &str) -> String {
        let (_, b) = self.req(reqwest::Method::GET, &format!("/hosts/{uuid}"), None);
        b["inventories"][0]["status"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    fn wait_status(&self, uuid: &str, want: &str, within: Duration) -> Duration {
        let t = Instant::now();
        loop {
            if self.status_of(uuid) == want {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < within,
                "host {uuid} not {want} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn twenty_simulated_hosts_connect_die_and_come_back() {
    // The simulator runs on its own runtime in this process.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Arc::new(
        rt.block_on(Sim::start(SimConfig {
            groups: vec![HostGroup {
                count: 20,
                base: Ipv4Addr::new(127, 78, 0, 1),
                port: 0,
                ..Default::default()
            }],
            ..Default::default()
        }))
        .expect("start the simulator"),
    );

    let server = Server::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions::default(),
    );
    let api = Api::login(&server.base);
    let zone = api.call(
        reqwest::Method::POST,
        "/zones",
        json!({"params": {"name": "z"}}),
    );
    let zone = zone["inventory"]["uuid"].as_str().unwrap().to_string();
    let cluster = api.call(
        reqwest::Method::POST,
        "/clusters",
        json!({"params": {"name": "c", "zoneUuid": zone, "hypervisorType": "KVM"}}),
    );
    let cluster = cluster["inventory"]["uuid"].as_str().unwrap().to_string();
    let (interval, max_failure) = (2u64, 2u64);
    api.set_config("ping.interval", &interval.to_string());
    api.set_config("ping.maxFailure", &max_failure.to_string());
    api.set_config("ping.timeout", "2");
    api.set_config("ping.sleepPeriodAfterFailure", "0");

    // All twenty adds at once.
    let jobs: Vec<String> = sim
        .hosts()
        .iter()
        .map(|h| {
            api.submit(
                reqwest::Method::POST,
                "/hosts/kvm",
                json!({"params": {
                    "name": format!("sim-{}", h.index),
                    "managementIp": h.ip.to_string(),
                    "sshPort": h.port,
                    "username": "root",
                    "password": "password",
                    "clusterUuid": cluster,
                }}),
            )
        })
        .collect();
    let mut uuids = Vec::new();
    for (job, h) in jobs.iter().zip(sim.hosts()) {
        let r = api.wait(job);
        let inv = &r["inventory"];
        assert_eq!(inv["status"], "Connected", "{r}");
        assert_eq!(inv["cpuNum"], 32, "{r}");
        assert_eq!(inv["managementIp"], h.ip.to_string());
        assert_eq!(inv["osDistribution"], "ubuntu");
        uuids.push(inv["uuid"].as_str().unwrap().to_string());
        assert!(
            h.flag("/var/run/zstack/takeOver").is_some(),
            "takeover flag written"
        );
    }
    let (_, count) = api.req(
        reqwest::Method::GET,
        "/hosts?q=status=Connected&count=true",
        None,
    );
    assert_eq!(count["total"], 20, "{count}");

    // Host 5 dies: Disconnected within interval × maxFailure + 5 s.
    let victim = &sim.hosts()[5];
    victim.set_down(true);
    let bound = Duration::from_secs(interval * max_failure + 5);
    let took = api.wait_status(&uuids[5], "Disconnected", bound + Duration::from_secs(5));
    assert!(
        took <= bound,
        "Disconnected after {took:?}, bound {bound:?}"
    );
    assert_eq!(
        api.status_of(&uuids[4]),
        "Connected",
        "the others stay Connected"
    );

    // It comes back: reconnected automatically.
    victim.set_down(false);
    api.wait_status(&uuids[5], "Connected", Duration::from_secs(30));
    let (_, count) = api.req(
        reqwest::Method::GET,
        "/hosts?q=status=Connected&count=true",
        None,
    );
    assert_eq!(count["total"], 20, "{count}");
    drop(server);
    drop(sim);
}
