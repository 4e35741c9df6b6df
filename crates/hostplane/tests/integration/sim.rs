//! End to end with simulated hosts: a real `hostplane serve` process adds 20 hosts of an
//! in-process `hostplane-sim` through the REST API, all become Connected; one host dies and the
//! ping tracker marks it Disconnected within `interval × maxFailure + 5 s`; it comes back and is
//! reconnected automatically.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hostplane_sim::config::SimConfig;
use hostplane_sim::Sim;
use hostplane_testkit::server::{Server, ServerOptions};
use reqwest::Method;
use serde_json::json;

use super::common::Api;

/// A host's status as the API reports it.
fn status_of(api: &Api, uuid: &str) -> String {
    api.query(&format!("/hosts/{uuid}"))["inventories"][0]["status"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// Wait until a host has the status; returns how long it took.
fn wait_status(api: &Api, uuid: &str, want: &str, within: Duration) -> Duration {
    let t = Instant::now();
    loop {
        if status_of(api, uuid) == want {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < within,
            "host {uuid} not {want} within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn twenty_simulated_hosts_connect_die_and_come_back() {
    // The simulator runs on its own runtime in this process.
    let (_rt, sim) = Sim::start_blocking(SimConfig::hosts(20, Ipv4Addr::new(127, 78, 0, 1)), 1)
        .expect("start the simulator");

    let server = Server::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions::default(),
    );
    let mut api = Api::new(&server.base);
    api.login("admin", "password");
    let zone = api.create_zone("z")["uuid"].as_str().unwrap().to_string();
    let cluster = api.create_cluster(&zone, "c")["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let (interval, max_failure) = (2u64, 2u64);
    for (name, value) in [
        ("ping.interval", interval.to_string()),
        ("ping.maxFailure", max_failure.to_string()),
        ("ping.timeout", "2".into()),
        ("ping.sleepPeriodAfterFailure", "0".into()),
    ] {
        let r = api.set_config("host", name, &value);
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // All twenty adds at once.
    let jobs: Vec<String> = sim
        .hosts()
        .iter()
        .map(|h| {
            let r = api.send(
                Method::POST,
                "/zstack/v1/hosts/kvm",
                Some(json!({"params": {
                    "name": format!("sim-{}", h.index),
                    "managementIp": h.ip.to_string(),
                    "sshPort": h.port,
                    "username": "root",
                    "password": "password",
                    "clusterUuid": cluster,
                }})),
                &[],
            );
            assert_eq!(r.status, 202, "{}", r.text);
            r.body["location"].as_str().unwrap().to_string()
        })
        .collect();
    let mut uuids = Vec::new();
    for (job, h) in jobs.iter().zip(sim.hosts()) {
        let r = api.poll(job).body;
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
    let count = api.query("/hosts?q=status=Connected&count=true");
    assert_eq!(count["total"], 20, "{count}");

    // Host 5 dies: Disconnected within interval × maxFailure + 5 s.
    let victim = &sim.hosts()[5];
    victim.set_down(true);
    let bound = Duration::from_secs(interval * max_failure + 5);
    let took = wait_status(
        &api,
        &uuids[5],
        "Disconnected",
        bound + Duration::from_secs(5),
    );
    assert!(
        took <= bound,
        "Disconnected after {took:?}, bound {bound:?}"
    );
    assert_eq!(
        status_of(&api, &uuids[4]),
        "Connected",
        "the others stay Connected"
    );

    // It comes back: reconnected automatically.
    victim.set_down(false);
    wait_status(&api, &uuids[5], "Connected", Duration::from_secs(30));
    let count = api.query("/hosts?q=status=Connected&count=true");
    assert_eq!(count["total"], 20, "{count}");
    drop(server);
    drop(sim);
}
