//! The web console in a real browser: headless Chromium (Debian's `chromium`), driven over
//! WebDriver by Debian's `chromedriver`, against a real `hostplane serve` process whose hosts
//! are simulated KVM hosts (`hostplane-sim`, real SSH, in this process).
//!
//! - `console_walkthrough`: log in; create zones and clusters; add a host and watch its steps;
//!   a failed add shows its step, reason and fix; the overview's numbers equal the API's;
//!   filters, search and a bad query's error; a host's facts, maintenance, enable, reconnect,
//!   a changed SSH key re-pinned after both fingerprints are shown, rename and delete;
//!   settings with a refused value; a delete's cascade explained; log out.
//! - `console_live_status_and_session_expiry`: the console's routes leave the API alone; a
//!   host whose simulated SSH dies shows Disconnected on the hosts page within 5 s without a
//!   reload; the SHA-512 fallback for plain-HTTP pages is right; an expired session returns
//!   to the login page.
//!
//! Screenshots of the main pages go to `target/console-screenshots/`; with
//! `HOSTPLANE_UPDATE_SCREENSHOTS=1` also to `docs/console/` (the ones the README shows).
//! A missing browser fails the tests: never a skip.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hostplane_sim::config::{Faults, HostGroup, SimConfig, SimFacts};
use hostplane_sim::{FaultChange, Sim};
use hostplane_testkit::api::Api;
use hostplane_testkit::server::{Server, ServerOptions};
use hostplane_testkit::webdriver::Browser;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::json;
use sha2::Digest;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The uuid of the `resource` named `name`.
fn uuid_of(api: &Api, resource: &str, name: &str) -> String {
    let items = api.query_where(resource, &[&format!("name={name}")]);
    items[0]["uuid"].as_str().expect("uuid").to_string()
}

