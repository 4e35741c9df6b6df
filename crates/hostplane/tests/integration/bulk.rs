//! CheckKVMHost against real OpenSSH sshd hosts (healthy, and each check failing alone), and
//! ZStack's bulk APIs (AddKVMHostFromConfigFile, CheckKVMHostConfigFile, GetHostTask) over REST
//! and RPC with 200 simulated hosts in one file, some rows broken.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hostplane_sim::config::SimConfig;
use hostplane_sim::Sim;
use hostplane_testkit::sshd::{FakeFacts, Login, SshdHost, SshdOptions};
use reqwest::Method;
use serde_json::{json, Value};

use super::common::{assert_error, Api, Db, Env};
use super::hosts::HostEnv;

/// The host checks, on the hosts tests' environment.
impl HostEnv {
    /// CheckKVMHost over REST: the reply body.
    fn check(&self, h: &SshdHost, extra: Value) -> Value {
        let r = self.api().send(
            Method::POST,
            "/zstack/v1/hosts/kvm/check",
            Some(json!({ "params": self.params(h, extra) })),
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!r.text.contains(&h.password), "password echoed: {}", r.text);
        r.body
    }
}

/// The verdict of each step, in order.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["step"].as_str().unwrap().to_string(),
                f["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The steps that failed.
fn failed(report: &Value) -> Vec<String> {
    verdicts(report)
        .into_iter()
        .filter(|(_, v)| v == "fail")
        .map(|(s, _)| s)
        .collect()
}

fn finding<'a>(report: &'a Value, step: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["step"] == step)
        .unwrap_or_else(|| panic!("no finding for {step}: {report}"))
}

fn fake(f: FakeFacts) -> SshdHost {
    SshdHost::start(SshdOptions {
        fake: Some(f),
        ..Default::default()
    })
}

fn healthy() -> SshdHost {
    fake(FakeFacts {
        add_vmx: true,
        ..Default::default()
    })
}

