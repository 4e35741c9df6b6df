//! hostplane-ssh's `Session` — the connector the server uses — against simulated hosts: facts
//! parse to the configured values, takeover flags behave as on a real host, and every fault
//! does what the simulator promises. Each test has its own 127.x address block and free ports,
//! so the tests run in parallel.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hostplane_sim::config::{FaultChange, Faults, HostGroup, SimConfig, SimFacts};
use hostplane_sim::Sim;
use hostplane_ssh::{ConnectOptions, Credential, HwStatus, Session, SshError};

fn group(block: u8, count: u32) -> HostGroup {
    HostGroup {
        count,
        base: Ipv4Addr::new(127, 77, block, 1),
        port: 0,
        ..Default::default()
    }
}

async fn start(groups: Vec<HostGroup>) -> Arc<Sim> {
    Arc::new(
        Sim::start(SimConfig {
            groups,
            auth_rejection_ms: 50,
            ..Default::default()
        })
        .await
        .expect("start the simulator"),
    )
}

fn quick() -> ConnectOptions {
    ConnectOptions {
        port_wait: Duration::ZERO,
        tcp_connect_timeout: Duration::from_secs(2),
        auth_timeout: Duration::from_secs(3),
        command_timeout: Duration::from_secs(3),
        fail_fast: false,
        expected_host_key: None,
        source_address: None,
    }
}

async fn login(sim: &Sim, i: usize, opts: &ConnectOptions) -> Result<Session, SshError> {
    let h = &sim.hosts()[i];
    Session::connect(
        &h.ip.to_string(),
        h.port,
        "root",
        &Credential::Password("password".into()),
        opts,
    )
    .await
}

#[tokio::test]
async fn facts_parse_to_the_configured_values() {
    let facts = SimFacts {
        cpu_num: 96,
        sockets: 4,
        memory: "768G".into(),
        os_id: "rocky".into(),
        os_version: "9.3".into(),
        os_release: "Blue Onyx".into(),
        arch: "aarch64".into(),
        virtualization: "svm".into(),
        hostname: Some("rack7-node3".into()),
        ..Default::default()
    };
    let sim = start(vec![HostGroup {
        facts,
        ..group(1, 1)
    }])
    .await;
    let s = login(&sim, 0, &quick()).await.unwrap();
    assert_eq!(
        s.host_key_fingerprint(),
        sim.hosts()[0].host_key_fingerprint()
    );
    let f = s.collect_facts().await.unwrap();
    assert_eq!(f.cpu_num, Some(96));
    assert_eq!(f.cpu_sockets, Some(4));
    assert_eq!(f.mem_total_bytes, Some(768 << 30));
    assert_eq!(f.os_distribution.as_deref(), Some("rocky"));
    assert_eq!(f.os_version.as_deref(), Some("9.3"));
    assert_eq!(f.os_release.as_deref(), Some("Blue Onyx"));
    assert_eq!(f.architecture.as_deref(), Some("aarch64"));
    assert_eq!(f.hvm.as_deref(), Some("svm"));
    assert!(f.ept && f.dev_kvm && f.is_root);
    assert_eq!(f.hostname.as_deref(), Some("rack7-node3"));
    assert_eq!(f.libvirt_version.as_deref(), Some("8.0.0"));
    assert_eq!(f.qemu_version.as_deref(), Some("6.2.0"));
    assert_eq!(f.machine_id.as_ref().map(String::len), Some(32));
    assert!(f.system_serial_number.is_some());
    for (name, c) in [
        ("cpu", &f.hw.cpu),
        ("memory", &f.hw.memory),
        ("disk", &f.hw.disk),
        ("nic", &f.hw.nic),
        ("powerSupply", &f.hw.power_supply),
        ("fan", &f.hw.fan),
        ("raid", &f.hw.raid),
        ("temperature", &f.hw.temperature),
    ] {
        assert_eq!(c.status, HwStatus::Normal, "{name}: {}", c.reason);
    }
    assert_eq!(f.hw.gpu.status, HwStatus::Unknown, "no GPU");
    // Liveness check and an unknown command.
    s.ping().await.unwrap();
    let out = s.exec("uname -a").await.unwrap();
    assert_eq!(out.exit_status, Some(127));
    assert!(out.stderr.contains("not supported"), "{out:?}");
}

