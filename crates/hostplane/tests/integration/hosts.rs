//! KVM hosts against real OpenSSH sshd test hosts: add, facts, failures and rollback, trust,
//! ping tracking, state, updates, delete, restart.

use std::time::{Duration, Instant};

use hostplane_testkit::sshd::{FakeFacts, Login, SshdHost, SshdOptions, Sudo};
use reqwest::Method;
use serde_json::{json, Value};

use super::common::{assert_error, Api, Db, Env, Resp};

/// A server with a zone and a cluster, ready for hosts.
/// A server with a zone and a cluster to add test hosts to (also used by the bulk tests).
pub(super) struct HostEnv {
    env: Env,
    cluster: String,
}

impl HostEnv {
    fn start(db: Db) -> HostEnv {
        // Test users are not root and have no sudo: keep the takeover flag in their home.
        Self::start_with_flag(db, Some("~/.hostplane/takeOver"))
    }

    /// `flag`: the `kvm.takeOverFlagPath` to set; `None` keeps ZStack's default path.
    pub(super) fn start_with_flag(db: Db, flag: Option<&str>) -> HostEnv {
        let env = Env::start(db);
        if let Some(flag) = flag {
            assert_eq!(
                env.api.set_config("kvm", "takeOverFlagPath", flag).status,
                200
            );
        }
        let zone = env.api.create_zone("z");
        let cluster = env.api.create_cluster(zone["uuid"].as_str().unwrap(), "c")["uuid"]
            .as_str()
            .unwrap()
            .to_string();
        HostEnv { env, cluster }
    }
    pub(super) fn api(&self) -> &Api {
        &self.env.api
    }
    /// AddKVMHost's parameters for `h`, with `extra` over them.
    pub(super) fn params(&self, h: &SshdHost, extra: Value) -> Value {
        let mut p = json!({"name": "h", "managementIp": h.ip, "sshPort": h.port, "username": h.user, "password": h.password, "clusterUuid": self.cluster});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    }
    pub(super) fn add(&self, h: &SshdHost, extra: Value) -> Resp {
        self.api().post("/hosts/kvm", self.params(h, extra))
    }
    fn add_ok(&self, h: &SshdHost) -> Value {
        let r = self.add(h, json!({}));
        assert_eq!(r.status, 200, "add failed: {}", r.text);
        r.body["inventory"].clone()
    }
    fn host(&self, uuid: &str) -> Value {
        self.api().query(&format!("/hosts/{uuid}"))["inventories"][0].clone()
    }
    /// Ping tries so far (`hostplane_host_ping_duration_seconds_count` in /metrics).
    fn ping_tries(&self) -> u64 {
        let r = self.api().send(reqwest::Method::GET, "/metrics", None, &[]);
        r.text
            .lines()
            .find_map(|l| l.strip_prefix("hostplane_host_ping_duration_seconds_count "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
    pub(super) fn host_count(&self) -> i64 {
        self.api().query("/hosts?count=true")["total"]
            .as_i64()
            .unwrap()
    }
    fn wait_status(&self, uuid: &str, status: &str, within: Duration) -> Duration {
        let t = Instant::now();
        loop {
            let h = self.host(uuid);
            if h["status"] == status {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < within,
                "host did not become {status} within {within:?}: {h}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn sshd() -> SshdHost {
    SshdHost::start(SshdOptions::default())
}

fn fake(f: FakeFacts) -> SshdHost {
    SshdHost::start(SshdOptions {
        fake: Some(f),
        ..Default::default()
    })
}

fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn add_reports_this_machines_facts(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let inv = he.add_ok(&host);
    assert_eq!(inv["status"], "Connected");
    assert_eq!(inv["state"], "Enabled");
    assert_eq!(inv["hypervisorType"], "KVM");
    assert_eq!(inv["managementIp"], host.ip.as_str());
    assert_eq!(inv["sshPort"], host.port);
    assert_eq!(inv["username"], host.user.as_str());
    let nproc: i64 = sh("nproc --all").parse().unwrap();
    assert_eq!(inv["cpuNum"], nproc);
    assert_eq!(
        inv["totalCpuCapacity"],
        nproc * 10,
        "cpuNum x host.cpu.overProvisioning.ratio"
    );
    let mem_kb: i64 = sh("awk '/^MemTotal:/{print $2}' /proc/meminfo")
        .parse()
        .unwrap();
    assert_eq!(inv["totalMemoryCapacity"], mem_kb * 1024);
    assert_eq!(inv["availableMemoryCapacity"], mem_kb * 1024);
    assert_eq!(inv["architecture"], sh("uname -m"));
    assert_eq!(inv["hostname"], sh("hostname"));
    assert_eq!(inv["osDistribution"], sh(". /etc/os-release; echo $ID"));
    assert_eq!(inv["osVersion"], sh(". /etc/os-release; echo $VERSION_ID"));
    for f in [
        "cpuStatus",
        "memoryStatus",
        "diskStatus",
        "nicStatus",
        "temperatureStatus",
    ] {
        assert!(
            ["Normal", "Error", "Unknown"].contains(&inv[f].as_str().unwrap()),
            "{f}: {inv}"
        );
    }
    assert!(inv.get("password").is_none());
    let uuid = inv["uuid"].as_str().unwrap();
    // Facts are queryable as system tags, and the pinned host key is visible.
    let os = format!(
        "os::distribution::{}",
        inv["osDistribution"].as_str().unwrap()
    );
    assert_eq!(
        he.api().query(&format!("/hosts?q=__systemTag__={os}"))["inventories"][0]["uuid"],
        uuid
    );
    let fp = host.host_key_fingerprint.replace('+', "%2B"); // base64 may hold '+'; it must be encoded
    assert_eq!(
        he.api()
            .query(&format!("/hosts?q=__systemTag__=sshHostKey::{fp}"))["inventories"][0]["uuid"],
        uuid
    );
    // QuerySystemTag lists them, as ZStack's SystemTagInventory.
    let tags = he
        .api()
        .query(&format!("/system-tags?q=resourceUuid={uuid}&limit=100"));
    let listed: Vec<&str> = tags["inventories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    let pinned = format!("sshHostKey::{}", host.host_key_fingerprint);
    assert!(listed.contains(&pinned.as_str()), "{listed:?}");
    assert!(listed.contains(&os.as_str()), "{listed:?}");
    let one = &tags["inventories"][0];
    assert_eq!(one["resourceType"], "HostVO", "{one}");
    assert_eq!(one["inherent"], true, "{one}");
    let by_uuid = he
        .api()
        .query(&format!("/system-tags/{}", one["uuid"].as_str().unwrap()));
    assert_eq!(by_uuid["inventories"][0]["tag"], one["tag"]);
    assert_eq!(
        he.api()
            .query(&format!("/user-tags?q=resourceUuid={uuid}&count=true"))["total"],
        0
    );
    // The cluster took the host's architecture.
    assert_eq!(
        he.api().query("/clusters")["inventories"][0]["architecture"],
        sh("uname -m")
    );
    // The password is nowhere in the log, and not in the database in clear.
    assert!(!he.env.server.log().contains(&host.password));
    if db == Db::Sqlite {
        let raw = std::fs::read(he.env.server.data_dir.join("hostplane.db")).unwrap();
        let needle = host.password.as_bytes();
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "the password is stored encrypted"
        );
    }
    // KVM-only fields need the type switch.
    assert_error(&he.api().get("/hosts?q=sshPort=1"), 503, "SYS.1000");
    let q = format!("/hosts?q=hypervisorType=KVM&q=sshPort={}", host.port);
    assert_eq!(he.api().query(&q)["inventories"][0]["uuid"], uuid);
}

fn wrong_password_rolls_back(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let r = he.add(&host, json!({"password": "not-the-password"}));
    assert_error(&r, 503, "SYS.1006");
    assert_eq!(r.body["error"]["opaque"]["step"], "ssh-login");
    assert_eq!(r.body["error"]["opaque"]["reason"], "HOST.SSH.AUTH_FAILED");
    assert!(r.body["error"]["opaque"]["hint"].as_str().is_some());
    assert!(!r.text.contains("not-the-password"));
    assert_eq!(he.host_count(), 0);
    assert_eq!(
        he.api().query("/hosts?q=__systemTag__~=%&count=true")["total"],
        0
    );
}

fn closed_port_fails_fast_and_bounded(db: Db) {
    // kvm.testSshPortOpenTimeout stays at 300 s: a refused port is an answer for a new host.
    let he = HostEnv::start(db);
    let mut host = sshd();
    host.stop();
    let t = Instant::now();
    let r = he.add(&host, json!({}));
    assert_error(&r, 503, "SYS.1006");
    let opaque = &r.body["error"]["opaque"];
    assert_eq!(opaque["step"], "wait-for-ssh-port", "{}", r.text);
    assert_eq!(opaque["reason"], "HOST.SSH.PORT_REFUSED", "{}", r.text);
    assert!(
        opaque["hint"]
            .as_str()
            .is_some_and(|h| h.contains("managementIp and sshPort")),
        "{}",
        r.text
    );
    let details = r.body["error"]["details"].as_str().unwrap();
    assert!(
        details.contains(&format!("nothing listens on {}:{}", host.ip, host.port)),
        "{details}"
    );
    // A name that does not resolve is an answer too.
    let r = he.add(&host, json!({"managementIp": "no-such-host.invalid"}));
    assert_eq!(
        r.body["error"]["opaque"]["reason"], "HOST.SSH.NAME_NOT_RESOLVED",
        "{}",
        r.text
    );
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(he.host_count(), 0);
}

fn validation_and_duplicates(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let base = json!({"name": "h", "managementIp": host.ip, "sshPort": host.port, "username": host.user, "password": host.password, "clusterUuid": he.cluster});
    let with = |k: &str, v: Value| {
        let mut p = base.clone();
        p[k] = v;
        p
    };
    assert_error(
        &he.api()
            .post("/hosts/kvm", with("managementIp", json!("###"))),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api().post("/hosts/kvm", with("managementIp", json!(""))),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api().post(
            "/hosts/kvm",
            with("clusterUuid", json!("0123456789abcdef0123456789abcdef")),
        ),
        503,
        "SYS.1003",
    );
    assert_error(
        &he.api().post("/hosts/kvm", with("sshPort", json!(70000))),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api()
            .post("/hosts/kvm", with("name", json!("n".repeat(256)))),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api()
            .post("/hosts/kvm", with("systemTags", json!(["bogus"]))),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api()
            .post("/hosts/kvm", with("resourceUuid", json!("xyz"))),
        503,
        "SYS.1007",
    );
    let r = he.api().send(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        Some(json!({"params": with("sshPort", json!("2.5"))})),
        &[],
    );
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            400,
            "[sshPort] field is excepted an int or long, but was [2.5]."
        )
    );
    assert_eq!(he.host_count(), 0, "nothing half-written");
    // The seed's curl sends sshPort as a string; that is accepted.
    let r = he
        .api()
        .post("/hosts/kvm", with("sshPort", json!(host.port.to_string())));
    assert_eq!(r.status, 200, "{}", r.text);
    // pageTableExtensionDisabled is kept as a system tag.
    let uuid = r.body["inventory"]["uuid"].as_str().unwrap().to_string();
    assert_error(&he.api().post("/hosts/kvm", base.clone()), 503, "SYS.1007");
    assert_eq!(he.host_count(), 1);
    assert_eq!(he.api().delete(&format!("/hosts/{uuid}")).status, 200);
    let r = he.api().post(
        "/hosts/kvm",
        with("systemTags", json!(["pageTableExtensionDisabled"])),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        he.api()
            .query("/hosts?q=__systemTag__=pageTableExtensionDisabled&count=true")["total"],
        1
    );
}

fn concurrent_adds_of_one_ip_give_one_host(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let results: Vec<Resp> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| he.add(&host, json!({}))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 200) {
        assert_error(r, 503, "SYS.1007");
    }
    assert_eq!(he.host_count(), 1);
}

fn host_without_virtualization_is_refused(db: Db) {
    let he = HostEnv::start(db);
    let host = fake(FakeFacts {
        hide_virtualization: true,
        ..Default::default()
    });
    let r = he.add(&host, json!({}));
    assert_error(&r, 503, "SYS.1006");
    assert_eq!(r.body["error"]["opaque"]["step"], "check-virtualization");
    assert!(
        r.body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("BIOS"),
        "{}",
        r.text
    );
    assert_eq!(he.host_count(), 0);
}

fn preflight_checks(db: Db) {
    let he = HostEnv::start(db);
    // Memory below kvm.reservedMemory.
    let small = fake(FakeFacts {
        mem_total_kb: Some(512 * 1024),
        add_vmx: true,
        ..Default::default()
    });
    let r = he.add(&small, json!({}));
    assert_eq!(
        r.body["error"]["opaque"]["step"], "check-memory",
        "{}",
        r.text
    );
    he.api().set_config("kvm", "reservedMemory", "256M");
    assert_eq!(
        he.add(&small, json!({})).status,
        200,
        "a lower reserve lets it in"
    );
    // Another OS in the same cluster.
    let other_os = fake(FakeFacts {
        os_release: Some(
            "ID=rocky\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n".into(),
        ),
        add_vmx: true,
        ..Default::default()
    });
    let r = he.add(&other_os, json!({}));
    assert_eq!(r.body["error"]["opaque"]["step"], "check-os", "{}", r.text);
    // Another architecture.
    let arm = fake(FakeFacts {
        arch: Some("aarch64".into()),
        add_vmx: true,
        ..Default::default()
    });
    let r = he.add(&arm, json!({}));
    assert_eq!(
        r.body["error"]["opaque"]["step"], "check-architecture",
        "{}",
        r.text
    );
    assert_eq!(he.host_count(), 1);
}

fn host_key_is_pinned(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    host.regenerate_host_key();
    let r = he.api().action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({}),
    );
    assert_error(&r, 503, "HOST.1002");
    assert_eq!(
        r.body["error"]["cause"]["opaque"]["reason"], "HOST.SSH.HOST_KEY_CHANGED",
        "{}",
        r.text
    );
    assert_eq!(he.host(&uuid)["status"], "Disconnected");
    // Re-pin on purpose.
    let r = he.api().action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({"repinHostKey": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["inventory"]["status"], "Connected");
    let tag = format!(
        "sshHostKey::{}",
        host.host_key_fingerprint.replace('+', "%2B")
    );
    assert_eq!(
        he.api()
            .query(&format!("/hosts?q=__systemTag__={tag}&count=true"))["total"],
        1
    );
    // An expected fingerprint given at add time must match.
    let other = sshd();
    let r = he.add(
        &other,
        json!({"hostKeyFingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
    );
    assert_eq!(
        r.body["error"]["opaque"]["reason"], "HOST.SSH.HOST_KEY_CHANGED",
        "{}",
        r.text
    );
    assert_eq!(he.host_count(), 1);
}

fn ping_tracks_disconnect_and_recovery(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    he.api().set_config("host", "ping.maxFailure", "2");
    he.api().set_config("host", "ping.interval", "1");
    host.stop();
    // interval x tries, plus slack for the try timeouts and this poll.
    let took = he.wait_status(
        &uuid,
        "Disconnected",
        Duration::from_secs(2 + 8), /* 1 s x 2 tries + slack */
    );
    eprintln!("Disconnected after {took:?}");
    assert_eq!(
        he.api().query(&format!(
            "/hosts?q=uuid={uuid}&q=__systemTag__~=ConnectedTime::%&count=true"
        ))["total"],
        0
    );
    host.restart();
    he.wait_status(&uuid, "Connected", Duration::from_secs(20));
    assert_eq!(
        he.api().query(&format!(
            "/hosts?q=uuid={uuid}&q=__systemTag__~=ConnectedTime::%&count=true"
        ))["total"],
        1
    );
}

/// The default ping: a login every `loginEvery` rounds that sets the takeover flag ahead, and a
/// login-free probe of sshd in between; a replaced host key is still caught at the next login.
fn ping_probes_between_logins(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    let logins = |h: &SshdHost| h.log().matches("Accepted password for").count();
    let at_add = logins(&host);
    he.api().set_config("host", "ping.timeout", "2");
    he.api().set_config("host", "ping.maxFailure", "2");
    he.api().set_config("host", "ping.interval", "1");
    std::thread::sleep(Duration::from_secs(8));
    // About 8 rounds: the first logs in, then probes while the flag stays fresh
    // ((5 − 1) × 1 s + 2 s ahead, fresh for one interval more), so at most 3 logins.
    let pings = logins(&host) - at_add;
    assert!((1..=3).contains(&pings), "{pings} logins in 8 rounds");
    assert_eq!(he.host(&uuid)["status"], "Connected");
    // The flag's mtime lies ahead, so another manager sees it fresh until the next login.
    // (Right after a login it is; a late round on a loaded machine may leave it just behind
    // until the next login, which comes within the 6 s it was set ahead.)
    let flag = host.home.join(".hostplane/takeOver");
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let (mtime, ahead) = loop {
        let mtime = std::fs::metadata(&flag).unwrap().modified().unwrap();
        let ahead = mtime
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        if ahead > Duration::ZERO || std::time::Instant::now() > deadline {
            break (mtime, ahead);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ahead > Duration::ZERO, "flag mtime {mtime:?} is not ahead");
    assert!(ahead <= Duration::from_secs(6), "{ahead:?}");

    // Another machine (another host key, same sshd version) on the address: the probes cannot
    // tell, the next login ping refuses the key before sending the password.
    host.regenerate_host_key();
    let took = he.wait_status(&uuid, "Disconnected", Duration::from_secs(20));
    eprintln!("a replaced host key was caught after {took:?}");
    assert_reconnect_refuses_a_changed_key(&he, &uuid);
}

/// A probe that reads another sshd identification line logs in at once: a replaced machine is
/// caught at the next round, not at the next scheduled login.
fn probe_notices_a_replaced_sshd_at_once(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    he.api().set_config("host", "ping.timeout", "2");
    he.api().set_config("host", "ping.maxFailure", "2");
    // A login only every 100 rounds: a replaced key alone would wait ~100 s for it.
    he.api().set_config("host", "ping.loginEvery", "100");
    let before = he.ping_tries();
    he.api().set_config("host", "ping.interval", "1");
    // A login, then probes that learn sshd's line (counted, not timed: a loaded machine is slow).
    let t = std::time::Instant::now();
    while he.ping_tries() < before + 3 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "fewer than 3 pings in 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(he.host(&uuid)["status"], "Connected");
    host.replace_machine("another-machine");
    let took = he.wait_status(&uuid, "Disconnected", Duration::from_secs(12));
    eprintln!("a replaced sshd was caught after {took:?}");
    assert_reconnect_refuses_a_changed_key(&he, &uuid);
}

/// A reconnect of a host whose key changed fails saying so (no password was sent).
fn assert_reconnect_refuses_a_changed_key(he: &HostEnv, uuid: &str) {
    let r = he.api().action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({}),
    );
    assert_eq!(
        r.body["error"]["cause"]["opaque"]["reason"], "HOST.SSH.HOST_KEY_CHANGED",
        "{}",
        r.text
    );
}

fn changed_password_stops_auto_reconnect(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    host.set_password("a-new-Passw0rd");
    let r = he.api().action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({}),
    );
    assert_error(&r, 503, "HOST.1002");
    assert_eq!(r.body["error"]["cause"]["code"], "HOST.1012", "{}", r.text);
    assert_eq!(he.host(&uuid)["status"], "Disconnected");
    // The tracker does not hammer the host with the old password.
    he.api().set_config("host", "ping.interval", "1");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(he.host(&uuid)["status"], "Disconnected");
    // New credentials: the next reconnect works (UpdateKVMHost itself does not reconnect).
    let r = he.api().action(
        &format!("/hosts/kvm/{uuid}/actions"),
        "updateKVMHost",
        json!({"password": "a-new-Passw0rd"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.find("a-new-Passw0rd").is_none());
    he.wait_status(&uuid, "Connected", Duration::from_secs(15));
    host.password = "a-new-Passw0rd".into();
}

fn delete_modes(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    let flag = host.home.join(".hostplane/takeOver");
    assert!(
        std::fs::read_to_string(&flag).unwrap().contains(&uuid),
        "the takeover flag names the host"
    );
    assert_eq!(
        he.api()
            .delete(&format!("/hosts/{uuid}?deleteMode=Permissive"))
            .body,
        json!({})
    );
    assert_eq!(he.host_count(), 0);
    assert!(!flag.exists(), "Permissive removed the takeover flag");
    assert_eq!(
        he.api().query(&format!(
            "/hosts?q=uuid={uuid}&q=__systemTag__~=%&count=true"
        ))["total"],
        0
    );
    // A missing host, in any format, deletes fine.
    assert_eq!(he.api().delete("/hosts/whatever").status, 200);
    // Enforcing with the host's sshd gone: no waiting on it.
    let mut gone = sshd();
    let uuid = he.add_ok(&gone)["uuid"].as_str().unwrap().to_string();
    gone.stop();
    let t = Instant::now();
    assert_eq!(
        he.api()
            .delete(&format!("/hosts/{uuid}?deleteMode=Enforcing"))
            .status,
        200
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "Enforcing took {:?}",
        t.elapsed()
    );
    // Permissive with sshd gone also completes (bounded).
    let mut gone2 = sshd();
    let uuid = he.add_ok(&gone2)["uuid"].as_str().unwrap().to_string();
    gone2.stop();
    assert_eq!(he.api().delete(&format!("/hosts/{uuid}")).status, 200);
    assert_eq!(he.host_count(), 0);
    // Deleting the cluster deletes its hosts.
    let h3 = sshd();
    he.add_ok(&h3);
    assert_eq!(
        he.api().delete(&format!("/clusters/{}", he.cluster)).status,
        200
    );
    assert_eq!(he.host_count(), 0);
}

fn maintain_and_enable(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    let path = format!("/hosts/{uuid}/actions");
    let r = he
        .api()
        .action(&path, "changeHostState", json!({"stateEvent": "maintain"}));
    assert_eq!(r.body["inventory"]["state"], "Maintenance", "{}", r.text);
    assert!(
        r.body["inventory"].get("username").is_none(),
        "ChangeHostState answers a plain HostInventory"
    );
    // A second maintain has no transition; reconnect is refused in maintenance.
    assert_error(
        &he.api()
            .action(&path, "changeHostState", json!({"stateEvent": "maintain"})),
        503,
        "SYS.1000",
    );
    assert_error(
        &he.api().action(&path, "reconnectHost", json!({})),
        503,
        "HOST.1002",
    );
    // No pings in maintenance: stopping sshd changes nothing.
    he.api().set_config("host", "ping.interval", "1");
    host.stop();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(he.host(&uuid)["status"], "Connected");
    host.restart();
    // Leaving maintenance reconnects.
    let r = he
        .api()
        .action(&path, "changeHostState", json!({"stateEvent": "enable"}));
    assert_eq!(r.body["inventory"]["state"], "Enabled");
    assert_eq!(r.body["inventory"]["status"], "Connecting");
    he.wait_status(&uuid, "Connected", Duration::from_secs(15));
    // disable / enable, and maintain on a Disconnected host.
    let r = he
        .api()
        .action(&path, "changeHostState", json!({"stateEvent": "disable"}));
    assert_eq!(r.body["inventory"]["state"], "Disabled");
    he.api().set_config("host", "ping.maxFailure", "1");
    host.stop();
    he.wait_status(&uuid, "Disconnected", Duration::from_secs(10));
    assert_error(
        &he.api()
            .action(&path, "changeHostState", json!({"stateEvent": "maintain"})),
        503,
        "SYS.1006",
    );
    assert_error(
        &he.api()
            .action(&path, "changeHostState", json!({"stateEvent": "sleep"})),
        503,
        "SYS.1007",
    );
}

fn updates(db: Db) {
    let he = HostEnv::start(db);
    let a = sshd();
    let b = sshd();
    let ua = he.add_ok(&a)["uuid"].as_str().unwrap().to_string();
    let ub = he.add_ok(&b)["uuid"].as_str().unwrap().to_string();
    let r = he.api().action(
        &format!("/hosts/{ua}/actions"),
        "updateHost",
        json!({"name": "renamed", "description": "d"}),
    );
    assert_eq!(
        (
            r.body["inventory"]["name"].as_str(),
            r.body["inventory"]["description"].as_str()
        ),
        (Some("renamed"), Some("d"))
    );
    assert_eq!(
        r.body["inventory"]["username"],
        a.user.as_str(),
        "UpdateHost answers the KVM inventory"
    );
    // Another host's IP, or its own: refused.
    assert_error(
        &he.api().action(
            &format!("/hosts/{ua}/actions"),
            "updateHost",
            json!({"managementIp": b.ip}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api().action(
            &format!("/hosts/{ua}/actions"),
            "updateHost",
            json!({"managementIp": a.ip}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api().action(
            &format!("/hosts/kvm/{ua}/actions"),
            "updateKVMHost",
            json!({"sshPort": 0}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &he.api().action(
            &format!("/hosts/kvm/{ua}/actions"),
            "updateKVMHost",
            json!({"username": ""}),
        ),
        503,
        "SYS.1007",
    );
    let r = he.api().action(
        &format!("/hosts/kvm/{ub}/actions"),
        "updateKVMHost",
        json!({"sshPort": 2222, "name": "b2"}),
    );
    assert_eq!(
        (
            r.body["inventory"]["sshPort"].as_i64(),
            r.body["inventory"]["name"].as_str()
        ),
        (Some(2222), Some("b2"))
    );
    assert_eq!(
        r.body["inventory"]["status"], "Connected",
        "an update does not reconnect"
    );
    assert_eq!(
        he.api().query("/hosts?q=name=renamed")["inventories"][0]["uuid"],
        ua.as_str()
    );
    assert_error(
        &he.api().action(
            "/hosts/0123456789abcdef0123456789abcdef/actions",
            "updateHost",
            json!({"name": "x"}),
        ),
        503,
        "SYS.1003",
    );
}

fn private_key_login(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let (private, public) = hostplane_testkit::sshd::generate_client_key("ed25519", None);
    host.add_authorized_key(&public);
    let r = he.add(&host, json!({"password": "", "privateKey": private}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains("PRIVATE KEY"));
    assert!(!he.env.server.log().contains("PRIVATE KEY"));
}

fn takeover_by_another_server_is_refused(db: Db) {
    let first = HostEnv::start(db);
    let second = HostEnv::start(db);
    let host = sshd();
    first.add_ok(&host);
    let r = second.add(&host, json!({}));
    assert_error(&r, 503, "SYS.1006");
    assert_eq!(
        r.body["error"]["opaque"]["step"], "check-takeover",
        "{}",
        r.text
    );
    assert!(r.body["error"]["details"]
        .as_str()
        .unwrap()
        .contains("taken over"));
    assert_eq!(second.host_count(), 0);
}

fn restart_with_hosts_in_each_status(db: Db) {
    let mut he = HostEnv::start(db);
    let connected = sshd();
    let mut disconnected = sshd();
    let maintained = sshd();
    let uc = he.add_ok(&connected)["uuid"].as_str().unwrap().to_string();
    let ud = he.add_ok(&disconnected)["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let um = he.add_ok(&maintained)["uuid"].as_str().unwrap().to_string();
    he.api().set_config("host", "ping.interval", "1");
    he.api().set_config("host", "ping.maxFailure", "1");
    he.api().action(
        &format!("/hosts/{um}/actions"),
        "changeHostState",
        json!({"stateEvent": "maintain"}),
    );
    disconnected.stop();
    he.wait_status(&ud, "Disconnected", Duration::from_secs(10));
    he.env.server.kill();
    disconnected.restart();
    he.env.server.restart();
    // The session survives the restart (it is in the store).
    he.wait_status(&ud, "Connected", Duration::from_secs(20));
    assert_eq!(he.host(&uc)["status"], "Connected");
    assert_eq!(he.host(&um)["state"], "Maintenance");
    // Tracking resumed: the connected host is noticed when it goes away.
    drop(connected);
    he.wait_status(&uc, "Disconnected", Duration::from_secs(10));
}

fn concurrent_reconnects_share_one_run(db: Db) {
    let he = HostEnv::start(db);
    let host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    let logins = |h: &SshdHost| h.log().matches("Accepted password").count();
    let before = logins(&host);
    let path = format!("/hosts/{uuid}/actions");
    let results: Vec<Resp> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6)
            .map(|_| s.spawn(|| he.api().action(&path, "reconnectHost", json!({}))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["inventory"]["status"], "Connected");
    }
    let extra = logins(&host) - before;
    eprintln!("{extra} logins for 6 concurrent reconnects");
    assert!(
        extra <= 3,
        "{extra} logins for 6 concurrent reconnects: they should share runs"
    );
}

fn running_job_reports_its_step(db: Db) {
    let he = HostEnv::start(db);
    let mut host = sshd();
    let uuid = he.add_ok(&host)["uuid"].as_str().unwrap().to_string();
    he.api().set_config("kvm", "testSshPortOpenTimeout", "3");
    host.stop();
    // A reconnect waits for a host that may be rebooting.
    let body = json!({"reconnectHost": {}});
    let r = he.api().send(
        Method::PUT,
        &format!("/zstack/v1/hosts/{uuid}/actions"),
        Some(body),
        &[],
    );
    let loc = r.body["location"]
        .as_str()
        .unwrap()
        .replace(&he.env.server.base, "");
    std::thread::sleep(Duration::from_millis(500));
    let raw = he
        .api()
        .http
        .get(format!("{}{loc}", he.env.server.base))
        .send()
        .unwrap();
    assert_eq!(raw.status().as_u16(), 202);
    assert_eq!(
        raw.headers()
            .get("x-job-step")
            .and_then(|v| v.to_str().ok()),
        Some("wait-for-ssh-port")
    );
    assert_eq!(raw.text().unwrap(), "{}", "the body stays ZStack's");
    let r = he.api().poll(&loc);
    assert_error(&r, 503, "HOST.1002");
    assert_eq!(
        r.body["error"]["cause"]["opaque"]["reason"],
        "HOST.SSH.PORT_CLOSED"
    );
}

// ---------------------------------------------------------------------------------------------
// Non-root users and sudo (docs/hosts.md, "Non-root users and sudo"), with the takeover flag at
// ZStack's default path.

const DEFAULT_FLAG: &str = "/var/run/zstack/takeOver";

/// Fake `smartctl` and `dmidecode` that answer only root: what the host tells through sudo
/// shows in its inventory.
fn root_only_tools() -> FakeFacts {
    let root_only =
        "[ \"$(id -u)\" = 0 ] || { echo 'permission denied: root only' >&2; exit 2; }\n";
    FakeFacts {
        commands: vec![
            (
                "smartctl".into(),
                format!("{root_only}echo 'SMART overall-health self-assessment test result: PASSED'\n"),
            ),
            (
                "dmidecode".into(),
                format!("{root_only}case \"$2\" in system-serial-number) echo HP-SN-4711;; *) echo x;; esac\n"),
            ),
        ],
        ..Default::default()
    }
}

fn login_host(login: Login) -> SshdHost {
    SshdHost::start(SshdOptions {
        login,
        fake: Some(root_only_tools()),
        ..Default::default()
    })
}

/// What the host's root sees at `path` (inside the test host's private /run).
fn on_host(host: &SshdHost, script: &str) -> String {
    String::from_utf8_lossy(&host.host_sh(script).stdout)
        .trim()
        .to_string()
}

/// Samples every process's command line and environment on this machine (the test hosts are
/// namespaces of it) while it runs — `/proc` every few ms and `ps -eo args` in between — and
/// records any that holds one of the secrets.
struct ProcessWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<(Vec<String>, usize, usize)>>,
}

impl ProcessWatch {
    fn start(secrets: Vec<String>) -> ProcessWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut leaks = Vec::new();
            let (mut sudo_seen, mut rounds) = (0, 0);
            let mut check = |what: &str, text: &str| {
                for s in &secrets {
                    if text.contains(s.as_str()) {
                        leaks.push(format!("{what}: {text}"));
                    }
                }
            };
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                rounds += 1;
                for e in std::fs::read_dir("/proc").unwrap().flatten() {
                    let pid = e.file_name();
                    if !pid.to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
                        continue;
                    }
                    let read = |f: &str| {
                        std::fs::read(e.path().join(f))
                            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                            .unwrap_or_default()
                    };
                    let cmdline = read("cmdline");
                    if cmdline.contains("-p hostplane-sudo-password:") {
                        sudo_seen += 1;
                    }
                    check("cmdline", &cmdline);
                    check("environ", &read("environ"));
                }
                if rounds % 10 == 0 {
                    let ps = std::process::Command::new("ps")
                        .args(["-eo", "args"])
                        .output()
                        .unwrap();
                    let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
                    if ps.contains("-p hostplane-sudo-password:") {
                        sudo_seen += 1;
                    }
                    check("ps -eo args", &ps);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            (leaks, sudo_seen, rounds)
        });
        ProcessWatch {
            stop,
            thread: Some(thread),
        }
    }

    /// Stop; the lines that held a secret, and how often a sudo process with hostplane's prompt
    /// was seen.
    fn finish(mut self) -> (Vec<String>, usize) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (leaks, seen, rounds) = self.thread.take().unwrap().join().unwrap();
        eprintln!("process watch: {rounds} samples, a sudo with hostplane's prompt in {seen}");
        (leaks, seen)
    }
}

/// Add, reconnect, ping and delete one host whose login is root or has sudo, the flag at the
/// default path; the facts only root can read arrive.
fn lifecycle_at_default_path(he: &HostEnv, host: &SshdHost, what: &str) {
    let r = he.add(host, json!({}));
    assert_eq!(
        r.status,
        200,
        "{what}: add failed: {}\n{}",
        r.text,
        host.log()
    );
    let inv = &r.body["inventory"];
    let uuid = inv["uuid"].as_str().unwrap().to_string();
    assert_eq!(inv["status"], "Connected", "{what}");
    assert_eq!(
        inv["diskStatus"], "Normal",
        "{what}: SMART through sudo: {inv}"
    );
    assert_eq!(
        he.api().query(&format!(
            "/hosts?q=uuid={uuid}&q=__systemTag__=systemSerialNumber::HP-SN-4711&count=true"
        ))["total"],
        1,
        "{what}: the SMBIOS serial only root can read"
    );
    let flag = format!("cat {DEFAULT_FLAG}; stat -c ' %U' {DEFAULT_FLAG}");
    assert_eq!(
        on_host(host, &flag),
        format!("uuid:{uuid}\n root"),
        "{what}"
    );

    let r = he.api().action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({}),
    );
    assert_eq!(r.status, 200, "{what}: reconnect: {}", r.text);
    assert_eq!(r.body["inventory"]["status"], "Connected");

    // Ping (a login every round here): the tracker refreshes a flag made two minutes old.
    on_host(
        host,
        &format!("touch -d @$(( $(date +%s) - 120 )) {DEFAULT_FLAG}"),
    );
    let age = || -> i64 {
        on_host(
            host,
            &format!("echo $(( $(date +%s) - $(stat -c %Y {DEFAULT_FLAG}) ))"),
        )
        .parse()
        .unwrap()
    };
    let t = Instant::now();
    while age() > 60 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "{what}: no ping refreshed the flag; sshd:\n{}",
            host.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(he.host(&uuid)["status"], "Connected", "{what}");

    assert_eq!(he.api().delete(&format!("/hosts/{uuid}")).status, 200);
    assert_eq!(
        on_host(
            host,
            &format!("test -e {DEFAULT_FLAG} && echo there || echo gone")
        ),
        "gone",
        "{what}: delete removed the flag"
    );
}

/// Root, NOPASSWD sudo, password sudo and the documented narrow rule: each added, reconnected,
/// pinged and deleted with the flag at /var/run/zstack/takeOver; a user without sudo fails at
/// check-sudo with both fixes, and works as before with the flag in its home. Meanwhile no
/// password shows in any process on the machine, nor in the server's log.
fn non_root_users_with_sudo(db: Db) {
    let he = HostEnv::start_with_flag(db, None);
    he.api().set_config("host", "ping.loginEvery", "1");
    he.api().set_config("host", "ping.interval", "1");
    let hosts = [
        ("root", login_host(Login::Root)),
        ("NOPASSWD sudo", login_host(Login::Sudo(Sudo::NoPasswd))),
        ("password sudo", login_host(Login::Sudo(Sudo::Password))),
        (
            "the documented sudoers rule",
            login_host(Login::Sudo(Sudo::Rules(hostplane_ssh::sudoers_rule(
                "{user}",
                DEFAULT_FLAG,
            )))),
        ),
    ];
    let no_sudo = login_host(Login::Sudo(Sudo::None));
    let passwords: Vec<String> = hosts
        .iter()
        .map(|(_, h)| h.password.clone())
        .chain([no_sudo.password.clone()])
        .collect();
    let watch = ProcessWatch::start(passwords.clone());

    for (what, host) in &hosts {
        lifecycle_at_default_path(&he, host, what);
    }

    // A key login has no password to give sudo: only NOPASSWD works, and the error says so.
    let password_sudo = &hosts[2].1;
    let (private, public) = hostplane_testkit::sshd::generate_client_key("ed25519", None);
    password_sudo.add_authorized_key(&public);
    let r = password_sudo_by_key(&he, password_sudo, &private);
    assert_eq!(
        r.body["error"]["opaque"]["step"], "check-sudo",
        "{}",
        r.text
    );
    assert_eq!(
        r.body["error"]["opaque"]["reason"], "HOST.SUDO.PASSWORD_REQUIRED",
        "{}",
        r.text
    );
    assert!(r.body["error"]["opaque"]["hint"]
        .as_str()
        .unwrap()
        .contains("NOPASSWD"));

    // No sudo: refused at check-sudo, nothing written, both fixes named.
    let r = he.add(&no_sudo, json!({}));
    assert_error(&r, 503, "SYS.1006");
    let opaque = &r.body["error"]["opaque"];
    assert_eq!(opaque["step"], "check-sudo", "{}", r.text);
    assert_eq!(opaque["reason"], "HOST.SUDO.NOT_PERMITTED", "{}", r.text);
    let hint = opaque["hint"].as_str().unwrap();
    assert!(
        hint.contains("sudo") && hint.contains("kvm.takeOverFlagPath"),
        "{hint}"
    );
    assert!(
        r.body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("not in the sudoers file"),
        "{}",
        r.text
    );
    assert_eq!(he.host_count(), 0);
    assert!(
        !no_sudo.dir.join("run-upper/zstack").exists(),
        "nothing written under the host's /run"
    );
    // ... and with the flag in its home, as before: add, reconnect, ping, delete.
    he.api()
        .set_config("kvm", "takeOverFlagPath", "~/.hostplane/takeOver");
    let uuid = he.add_ok(&no_sudo)["uuid"].as_str().unwrap().to_string();
    let flag = no_sudo.home.join(".hostplane/takeOver");
    assert_eq!(
        std::fs::read_to_string(&flag).unwrap(),
        format!("uuid:{uuid}\n")
    );
    let r = he.api().action(
        &format!("/hosts/{uuid}/actions"),
        "reconnectHost",
        json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mtime = || std::fs::metadata(&flag).unwrap().modified().unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(&flag)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let t = Instant::now();
    while mtime() <= old + Duration::from_secs(60) {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no ping refreshed the flag"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(he.api().delete(&format!("/hosts/{uuid}")).status, 200);
    assert!(!flag.exists());

    let (leaks, sudo_seen) = watch.finish();
    assert!(
        leaks.is_empty(),
        "a password showed in a process: {leaks:?}"
    );
    assert!(
        sudo_seen > 0,
        "the watch never caught a sudo with hostplane's prompt running"
    );
    let log = he.env.server.log();
    for pw in &passwords {
        assert!(
            !log.contains(pw.as_str()),
            "a password is in the server's log"
        );
    }
}

fn password_sudo_by_key(he: &HostEnv, host: &SshdHost, private: &str) -> Resp {
    he.add(host, json!({"password": "", "privateKey": private}))
}

both_stores!(
    non_root_users_with_sudo,
    concurrent_reconnects_share_one_run,
    running_job_reports_its_step,
    add_reports_this_machines_facts,
    wrong_password_rolls_back,
    closed_port_fails_fast_and_bounded,
    validation_and_duplicates,
    concurrent_adds_of_one_ip_give_one_host,
    host_without_virtualization_is_refused,
    preflight_checks,
    host_key_is_pinned,
    ping_tracks_disconnect_and_recovery,
    ping_probes_between_logins,
    probe_notices_a_replaced_sshd_at_once,
    changed_password_stops_auto_reconnect,
    delete_modes,
    maintain_and_enable,
    updates,
    private_key_login,
    takeover_by_another_server_is_refused,
    restart_with_hosts_in_each_status,
);