fn check_healthy_and_broken_hosts(db: Db) {
    let ce = HostEnv::start_with_flag(db, Some("~/.hostplane/takeOver"));
    let good = healthy();

    // Healthy: every check passes, with what it measured; nothing is created or written.
    let r = ce.check(&good, json!({}));
    assert_eq!(r["ready"], true, "{r}");
    assert_eq!(r["managementIp"], good.ip.as_str());
    let steps: Vec<String> = verdicts(&r).into_iter().map(|(s, _)| s).collect();
    for s in [
        "check-parameters",
        "check-managed-ip",
        "wait-for-ssh-port",
        "ssh-login",
        "check-sudo",
        "check-takeover",
        "collect-facts",
        "check-virtualization",
        "check-memory",
        "check-architecture",
        "check-os",
        "check-hostname",
    ] {
        assert!(steps.contains(&s.to_string()), "{s} missing: {r}");
    }
    assert!(failed(&r).is_empty(), "{r}");
    assert_eq!(finding(&r, "check-sudo")["value"], "user", "{r}");
    assert!(
        finding(&r, "check-architecture")["value"].is_string(),
        "{r}"
    );
    assert!(finding(&r, "check-memory")["value"]
        .as_str()
        .unwrap()
        .ends_with("bytes"));
    assert_eq!(ce.host_count(), 0, "a check creates no host");
    // No takeover flag was written: a second server finds the host free.
    let other = HostEnv::start_with_flag(db, Some("~/.hostplane/takeOver"));
    assert_eq!(other.check(&good, json!({}))["ready"], true);

    // Closed port: that step fails, the steps after it are skipped.
    let mut closed = healthy();
    closed.stop();
    let r = ce.check(&closed, json!({}));
    assert_eq!(failed(&r), vec!["wait-for-ssh-port"], "{r}");
    assert_eq!(finding(&r, "check-os")["verdict"], "skipped");
    assert!(finding(&r, "wait-for-ssh-port")["hint"].is_string());

    // Wrong password.
    let r = ce.check(&good, json!({"password": "not-the-password"}));
    assert_eq!(failed(&r), vec!["ssh-login"], "{r}");
    assert_eq!(finding(&r, "ssh-login")["reason"], "HOST.SSH.AUTH_FAILED");

    // Wrong expected host key.
    let r = ce.check(
        &good,
        json!({"hostKeyFingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
    );
    assert_eq!(failed(&r), vec!["verify-host-key"], "{r}");

    // Bad parameters: the cluster is of another hypervisor... here: an invalid port string is
    // refused by validation; an unknown cluster is a parameter error too.
    let r = ce.api().send(
        Method::POST,
        "/zstack/v1/hosts/kvm/check",
        Some(json!({"params": ce.params(&good, json!({"clusterUuid": "0123456789abcdef0123456789abcdef"}))})),
        &[],
    );
    assert_error(&r, 503, "SYS.1003");

    // No virtualization, alone.
    let novirt = fake(FakeFacts {
        hide_virtualization: true,
        ..Default::default()
    });
    let r = ce.check(&novirt, json!({}));
    assert_eq!(failed(&r), vec!["check-virtualization"], "{r}");
    assert_eq!(finding(&r, "check-virtualization")["value"], "none");
    assert!(finding(&r, "check-virtualization")["hint"]
        .as_str()
        .unwrap()
        .contains("BIOS"));

    // Too little memory, alone.
    let small = fake(FakeFacts {
        mem_total_kb: Some(512 * 1024),
        add_vmx: true,
        ..Default::default()
    });
    let r = ce.check(&small, json!({}));
    assert_eq!(failed(&r), vec!["check-memory"], "{r}");
    assert_eq!(
        finding(&r, "check-memory")["value"],
        format!("{} bytes", 512 * 1024 * 1024)
    );

    // Add the good host: the cluster now has an architecture and an OS.
    let added = ce.add(&good, json!({}));
    assert_eq!(added.status, 200, "{}", added.text);

    // The managed IP: refused (and its flag names a host of this server).
    let r = ce.check(&good, json!({}));
    assert!(failed(&r).contains(&"check-managed-ip".to_string()), "{r}");

    // Another architecture, alone.
    let arm = fake(FakeFacts {
        arch: Some("aarch64".into()),
        add_vmx: true,
        ..Default::default()
    });
    let r = ce.check(&arm, json!({}));
    assert_eq!(failed(&r), vec!["check-architecture"], "{r}");
    assert_eq!(finding(&r, "check-architecture")["value"], "aarch64");

    // Another OS, alone.
    let rocky = fake(FakeFacts {
        os_release: Some(
            "ID=rocky\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n".into(),
        ),
        add_vmx: true,
        ..Default::default()
    });
    let r = ce.check(&rocky, json!({}));
    assert_eq!(failed(&r), vec!["check-os"], "{r}");

    // Taken over by another server (fresh flag), alone: checked from the second server.
    let r = other.check(&good, json!({}));
    assert_eq!(failed(&r), vec!["check-takeover"], "{r}");

    // The same hostname as a managed host: a warning, the host is still ready.
    let twin = fake(FakeFacts {
        add_vmx: true,
        ..Default::default()
    });
    let r = ce.check(&twin, json!({}));
    assert_eq!(r["ready"], true, "{r}");
    assert_eq!(finding(&r, "check-hostname")["verdict"], "warn", "{r}");

    assert_eq!(ce.host_count(), 1, "checks created nothing");
}

fn check_sudo_fails_alone(db: Db) {
    // ZStack's default flag path, a login without sudo: only check-sudo fails.
    let ce = HostEnv::start_with_flag(db, None);
    let host = SshdHost::start(SshdOptions {
        login: Login::User,
        fake: Some(FakeFacts {
            add_vmx: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    let r = ce.check(&host, json!({}));
    assert_eq!(failed(&r), vec!["check-sudo"], "{r}");
    assert!(finding(&r, "check-sudo")["reason"]
        .as_str()
        .unwrap()
        .starts_with("HOST.SUDO."));
    assert!(finding(&r, "check-sudo")["hint"]
        .as_str()
        .unwrap()
        .contains("kvm.takeOverFlagPath"));
    // An add stops at the same step.
    let r = ce.add(&host, json!({}));
    assert_eq!(
        r.body["error"]["opaque"]["step"], "check-sudo",
        "{}",
        r.text
    );
}

// ---------------------------------------------------------------- bulk, simulated hosts

const HOSTS: u32 = 200;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// An RPC call: the reply object under its class (async calls are polled to the end).
fn rpc(api: &Api, msg: &str, reply: &str, mut fields: Value) -> Value {
    fields["session"] = json!({"uuid": api.session.clone().unwrap()});
    let r = api.send(
        Method::POST,
        "/zstack/api",
        Some(json!({ msg: fields })),
        &[],
    );
    assert_eq!(r.status, 200, "RPC {msg}: {}", r.text);
    let mut body = r.body;
    let deadline = Instant::now() + Duration::from_secs(300);
    while body["state"] != "Done" {
        assert!(Instant::now() < deadline, "RPC {msg} still running");
        std::thread::sleep(Duration::from_millis(100));
        let uuid = body["uuid"].as_str().unwrap().to_string();
        body = api
            .send(
                Method::GET,
                &format!("/zstack/api/result/{uuid}"),
                None,
                &[],
            )
            .body;
    }
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    result
        .get(reply)
        .unwrap_or_else(|| panic!("no {reply} in {result}"))
        .clone()
}

fn bulk_add_from_file_rest_and_rpc(db: Db) {
    let (_rt, sim) = Sim::start_blocking(SimConfig::hosts(HOSTS, Ipv4Addr::new(127, 81, 0, 1)), 1)
        .expect("start the simulator");
    let env = Env::start(db);
    let api = &env.api;
    let zone = api.create_zone("z");
    api.create_cluster(zone["uuid"].as_str().unwrap(), "rack-1");
    let hosts = sim.hosts();
    let secret = "s3cret-Pa55";
    // Broken rows, each with its own problem; the simulator's password is "password".
    let mut csv =
        String::from("managementIp,sshPort,username,password,clusterName,name,description,tags\n");
    let mut broken = Vec::new();
    for (pos, h) in hosts.iter().enumerate() {
        let i = pos + 1;
        let line = csv.lines().count() + 1;
        let row = match i {
            1 => format!("{},{},root,{secret},rack-1,sim-{i},,\n", h.ip, h.port), // wrong password
            2 => format!("{},{},root,password,no-such-rack,sim-{i},,\n", h.ip, h.port),
            3 => format!("{},not-a-port,root,password,rack-1,sim-{i},,\n", h.ip),
            4 => format!("not a host!,{},root,password,rack-1,sim-{i},,\n", h.port),
            5 => format!("{},{},root,,rack-1,sim-{i},,\n", h.ip, h.port), // no password
            _ => format!(
                "{},{},root,password,rack-1,sim-{i},\"rack 1, slot {i}\",a;b\n",
                h.ip, h.port
            ),
        };
        if i <= 5 {
            broken.push((line, i));
        }
        csv.push_str(&row);
    }
    // A duplicate of an earlier row.
    let dup_line = csv.lines().count() + 1;
    let h10 = &hosts[9];
    csv.push_str(&format!(
        "{},{},root,password,rack-1,again,,\n",
        h10.ip, h10.port
    ));
    let rows = HOSTS as usize + 1;
    let bad_rows = 6; // wrong password fails at add time, the other 5 at validation

    // CheckKVMHostConfigFile over REST: the file is refused with every bad row (not the one
    // whose password is wrong: that needs checkHosts).
    let r = api.send(
        Method::POST,
        "/zstack/v1/hosts/kvm/from-file/check",
        Some(json!({"params": {"hostInfo": b64(&csv)}})),
        &[],
    );
    assert_error(&r, 503, "SYS.1007");
    assert!(!r.text.contains(secret), "password echoed: {}", r.text);
    let details = r.body["error"]["details"].as_str().unwrap();
    assert!(details.starts_with("5 of 201 rows"), "{details}");
    for (line, _) in broken.iter().skip(1) {
        assert!(
            details.contains(&format!("line {line} ")),
            "line {line}: {details}"
        );
    }
    assert!(details.contains(&format!("line {dup_line} ")), "{details}");
    assert!(details.contains("no cluster is named [no-such-rack]"));
    // With checkHosts over RPC: the wrong password is found too, and nothing was added.
    let reply = rpc(
        api,
        "org.zstack.header.host.APICheckKVMHostConfigFileMsg",
        "org.zstack.header.host.APICheckHostConfigFileReply",
        json!({"hostInfo": b64(&csv), "checkHosts": true}),
    );
    assert_eq!(reply["success"], false, "{reply}");
    let results = reply["error"]["opaque"]["results"].as_array().unwrap();
    assert_eq!(results.len(), rows);
    let wrong_pw = &results[0];
    assert_eq!(wrong_pw["success"], false);
    assert_eq!(
        wrong_pw["error"]["opaque"]["step"], "ssh-login",
        "{wrong_pw}"
    );
    assert_eq!(results[10]["ready"], true, "{}", results[10]);
    assert!(!reply.to_string().contains(secret));
    assert_eq!(api.query("/hosts?count=true")["total"], 0);

    // AddKVMHostFromConfigFile over REST: 202, then ZStack's results. Two adds at a time, so
    // the adds are seen running.
    assert_eq!(
        api.set_config("host", "add.parallelismDegree", "2").status,
        200
    );
    let r = api.send(
        Method::POST,
        "/zstack/v1/hosts/kvm/from-file",
        Some(json!({"params": {"hostInfo": b64(&csv)}})),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let location = r.body["location"].as_str().unwrap().to_string();
    // While it runs, GetHostTask reports the running adds with their step.
    let mut saw_task = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let uuids: Vec<String> = api.query("/hosts?q=status=Connecting&limit=20")["inventories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["uuid"].as_str().unwrap().to_string())
            .collect();
        assert!(
            uuids.len() <= 2,
            "host.add.parallelismDegree=2, yet {} adds connect at once",
            uuids.len()
        );
        if uuids.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let q: Vec<String> = uuids.iter().map(|u| format!("hostUuids={u}")).collect();
        let t = api.get(&format!("/hosts/task-details?{}", q.join("&")));
        if t.status != 200 {
            continue; // the host was rolled back between the query and the call
        }
        assert_eq!(t.body["success"], true, "{}", t.text);
        for (_, info) in t.body["results"].as_object().unwrap() {
            if let Some(task) = info["runningTask"].as_array().unwrap().first() {
                assert_eq!(task["name"], "add-host");
                assert_eq!(
                    task["apiName"],
                    "org.zstack.header.host.APIAddKVMHostFromConfigFileMsg"
                );
                assert!(task["step"].is_string());
                assert!(info["pendingTask"].is_array());
                saw_task = true;
            }
        }
        if saw_task {
            break;
        }
    }
    let done = api.poll(&location);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["success"], true);
    assert!(!done.text.contains(secret), "password echoed");
    let results = done.body["results"].as_array().unwrap();
    assert_eq!(results.len(), rows);
    let ok: Vec<&Value> = results.iter().filter(|r| r["success"] == true).collect();
    assert_eq!(ok.len(), rows - bad_rows, "{}", done.text);
    assert!(ok
        .iter()
        .all(|r| r.get("error").is_none() && r["hostUuid"].is_string()));
    let first = &results[0];
    assert_eq!(first["ip"], hosts[0].ip.to_string());
    assert_eq!(first["error"]["opaque"]["step"], "ssh-login", "{first}");
    assert!(first["error"]["opaque"]["hint"].is_string());
    assert_eq!(results[rows - 1]["success"], false);
    assert_eq!(
        api.query("/hosts?count=true")["total"],
        (rows - bad_rows) as i64
    );
    assert_eq!(
        api.query("/hosts?q=status=Connected&count=true")["total"],
        (rows - bad_rows) as i64
    );
    // The row's description and tags came along.
    let h20 =
        api.query(&format!("/hosts?q=managementIp={}", hosts[19].ip))["inventories"][0].clone();
    assert_eq!(h20["description"], "rack 1, slot 20");
    assert_eq!(h20["name"], "sim-20");
    assert!(saw_task, "GetHostTask never showed a running add");

    // The same file again over RPC: every row now fails (managed already) except the wrong
    // password, fixed in this copy; the event has ZStack's shape.
    let fixed = csv.replacen(secret, "password", 1);
    let reply = rpc(
        api,
        "org.zstack.header.host.APIAddKVMHostFromConfigFileMsg",
        "org.zstack.header.host.APIAddHostFromConfigFileEvent",
        json!({"hostInfo": b64(&fixed)}),
    );
    assert_eq!(reply["success"], true, "{reply}");
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results.len(), rows);
    assert_eq!(results[0]["success"], true, "{}", results[0]);
    let managed = &results[10];
    assert_eq!(managed["success"], false);
    assert!(managed["error"]["details"]
        .as_str()
        .unwrap()
        .contains("there has been a kvm host having management ip"));
    // GetHostTask over RPC: no task runs now.
    let uuid = results[0]["hostUuid"].as_str().unwrap();
    let reply = rpc(
        api,
        "org.zstack.header.host.APIGetHostTaskMsg",
        "org.zstack.header.host.APIGetHostTaskReply",
        json!({"hostUuids": [uuid]}),
    );
    assert_eq!(reply["success"], true);
    assert_eq!(reply["results"][uuid]["runningTask"], json!([]));
    // Unknown hosts are refused as ZStack does.
    let r = api.get("/hosts/task-details?hostUuids=0123456789abcdef0123456789abcdef");
    assert_error(&r, 503, "SYS.1003");
    drop(sim);
}

both_stores!(
    check_healthy_and_broken_hosts,
    check_sudo_fails_alone,
    bulk_add_from_file_rest_and_rpc
);