#[tokio::test]
async fn no_virtualization_and_extra_lines() {
    let facts = SimFacts {
        virtualization: "none".into(),
        extra: vec!["hw.fan=hwmon1/fan1 0 600 1".into()],
        ..Default::default()
    };
    let sim = start(vec![HostGroup {
        facts,
        ..group(2, 1)
    }])
    .await;
    let f = login(&sim, 0, &quick())
        .await
        .unwrap()
        .collect_facts()
        .await
        .unwrap();
    assert_eq!(f.hvm, None);
    assert!(!f.dev_kvm && !f.ept);
    assert_eq!(f.hw.fan.status, HwStatus::Error, "{}", f.hw.fan.reason);
}

#[tokio::test]
async fn takeover_flags_as_root_and_as_a_user() {
    let sim = start(vec![
        group(3, 1),
        HostGroup {
            username: "bob".into(),
            password: "pw-of-bob".into(),
            ..group(4, 1)
        },
    ])
    .await;
    let root = login(&sim, 0, &quick()).await.unwrap();
    let path = "/var/run/zstack/takeOver";
    assert_eq!(root.read_takeover_flag(path).await.unwrap(), None);
    // Touching a missing flag is exit status 2 (the tracker then writes it again).
    match root
        .touch_takeover_flag(path, Duration::ZERO)
        .await
        .unwrap_err()
    {
        SshError::Command { exit_status, .. } => assert_eq!(exit_status, Some(2)),
        e => panic!("{e:?}"),
    }
    root.write_takeover_flag(path, "abc-123").await.unwrap();
    let flag = root.read_takeover_flag(path).await.unwrap().unwrap();
    assert_eq!(flag.host_uuid.as_deref(), Some("abc-123"));
    assert!(flag.age_secs <= 1);
    sim.hosts()[0].put_flag(path, "uuid:abc-123\n", 500);
    assert_eq!(
        root.read_takeover_flag(path)
            .await
            .unwrap()
            .unwrap()
            .age_secs,
        500
    );
    root.touch_takeover_flag(path, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        root.read_takeover_flag(path)
            .await
            .unwrap()
            .unwrap()
            .age_secs
            <= 1
    );
    // Touched ahead: the simulated file's mtime lies in the future, as `touch -d @...` sets it.
    root.touch_takeover_flag(path, Duration::from_secs(240))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mtime = sim.hosts()[0].flag(path).unwrap().mtime;
    assert!((now + 238..=now + 241).contains(&mtime), "{mtime} vs {now}");
    assert!(!root.remove_takeover_flag(path, "another").await.unwrap());
    assert!(root.remove_takeover_flag(path, "abc-123").await.unwrap());
    assert!(!root.remove_takeover_flag(path, "abc-123").await.unwrap());
    assert_eq!(root.read_takeover_flag(path).await.unwrap(), None);

    let h = &sim.hosts()[1];
    let bob = Session::connect(
        &h.ip.to_string(),
        h.port,
        "bob",
        &Credential::Password("pw-of-bob".into()),
        &quick(),
    )
    .await
    .unwrap();
    assert!(!bob.collect_facts().await.unwrap().is_root);
    // Under /var/run bob would need sudo, which a simulated host lacks, as a real one may.
    match bob.write_takeover_flag(path, "u1").await.unwrap_err() {
        SshError::Sudo {
            problem, username, ..
        } => {
            assert_eq!(problem, hostplane_ssh::SudoProblem::NotInstalled);
            assert_eq!(username, "bob");
        }
        e => panic!("{e:?}"),
    }
    bob.write_takeover_flag("~/.hostplane/takeOver", "u1")
        .await
        .unwrap();
    assert_eq!(
        h.flag("/home/bob/.hostplane/takeOver").unwrap().content,
        "uuid:u1\n"
    );
    let flag = bob
        .read_takeover_flag("~/.hostplane/takeOver")
        .await
        .unwrap();
    assert_eq!(flag.unwrap().host_uuid.as_deref(), Some("u1"));
}

#[tokio::test]
async fn refused_and_wrong_logins() {
    let sim = start(vec![HostGroup {
        faults: Faults {
            refuse_auth: true,
            ..Default::default()
        },
        ..group(5, 1)
    }])
    .await;
    let e = login(&sim, 0, &quick()).await.unwrap_err();
    assert!(matches!(e, SshError::AuthFailed { .. }), "{e:?}");
    sim.hosts()[0].apply(&FaultChange {
        refuse_auth: Some(false),
        ..Default::default()
    });
    login(&sim, 0, &quick()).await.unwrap();
    let h = &sim.hosts()[0];
    let e = Session::connect(
        &h.ip.to_string(),
        h.port,
        "root",
        &Credential::Password("wrong".into()),
        &quick(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SshError::AuthFailed { .. }), "{e:?}");
}