/// Start adding a simulated host; the job's location.
fn add_host(api: &Api, name: &str, ip: Ipv4Addr, port: u16, cluster: &str) -> String {
    api.submit(
        Method::POST,
        "/hosts/kvm",
        Some(
            json!({"params": {"name": name, "managementIp": ip.to_string(), "sshPort": port,
            "username": "root", "password": "password", "clusterUuid": cluster}}),
        ),
    )
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Save a screenshot under target/console-screenshots (and docs/console when asked).
fn screenshot(b: &Browser, name: &str) {
    let png = b.screenshot_png();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let root = workspace_root();
    let mut dirs = vec![root.join("target/console-screenshots")];
    if std::env::var_os("HOSTPLANE_UPDATE_SCREENSHOTS").is_some() {
        dirs.push(root.join("docs/console"));
    }
    for d in dirs {
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{name}.png")), &png).unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn server() -> Server {
    Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        ServerOptions::default(),
    )
}

/// Log in through the login page.
fn browser_login(b: &Browser) {
    b.fill("#login-account", "admin");
    b.fill("#login-password", "password");
    b.click_css("#login-submit");
    b.wait("#nav-overview", SECS(20));
}

fn host_group(count: u32, base: [u8; 4], facts: SimFacts, faults: Faults) -> HostGroup {
    HostGroup {
        count,
        base: Ipv4Addr::from(base),
        port: 0,
        facts,
        faults,
        ..Default::default()
    }
}

#[test]
fn console_walkthrough() {
    let rt = runtime();
    let rocky = SimFacts {
        os_id: "rocky".into(),
        os_version: "9.3".into(),
        os_release: "Blue Onyx".into(),
        cpu_num: 64,
        memory: "512G".into(),
        ..Default::default()
    };
    let fan_alarm = SimFacts {
        extra: vec!["hw.fan=hwmon1/fan1 0 600 1".into()],
        ..Default::default()
    };
    let slow = Faults {
        slow_ms: 400,
        ..Default::default()
    };
    let sim = rt
        .block_on(Sim::start(SimConfig {
            groups: vec![
                host_group(8, [127, 81, 0, 1], SimFacts::default(), Faults::default()),
                host_group(3, [127, 81, 1, 1], rocky, Faults::default()),
                host_group(1, [127, 81, 2, 1], fan_alarm, Faults::default()),
                host_group(1, [127, 81, 3, 1], SimFacts::default(), slow),
            ],
            ..Default::default()
        }))
        .expect("start the simulator");
    let hosts = sim.hosts();
    let (ubuntu, rockies, fan, slow_host) = (&hosts[0..8], &hosts[8..11], &hosts[11], &hosts[12]);

    let server = server();
    let api = Api::admin(&server.base);
    let b = Browser::start();
    let base = &server.base;

    // The login page.
    b.goto(&format!("{base}/"));
    b.wait("#login-password", SECS(20));
    screenshot(&b, "login");
    b.fill("#login-account", "admin");
    b.fill("#login-password", "wrong");
    b.click_css("#login-submit");
    b.wait_text(".error-box", SECS(10), |t| {
        t.contains("Wrong account name or password")
    });
    browser_login(&b);

    // Zones and clusters, created through the forms.
    b.goto(&format!("{base}/#/zones"));
    b.fill("#zone-name", "dc-east");
    b.click_css("#zone-create");
    b.wait("tr[data-zone=\"dc-east\"]", SECS(20));
    for name in ["compute-1", "compute-2", "spare"] {
        b.fill("#cluster-name", name);
        b.click_css("#cluster-create");
        b.wait(&format!("tr[data-cluster=\"{name}\"]"), SECS(20));
    }
    assert_eq!(api.count_where("zones", &["name=dc-east"]), 1);
    assert_eq!(api.count_where("clusters", &["zone.name=dc-east"]), 3);
    let c1 = uuid_of(&api, "clusters", "compute-1");
    let c2 = uuid_of(&api, "clusters", "compute-2");

    // Add a (slow) host through the form and watch its steps.
    b.goto(&format!("{base}/#/add-host"));
    b.select("#add-cluster", &c1);
    b.fill("#add-ip", &slow_host.ip.to_string());
    b.fill("#add-port", &slow_host.port.to_string());
    b.fill("#add-name", "rack3-node01");
    b.fill("#add-password", "password");
    b.click_css("#add-submit");
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + SECS(60);
    while b.try_find("#add-done").is_none() {
        if let Some(e) = b.try_find("li.step[data-step-state=\"current\"]") {
            if let Some(step) = b.attr(&e, "data-step") {
                if seen.last() != Some(&step) {
                    if seen.is_empty() {
                        screenshot(&b, "add-host-progress");
                    }
                    seen.push(step);
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "the add never finished; saw {seen:?}:\n{}",
            b.page_text()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(
        seen.iter()
            .any(|s| s == "ssh-login" || s == "collect-facts" || s == "check-takeover"),
        "the steps of the add were not shown while it ran: saw {seen:?}"
    );
    let done = b.text_of("#add-done");
    assert!(
        done.contains("rack3-node01") && done.contains("Connected"),
        "{done}"
    );
    assert_eq!(b.find_all("li.step[data-step-state=\"done\"]").len(), 12);

    // A failed add: wrong password → the failed step, the reason and the fix.
    b.fill("#add-ip", &ubuntu[0].ip.to_string());
    b.fill("#add-port", &ubuntu[0].port.to_string());
    b.fill("#add-name", "bad-password");
    b.fill("#add-password", "not-the-password");
    b.click_css("#add-submit");
    let failed = b.wait(".error-box [data-failed-step]", SECS(30));
    assert_eq!(
        b.attr(&failed, "data-failed-step").as_deref(),
        Some("ssh-login")
    );
    let err = b.text_of(".error-box");
    assert!(err.contains("HOST.SSH.AUTH_FAILED"), "{err}");
    assert!(
        err.contains("How to fix") && err.contains("check the username and password"),
        "{err}"
    );
    assert!(!err.contains('{'), "raw JSON shown: {err}");
    b.wait(
        "li.step[data-step-state=\"failed\"][data-step=\"ssh-login\"]",
        SECS(5),
    );
    screenshot(&b, "add-host-failed");
    assert_eq!(api.count_where("hosts", &["name=bad-password"]), 0);

    // "Check first": every check of the add at once, nothing added.
    b.click_css("#add-check");
    b.wait("#check-result[data-ready=\"false\"]", SECS(30));
    b.wait(
        "#check-findings tr[data-step=\"ssh-login\"][data-verdict=\"fail\"]",
        SECS(5),
    );
    b.wait(
        "#check-findings tr[data-step=\"check-os\"][data-verdict=\"skipped\"]",
        SECS(5),
    );
    b.fill("#add-password", "password");
    b.click_css("#add-check");
    b.wait("#check-result[data-ready=\"true\"]", SECS(30));
    b.wait(
        "#check-findings tr[data-step=\"check-virtualization\"][data-verdict=\"pass\"]",
        SECS(5),
    );
    screenshot(&b, "add-host-check-first");
    assert_eq!(api.count_where("hosts", &["name=bad-password"]), 0);
    // An edit makes the check stale: its verdict goes rather than speak for other values.
    b.fill("#add-password", "another");
    b.wait_gone("#check-result", SECS(5));
    b.fill("#add-password", "password");

    // The rest of the fleet through the API.
    let mut jobs = Vec::new();
    for (i, h) in ubuntu.iter().enumerate() {
        jobs.push(add_host(
            &api,
            &format!("rack1-node{:02}", i + 1),
            h.ip,
            h.port,
            &c1,
        ));
    }
    for (i, h) in rockies.iter().enumerate() {
        jobs.push(add_host(
            &api,
            &format!("rack2-node{:02}", i + 1),
            h.ip,
            h.port,
            &c2,
        ));
    }
    jobs.push(add_host(&api, "rack3-node02", fan.ip, fan.port, &c1));
    for j in jobs {
        let r = api.poll(&j).ok();
        assert_eq!(r["inventory"]["status"], "Connected", "{r}");
    }
    let fan_uuid = uuid_of(&api, "hosts", "rack3-node02");

    // The overview shows what the API says.
    b.goto(&format!("{base}/#/overview"));
    b.wait_text("[data-stat=\"hosts-total\"]", SECS(20), |t| t == "13");
    for status in ["Connected", "Connecting", "Disconnected"] {
        let want = api
            .count_where("hosts", &[&format!("status={status}")])
            .to_string();
        assert_eq!(
            b.text_of(&format!("[data-stat=\"hosts-{status}\"]")),
            want,
            "{status}"
        );
    }
    for state in ["Enabled", "Disabled", "PreMaintenance", "Maintenance"] {
        let want = api
            .count_where("hosts", &[&format!("state={state}")])
            .to_string();
        assert_eq!(
            b.text_of(&format!("[data-stat=\"hosts-{state}\"]")),
            want,
            "{state}"
        );
    }
    assert_eq!(
        b.text_of("[data-stat=\"zones\"]"),
        api.count_where("zones", &[]).to_string()
    );
    assert_eq!(
        b.text_of("[data-stat=\"clusters\"]"),
        api.count_where("clusters", &[]).to_string()
    );
    assert_eq!(
        b.text_of("[data-stat=\"management-nodes\"]"),
        api.count_where("management-nodes", &[]).to_string()
    );
    let all = api.query_where("hosts", &[]);
    let cpu: i64 = all
        .iter()
        .map(|h| h["totalCpuCapacity"].as_i64().unwrap())
        .sum();
    let cpu_text = b.wait_text("[data-stat=\"cpu-total\"]", SECS(20), |t| !t.is_empty());
    assert_eq!(cpu_text.replace(',', ""), cpu.to_string());
    let mem: i64 = all
        .iter()
        .map(|h| h["totalMemoryCapacity"].as_i64().unwrap())
        .sum();
    let mem_el = b.wait("[data-stat=\"memory-total\"]", SECS(5));
    assert_eq!(b.attr(&mem_el, "data-bytes"), Some(mem.to_string()));
    let attention = b.wait(
        &format!("#attention tr[data-host=\"{fan_uuid}\"]"),
        SECS(20),
    );
    assert!(
        b.text(&attention).contains("Fans: Error"),
        "{}",
        b.text(&attention)
    );
    screenshot(&b, "overview");

    // The hosts page: every host, filters, search, and a query the server refuses.
    b.goto(&format!("{base}/#/hosts"));
    b.wait("#hosts-count[data-total=\"13\"]", SECS(20));
    assert_eq!(b.find_all("#hosts-table tbody tr").len(), 13);
    screenshot(&b, "hosts");
    b.select("#filter-cluster", &c2);
    b.wait("#hosts-count[data-total=\"3\"]", SECS(20));
    for row in b.find_all("#hosts-table tbody tr") {
        let t = b.text(&row);
        assert!(t.contains("compute-2") && t.contains("rocky 9.3"), "{t}");
    }
    b.click_css("#filters-clear");
    b.wait("#hosts-count[data-total=\"13\"]", SECS(20));
    b.fill("#search", "cpuNum>32");
    b.click_css("#search-submit");
    let want = api.count_where("hosts", &["cpuNum>32"]);
    assert_eq!(want, 3);
    b.wait(&format!("#hosts-count[data-total=\"{want}\"]"), SECS(20));
    b.fill("#search", "cluster.name=compute-1 fanStatus=Error");
    b.click_css("#search-submit");
    b.wait("#hosts-count[data-total=\"1\"]", SECS(20));
    b.wait(
        &format!("#hosts-table tr[data-host=\"{fan_uuid}\"]"),
        SECS(5),
    );
    b.fill("#search", "cpuNum>many");
    b.click_css("#search-submit");
    let bad = b.wait_text("#search-error .error-box", SECS(20), |t| !t.is_empty());
    assert!(
        bad.contains("The query was not accepted") && bad.contains("cpuNum"),
        "{bad}"
    );
    assert!(!bad.contains('{'), "raw JSON shown: {bad}");
    b.fill("#search", "nosuchfield=1");
    b.click_css("#search-submit");
    b.wait_text("#search-error .error-box", SECS(20), |t| {
        t.contains("nosuchfield")
    });
    screenshot(&b, "hosts-bad-query");
    b.click_css("#filters-clear");
    b.select("#filter-status", "Connected");
    b.wait("#hosts-count[data-total=\"13\"]", SECS(20));
    b.select("#filter-state", "Disabled");
    b.wait("#hosts-count[data-total=\"0\"]", SECS(20));
    b.wait("#hosts-empty", SECS(5));
    b.click_css("#filters-clear");

    // One host: facts, then maintenance, enable, reconnect, a changed key, rename, delete.
    let victim = &ubuntu[1];
    let uuid = uuid_of(&api, "hosts", "rack1-node02");
    b.wait(
        &format!("#hosts-table tr[data-host=\"{uuid}\"] a"),
        SECS(20),
    );
    b.click_css(&format!("#hosts-table tr[data-host=\"{uuid}\"] a"));
    b.wait_text("#host-title", SECS(20), |t| t == "rack1-node02");
    assert!(
        b.text_of("#fact-os").contains("ubuntu 22.04"),
        "{}",
        b.text_of("#fact-os")
    );
    assert_eq!(b.text_of("#fact-cpus"), "32 in 2 sockets");
    assert_eq!(b.text_of("#fact-ip"), victim.ip.to_string());
    assert_eq!(b.text_of("[data-hw=\"cpuStatus\"]"), "Normal");
    // Tags (QuerySystemTag), with the pinned SSH host key among them.
    assert_eq!(
        b.text_of("#fact-fingerprint"),
        victim.host_key_fingerprint()
    );
    let tags = b.text_of("#tags");
    assert!(
        tags.contains("os::distribution::ubuntu") && tags.contains("sshHostKey::SHA256:"),
        "{tags}"
    );
    screenshot(&b, "host-detail");

    b.click_css("#action-maintain");
    b.click_css("#confirm-maintain");
    b.wait_text("#host-state", SECS(30), |t| t == "Maintenance");
    assert_eq!(
        api.query_where("hosts", &[&format!("uuid={uuid}")])[0]["state"],
        "Maintenance"
    );
    b.click_css("#action-enable");
    b.wait_text("#host-state", SECS(30), |t| t == "Enabled");
    b.wait_text("#host-status", SECS(30), |t| t == "Connected");
    b.click_css("#action-reconnect");
    b.wait_text("#action-result .ok-box", SECS(30), |t| {
        t.contains("Reconnect: done")
    });

    // The host was "reinstalled": its key changed. Reconnect fails; both keys are shown;
    // trusting the new one re-pins it.
    let old_fp = victim.host_key_fingerprint();
    victim.apply(&FaultChange {
        rotate_key: true,
        ..Default::default()
    });
    let new_fp = victim.host_key_fingerprint();
    assert_ne!(old_fp, new_fp);
    b.click_css("#action-reconnect");
    b.wait("#dialog-repin[open]", SECS(30));
    assert_eq!(b.text_of("#key-pinned"), old_fp);
    assert_eq!(b.text_of("#key-presented"), new_fp);
    screenshot(&b, "host-repin");
    b.click_css("#confirm-repin");
    b.wait_text("#action-result .ok-box", SECS(30), |t| t.contains("Re-pin"));
    b.wait_text("#host-status", SECS(30), |t| t == "Connected");
    assert_eq!(
        api.query_where("hosts", &[&format!("uuid={uuid}")])[0]["status"],
        "Connected"
    );
    b.wait_text("#fact-fingerprint", SECS(10), |t| t == new_fp);

    b.click_css("#action-rename");
    b.fill("#rename-input", "rack1-node02-renamed");
    b.click_css("#confirm-rename");
    b.wait_text("#host-title", SECS(30), |t| t == "rack1-node02-renamed");
    assert_eq!(api.count_where("hosts", &["name=rack1-node02-renamed"]), 1);

    b.click_css("#action-delete");
    b.click_css("#delete-Enforcing");
    b.click_css("#confirm-delete");
    b.wait("#hosts-title", SECS(30));
    assert_eq!(api.count_where("hosts", &[&format!("uuid={uuid}")]), 0);
    b.wait("#hosts-count[data-total=\"12\"]", SECS(20));

    // Settings: a refused value is explained; a good one is saved.
    b.goto(&format!("{base}/#/settings"));
    let row = "tr[data-config=\"host.ping.interval\"]";
    b.fill(&format!("{row} input"), "0");
    b.click_css(&format!("{row} button[type=submit]"));
    let refused = b.wait_text(&format!("{row} .error-box"), SECS(20), |t| !t.is_empty());
    assert!(!refused.contains('{'), "raw JSON shown: {refused}");
    screenshot(&b, "settings");
    b.fill(&format!("{row} input"), "30");
    b.click_css(&format!("{row} button[type=submit]"));
    b.wait(&format!("{row} .ok-text"), SECS(20));
    let cfg = api.query_where(
        "global-configurations",
        &["category=host", "name=ping.interval"],
    );
    assert_eq!(cfg[0]["value"], "30");

    // Deleting a cluster says first what goes with it; an empty one goes.
    b.goto(&format!("{base}/#/zones"));
    b.click_css("tr[data-cluster=\"compute-1\"] [data-action=\"delete-cluster\"]");
    let hosts_in_c1 = api.count_where("hosts", &[&format!("clusterUuid={c1}")]);
    assert_eq!(
        b.text_of("#cascade [data-cascade=\"hosts\"]"),
        hosts_in_c1.to_string()
    );
    screenshot(&b, "zones-delete");
    b.key("\u{E00C}"); // Escape closes the dialog: nothing deleted
    b.wait_gone("#dialog-zc-delete[open]", SECS(5));
    assert_eq!(api.count_where("clusters", &["name=compute-1"]), 1);
    b.click_css("tr[data-zone=\"dc-east\"] [data-action=\"delete-zone\"]");
    assert_eq!(b.text_of("#cascade [data-cascade=\"clusters\"]"), "3");
    b.key("\u{E00C}");
    b.wait_gone("#dialog-zc-delete[open]", SECS(5));
    b.click_css("tr[data-cluster=\"spare\"] [data-action=\"delete-cluster\"]");
    b.click_css("#zc-confirm-delete");
    b.wait_gone("tr[data-cluster=\"spare\"]", SECS(30));
    assert_eq!(api.count_where("clusters", &["name=spare"]), 0);

    // Recent failed jobs on the overview: the failed add, with its step.
    b.goto(&format!("{base}/#/overview"));
    let failed = b.wait_text("#failed-jobs", SECS(20), |t| t.contains("bad-password"));
    assert!(failed.contains("Logging in over SSH"), "{failed}");

    b.click_css("#logout");
    b.wait_text("#login-notice", SECS(10), |t| t.contains("logged out"));
    let errors = b.page_errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    drop(b);
    drop(server);
    drop(sim);
}

#[test]
fn console_live_status_and_session_expiry() {
    let rt = runtime();
    let sim = rt
        .block_on(Sim::start(SimConfig {
            groups: vec![host_group(
                3,
                [127, 82, 0, 1],
                SimFacts::default(),
                Faults::default(),
            )],
            ..Default::default()
        }))
        .expect("start the simulator");
    let server = server();
    let base = &server.base;
    let api = Api::admin(base);

    // The console takes `/` and `/console/...`, and nothing of the API.
    let http = Client::new();
    let r = http.get(format!("{base}/")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let r = http.get(format!("{base}/console/app.js")).send().unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    for path in [
        "/zstack/v1/management-nodes/ready",
        "/v1/management-nodes/ready",
    ] {
        let r = http.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers().get("content-security-policy").is_none(),
            "{path}"
        );
    }
    let r = http
        .get(format!("{base}/zstack/v1/nothing"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);

    let zone = api.create_zone("z")["uuid"].as_str().unwrap().to_string();
    let cluster = api.create_cluster(&zone, "c")["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    // Fast pings, so the server notices a dead host within about a second.
    api.set_config("host", "ping.interval", "1").ok();
    api.set_config("host", "ping.maxFailure", "1").ok();
    api.set_config("host", "ping.timeout", "2").ok();
    api.set_config("host", "ping.sleepPeriodAfterFailure", "0")
        .ok();
    let mut uuids = Vec::new();
    for (i, h) in sim.hosts().iter().enumerate() {
        let r = api
            .poll(&add_host(
                &api,
                &format!("live-{i}"),
                h.ip,
                h.port,
                &cluster,
            ))
            .ok();
        assert_eq!(r["inventory"]["status"], "Connected", "{r}");
        uuids.push(r["inventory"]["uuid"].as_str().unwrap().to_string());
    }

    let b = Browser::start();
    b.goto(&format!("{base}/"));
    // By keyboard: the password field has the focus; Enter logs in.
    b.wait("#login-password", SECS(20));
    let focused = b.script("return document.activeElement.id;", json!([]));
    assert_eq!(
        focused, "login-password",
        "the password field has the focus"
    );
    b.fill("#login-password", "password\u{E007}");
    b.wait("#nav-overview", SECS(20));

    // The plain-JavaScript SHA-512 (for pages without crypto.subtle) agrees with sha2.
    let fallback = b.script_async(
        "const done = arguments[arguments.length - 1];
         import('/console/sha512.js').then((m) => done(m.sha512HexFallback(arguments[0])));",
        json!(["pässwörd ✓"]),
    );
    assert_eq!(
        fallback.as_str().unwrap(),
        hex::encode(sha2::Sha512::digest("pässwörd ✓".as_bytes()))
    );

    // A host dies: its row turns Disconnected without a reload.
    b.goto(&format!("{base}/#/hosts"));
    b.wait("#hosts-count[data-total=\"3\"]", SECS(20));
    let cell = format!("#hosts-table tr[data-host=\"{}\"] .host-status", uuids[1]);
    b.wait_text(&cell, SECS(20), |t| t == "Connected");
    let marker = b.script(
        "window.__noReload = 42; return window.__noReload;",
        json!([]),
    );
    assert_eq!(marker, 42);
    let died = Instant::now();
    sim.hosts()[1].set_down(true);
    b.wait_text(&cell, SECS(15), |t| t == "Disconnected");
    let took = died.elapsed();
    eprintln!("console: the dead host showed Disconnected after {took:?}");
    assert!(
        took <= SECS(5),
        "the console showed Disconnected {took:?} after the host died (bound 5 s)"
    );
    assert_eq!(
        b.script("return window.__noReload;", json!([])),
        42,
        "the page was reloaded"
    );
    let other = format!("#hosts-table tr[data-host=\"{}\"] .host-status", uuids[0]);
    assert_eq!(b.text_of(&other), "Connected");
    screenshot(&b, "hosts-disconnected");
    // The system's dark mode is followed.
    b.color_scheme("dark");
    let bg = b.script(
        "return getComputedStyle(document.body).backgroundColor;",
        json!([]),
    );
    assert_eq!(bg, "rgb(15, 20, 26)", "dark background");
    screenshot(&b, "hosts-dark");
    b.color_scheme("light");
    sim.hosts()[1].set_down(false);

    // Sessions of 3 s: log in again; the console returns to the login page on its own.
    api.set_config("identity", "session.timeout", "3").ok();
    b.click_css("#logout");
    b.wait("#login-password", SECS(10));
    browser_login(&b);
    let notice = b.wait_text("#login-notice", SECS(30), |t| t.contains("expired"));
    assert!(notice.contains("Log in again"), "{notice}");
    assert!(b.try_find("#nav-overview").is_none());
    let errors = b.page_errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    drop(b);
    drop(server);
    drop(sim);
}
