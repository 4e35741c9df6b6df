//! Observability end to end with simulated hosts: a real `hostplane serve` (SQLite) manages 8
//! hosts of an in-process `hostplane-sim`, and
//!
//! - `GET /metrics` is parsed with the Prometheus client's own parser (Python,
//!   `tests/e2e/metrics_check.py`), passes the naming rules, and its `hostplane_hosts` counts
//!   equal QueryHost's counts while hosts change status (all Connected, two dead, back again);
//! - one host dies and comes back: the two status events arrive in order through QueryHostEvent,
//!   through `hostplane host events`, and through a webhook subscription (signed, retried once
//!   because the receiver fails the first delivery).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use hostplane_sim::config::SimConfig;
use hostplane_sim::Sim;
use hostplane_testkit::api::Api;
use hostplane_testkit::python;
use hostplane_testkit::server::{Server, ServerOptions};
use hostplane_testkit::webhook::Receiver;
use reqwest::Method;
use serde_json::{json, Value};

fn status_of(api: &Api, uuid: &str) -> String {
    let b = api.get(&format!("/hosts/{uuid}")).body;
    b["inventories"][0]["status"].as_str().unwrap_or("?").into()
}

fn wait_status(api: &Api, uuid: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_of(api, uuid) != want {
        assert!(Instant::now() < deadline, "host {uuid} not {want}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The StatusChanged events of a host, oldest first.
fn status_events(api: &Api, uuid: &str) -> Vec<Value> {
    let b = api.query(&format!(
        "/host-events?q=hostUuid={uuid}&q=type=StatusChanged&sort=%2Bid"
    ));
    b["inventories"].as_array().cloned().unwrap_or_default()
}

/// `/metrics` as the Prometheus parser reads it: (families by name, naming problems).
fn scrape(py: &Path, base: &str) -> (HashMap<String, Value>, Vec<String>) {
    let script = python::workspace_root().join("tests/e2e/metrics_check.py");
    let (ok, out, err) = python::run(py, &script, &[&format!("{base}/metrics")], &[]);
    assert!(ok, "metrics_check.py failed:\n{out}\n{err}");
    let v: Value = serde_json::from_str(&out).expect("metrics_check.py prints JSON");
    let families = v["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    let problems = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    (families, problems)
}

/// `hostplane_hosts` summed by status.
fn hosts_by_status(families: &HashMap<String, Value>) -> HashMap<String, i64> {
    let mut m = HashMap::new();
    for s in families["hostplane_hosts"]["samples"].as_array().unwrap() {
        let status = s["labels"]["status"].as_str().unwrap().to_string();
        *m.entry(status).or_insert(0) += s["value"].as_f64().unwrap() as i64;
    }
    m
}

/// Scrape until `hostplane_hosts` equals QueryHost's counts for every status (the counts are
/// at most a few seconds old by design); returns the last scrape.
fn metrics_match_api(py: &Path, api: &Api) -> HashMap<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (families, problems) = scrape(py, &api.base);
        assert!(problems.is_empty(), "naming problems: {problems:#?}");
        let got = hosts_by_status(&families);
        let want: HashMap<String, i64> = ["Connecting", "Connected", "Disconnected"]
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    api.count_where("hosts", &[&format!("status={s}")]) as i64,
                )
            })
            .collect();
        if got == want {
            return families;
        }
        assert!(
            Instant::now() < deadline,
            "hostplane_hosts {got:?} never matched QueryHost {want:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn sum_samples(families: &HashMap<String, Value>, family: &str, sample: &str) -> f64 {
    families
        .get(family)
        .and_then(|f| f["samples"].as_array())
        .map(|a| {
            a.iter()
                .filter(|s| s["name"] == sample)
                .map(|s| s["value"].as_f64().unwrap())
                .sum()
        })
        .unwrap_or(0.0)
}

fn cli(home: &Path, server: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hostplane"));
    c.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOSTPLANE_SERVER", server)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run the hostplane CLI");
    if let Some(s) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "hostplane {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn metrics_and_events_follow_simulated_hosts() {
    let py = python::python(&["prometheus_client"]);
    let (_rt, sim) = Sim::start_blocking(SimConfig::hosts(8, Ipv4Addr::new(127, 79, 0, 1)), 1)
        .expect("start the simulator");
    let server = Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions::default(),
    );
    let api = Api::admin(&server.base);
    let zone = api.create_zone("z")["uuid"].as_str().unwrap().to_string();
    let cluster = api.create_cluster(&zone, "c")["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    for (k, v) in [
        ("ping.interval", "1"),
        ("ping.maxFailure", "1"),
        ("ping.timeout", "2"),
        ("ping.sleepPeriodAfterFailure", "0"),
    ] {
        api.set_config("host", k, v).ok();
    }

    // A webhook for status changes: the receiver is on loopback, so local targets are allowed
    // first (refused by default).
    let hook = Receiver::start(1);
    let refused = api.post(
        "/host-event-subscriptions",
        json!({"name": "w", "url": hook.url}),
    );
    assert_eq!(
        refused.body["error"]["code"], "SYS.1007",
        "{}",
        refused.text
    );
    api.set_config("rest", "webhook.allowedNetworks", "127.0.0.0/8")
        .ok();
    let sub = api
        .post(
            "/host-event-subscriptions",
            json!({"name": "w", "url": hook.url, "eventTypes": ["StatusChanged"], "secret": "s3cret"}),
        )
        .ok();
    assert!(sub["inventory"].get("secret").is_none(), "{sub}");
    assert_eq!(sub["inventory"]["eventTypes"], "StatusChanged");

    let jobs: Vec<String> = sim
        .hosts()
        .iter()
        .map(|h| {
            api.submit(
                Method::POST,
                "/hosts/kvm",
                Some(json!({"params": {"name": format!("sim-{}", h.index), "managementIp": h.ip.to_string(),
                    "sshPort": h.port, "username": "root", "password": "password", "clusterUuid": cluster}})),
            )
        })
        .collect();
    let uuids: Vec<String> = jobs
        .iter()
        .map(|j| {
            let r = api.poll(j).ok();
            assert_eq!(r["inventory"]["status"], "Connected", "{r}");
            r["inventory"]["uuid"].as_str().unwrap().to_string()
        })
        .collect();

    // All Connected: the metrics agree with the API.
    let m = metrics_match_api(&py, &api);
    assert_eq!(hosts_by_status(&m)["Connected"], 8);
    assert!(sum_samples(&m, "hostplane_jobs", "hostplane_jobs_total") >= 8.0);
    assert!(
        sum_samples(
            &m,
            "hostplane_management_nodes",
            "hostplane_management_nodes"
        ) >= 1.0
    );

    // Two hosts die: Disconnected, and the metrics follow.
    for i in [2, 5] {
        sim.hosts()[i].set_down(true);
    }
    for i in [2, 5] {
        wait_status(&api, &uuids[i], "Disconnected");
    }
    let m = metrics_match_api(&py, &api);
    assert_eq!(hosts_by_status(&m)["Disconnected"], 2);
    assert!(
        sum_samples(
            &m,
            "hostplane_host_ping_failures",
            "hostplane_host_ping_failures_total"
        ) >= 2.0,
        "ping failures counted"
    );
    assert!(
        sum_samples(
            &m,
            "hostplane_host_status_changes",
            "hostplane_host_status_changes_total"
        ) >= 2.0
    );
    assert!(
        sum_samples(
            &m,
            "hostplane_host_ping_duration_seconds",
            "hostplane_host_ping_duration_seconds_count"
        ) > 0.0
    );

    // They come back: reconnected automatically, all Connected again.
    for i in [2, 5] {
        sim.hosts()[i].set_down(false);
    }
    for i in [2, 5] {
        wait_status(&api, &uuids[i], "Connected");
    }
    let m = metrics_match_api(&py, &api);
    assert_eq!(hosts_by_status(&m)["Connected"], 8);

    // The events of host 5, in order, through the API ...
    let victim = &uuids[5];
    let events = status_events(&api, victim);
    let pairs: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap_or("").to_string(),
                e["to"].as_str().unwrap_or("").to_string(),
                e["cause"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            (
                "Connected".into(),
                "Disconnected".into(),
                "ping-failed".into()
            ),
            (
                "Disconnected".into(),
                "Connected".into(),
                "auto-reconnect".into()
            ),
        ],
        "{events:#?}"
    );
    assert!(
        events[0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("HOST.")),
        "{events:#?}"
    );
    assert_eq!(events[0]["hostName"], "sim-5");
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();

    // ... through the CLI ...
    let home = tempdir("observe-cli");
    cli(
        &home,
        &server.base,
        &["login", "--password-stdin"],
        Some("password\n"),
    );
    let out = cli(
        &home,
        &server.base,
        &[
            "host",
            "events",
            "sim-5",
            "--type",
            "StatusChanged",
            "-o",
            "json",
        ],
        None,
    );
    let via_cli: Vec<Value> = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(
        via_cli
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        ids,
        "{out}"
    );
    let table = cli(
        &home,
        &server.base,
        &["host", "events", "sim-5", "--since", "1h"],
        None,
    );
    assert!(
        table.contains("Disconnected") && table.contains("ping-failed"),
        "{table}"
    );

    // ... and through the webhook: both events, in order, signed; the first delivery was
    // answered 500 and retried.
    let mine = |d: &hostplane_testkit::webhook::Delivery| {
        d.status == 200
            && serde_json::from_str::<Value>(&d.body)
                .is_ok_and(|b| b["event"]["hostUuid"] == victim.as_str())
    };
    let got = hook.wait_for(Duration::from_secs(30), |all| {
        all.iter().filter(|d| mine(d)).count() >= 2
    });
    assert_eq!(got[0].status, 500, "the first delivery failed on purpose");
    let delivered: Vec<Value> = got
        .iter()
        .filter(|d| mine(d))
        .map(|d| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
            mac.update(d.body.as_bytes());
            let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            assert_eq!(
                d.headers.get("x-hostplane-signature"),
                Some(&want),
                "signature"
            );
            assert_eq!(d.headers["x-hostplane-event"], "StatusChanged");
            serde_json::from_str::<Value>(&d.body).unwrap()["event"].clone()
        })
        .collect();
    let mut hook_ids: Vec<i64> = delivered
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    hook_ids.sort();
    assert_eq!(hook_ids, ids, "{delivered:#?}");
    assert_eq!(
        delivered
            .iter()
            .find(|e| e["id"] == ids[1])
            .map(|e| e["to"].clone()),
        Some(json!("Connected"))
    );
    // The delivered events are the API's.
    assert_eq!(
        delivered.iter().find(|e| e["id"] == ids[0]),
        Some(&events[0])
    );

    let (families, _) = scrape(&py, &server.base);
    assert!(
        sum_samples(
            &families,
            "hostplane_webhook_deliveries",
            "hostplane_webhook_deliveries_total"
        ) >= 4.0
    );
    drop(server);
    drop(sim);
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostplane-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