#[tokio::test]
async fn down_and_up_again() {
    let sim = start(vec![group(6, 2)]).await;
    let s = login(&sim, 0, &quick()).await.unwrap();
    s.write_takeover_flag("/var/run/zstack/takeOver", "x")
        .await
        .unwrap();
    let other = login(&sim, 1, &quick()).await.unwrap();
    sim.hosts()[0].set_down(true);
    // The open session is cut: the next ping fails at once, not after the timeout.
    let t = Instant::now();
    let e = s.ping().await.unwrap_err();
    assert!(matches!(e, SshError::Protocol(_)), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    let e = login(&sim, 0, &quick()).await.unwrap_err();
    assert!(matches!(e, SshError::PortClosed { .. }), "{e:?}");
    // The other host is not affected.
    other.ping().await.unwrap();
    sim.hosts()[0].set_down(false);
    let s = login(&sim, 0, &quick()).await.unwrap();
    assert!(
        s.read_takeover_flag("/var/run/zstack/takeOver")
            .await
            .unwrap()
            .is_some(),
        "flags survive down/up"
    );
    sim.hosts()[0].apply(&FaultChange {
        clear_flags: true,
        ..Default::default()
    });
    assert!(s
        .read_takeover_flag("/var/run/zstack/takeOver")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn hang_times_out_and_recovers() {
    let sim = start(vec![group(7, 1)]).await;
    let s = login(&sim, 0, &quick()).await.unwrap();
    sim.hosts()[0].apply(&FaultChange {
        hang: Some(true),
        ..Default::default()
    });
    let opts = ConnectOptions {
        auth_timeout: Duration::from_millis(500),
        ..quick()
    };
    let e = login(&sim, 0, &opts).await.unwrap_err();
    assert_eq!(e, SshError::Timeout { stage: "handshake" });
    let short = Session::exec_bounded(&s, "true", Duration::from_millis(400), "ping").await;
    assert_eq!(short.unwrap_err(), SshError::Timeout { stage: "ping" });
    sim.hosts()[0].apply(&FaultChange {
        hang: Some(false),
        ..Default::default()
    });
    s.ping().await.unwrap();
    login(&sim, 0, &quick()).await.unwrap();
}

#[tokio::test]
async fn drop_cuts_connections_at_the_first_command() {
    let sim = start(vec![group(8, 1)]).await;
    let old = login(&sim, 0, &quick()).await.unwrap();
    sim.hosts()[0].apply(&FaultChange {
        drop: Some(true),
        ..Default::default()
    });
    assert!(old.ping().await.is_err(), "the open connection was cut");
    let s = login(&sim, 0, &quick()).await.expect("logins still work");
    let e = s.collect_facts().await.unwrap_err();
    assert!(matches!(e, SshError::Protocol(_)), "{e:?}");
    sim.hosts()[0].apply(&FaultChange {
        drop: Some(false),
        ..Default::default()
    });
    login(&sim, 0, &quick())
        .await
        .unwrap()
        .collect_facts()
        .await
        .unwrap();
}

#[tokio::test]
async fn slow_answers() {
    let sim = start(vec![HostGroup {
        faults: Faults {
            slow_ms: 300,
            ..Default::default()
        },
        ..group(9, 1)
    }])
    .await;
    let t = Instant::now();
    let s = login(&sim, 0, &quick()).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "login is slow too"
    );
    let t = Instant::now();
    s.ping().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    let short = s
        .exec_bounded("true", Duration::from_millis(100), "ping")
        .await;
    assert_eq!(short.unwrap_err(), SshError::Timeout { stage: "ping" });
}

#[tokio::test]
async fn a_new_host_key_breaks_the_pin() {
    let sim = start(vec![group(10, 1)]).await;
    let h = sim.hosts()[0].clone();
    let pin = h.host_key_fingerprint();
    let pinned = ConnectOptions {
        expected_host_key: Some(pin.clone()),
        ..quick()
    };
    let s = login(&sim, 0, &pinned).await.unwrap();
    h.apply(&FaultChange {
        rotate_key: true,
        ..Default::default()
    });
    assert_ne!(h.host_key_fingerprint(), pin);
    match login(&sim, 0, &pinned).await.unwrap_err() {
        SshError::HostKeyMismatch { expected, actual } => {
            assert_eq!(expected, pin);
            assert_eq!(actual, h.host_key_fingerprint());
        }
        e => panic!("{e:?}"),
    }
    s.ping().await.expect("an open session keeps its key");
    // Keys are derived from the seed: a second simulator with the same seed shows the same key.
    drop(s);
    drop(sim);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = start(vec![HostGroup {
        port: h.port,
        ..group(10, 1)
    }])
    .await;
    assert_eq!(again.hosts()[0].host_key_fingerprint(), pin);
}

#[tokio::test]
async fn the_control_interface_switches_faults() {
    let sim = start(vec![group(11, 5)]).await;
    let ctl = sim
        .serve_control("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (status, body) = http(ctl, "POST", "/hosts/1-2,127.77.11.5", r#"{"down":true}"#).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"changed\":3"), "{body}");
    let down: Vec<bool> = sim.hosts().iter().map(|h| h.faults().down).collect();
    assert_eq!(down, [false, true, true, false, true]);
    let (_, stats) = http(ctl, "GET", "/stats", "").await;
    assert!(stats.contains("\"up\":2"), "{stats}");
    let (status, _) = http(ctl, "POST", "/hosts/all", r#"{"dwn":true}"#).await;
    assert_eq!(status, 400);
    let (status, _) = http(ctl, "GET", "/hosts/99", "").await;
    assert_eq!(status, 404);
    let (status, body) = http(ctl, "GET", "/hosts/1", "").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("\"down\":true") && body.contains("hostKeyFingerprint"),
        "{body}"
    );
}

/// A client that binds its connections to a source address is counted under that address:
/// logins and probes separately, over the library and the control interface.
#[tokio::test]
async fn contacts_are_counted_per_client_address() {
    let sim = start(vec![group(13, 2)]).await;
    let ctl = sim
        .serve_control("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (a, b): (std::net::IpAddr, std::net::IpAddr) = (
        "127.0.13.201".parse().unwrap(),
        "127.0.13.202".parse().unwrap(),
    );
    let from = |ip| ConnectOptions {
        source_address: Some(ip),
        ..quick()
    };
    let h = &sim.hosts()[0];
    for _ in 0..2 {
        login(&sim, 0, &from(a)).await.unwrap().close().await;
    }
    let line =
        hostplane_ssh::read_banner_from(&h.ip.to_string(), h.port, Duration::from_secs(3), Some(b))
            .await
            .unwrap();
    assert!(line.starts_with("SSH-2.0-"), "{line}");
    let peers = h.peers();
    assert_eq!(peers.len(), 2, "{peers:?}");
    assert_eq!((peers[&a].connections, peers[&a].logins), (2, 2));
    assert_eq!((peers[&b].connections, peers[&b].logins), (1, 0));
    assert!(peers[&a].first_ms <= peers[&a].last_ms);
    assert!(sim.hosts()[1].peers().is_empty());

    let (status, body) = http(ctl, "GET", "/peers/0", "").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["peers"]["127.0.13.201"]["logins"], 2, "{body}");
    assert_eq!(v[0]["peers"]["127.0.13.202"]["connections"], 1, "{body}");
    let (status, _) = http(ctl, "DELETE", "/peers", "").await;
    assert_eq!(status, 200);
    assert!(h.peers().is_empty());
}

#[tokio::test]
async fn one_process_serves_many_hosts() {
    let n = 300;
    let sim = start(vec![group(12, n)]).await;
    let t = Instant::now();
    let mut tasks = Vec::new();
    // Debug builds do the key exchanges slowly; the bounds are for a loaded 2-core machine.
    let opts = ConnectOptions {
        auth_timeout: Duration::from_secs(60),
        command_timeout: Duration::from_secs(60),
        ..quick()
    };
    for i in 0..n as usize {
        let (sim, opts) = (sim.clone(), opts.clone());
        tasks.push(tokio::spawn(async move {
            let s = login(&sim, i, &opts).await?;
            let f = s.collect_facts().await?;
            s.write_takeover_flag("/var/run/zstack/takeOver", &format!("h{i}"))
                .await?;
            Ok::<_, SshError>((s, f))
        }));
    }
    let mut sessions = Vec::new();
    for t in tasks {
        let (s, f) = t.await.unwrap().unwrap();
        assert_eq!(f.cpu_num, Some(32));
        sessions.push(s);
    }
    assert_eq!(sim.stats().connections, n as usize);
    eprintln!("{n} hosts connected and collected in {:?}", t.elapsed());
    for s in &sessions {
        s.touch_takeover_flag("/var/run/zstack/takeOver", Duration::ZERO)
            .await
            .unwrap();
    }
}

/// A bare HTTP/1.1 request (no client crate needed): (status, body).
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
