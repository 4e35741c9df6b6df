//! hostplane-ssh against real OpenSSH sshd test hosts (hostplane-testkit::sshd). No mocks.
//! Needs root and openssh-server; every test starts its own host, so they run in parallel.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hostplane_ssh::{
    fetch_host_key, sudoers_rule, ConnectOptions, Credential, HwStatus, Privilege, Session,
    SshError, SudoProblem,
};
use hostplane_testkit::sshd::{generate_client_key, FakeFacts, Login, SshdHost, SshdOptions, Sudo};

fn opts() -> ConnectOptions {
    ConnectOptions {
        port_wait: Duration::from_secs(3),
        tcp_connect_timeout: Duration::from_secs(2),
        auth_timeout: Duration::from_secs(20),
        command_timeout: Duration::from_secs(20),
        fail_fast: false,
        expected_host_key: None,
        source_address: None,
    }
}

fn pw(host: &SshdHost) -> Credential {
    Credential::Password(host.password.clone())
}

async fn login(host: &SshdHost) -> Session {
    Session::connect(&host.ip, host.port, &host.user, &pw(host), &opts())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "login to {}:{} failed: {e:?}\n{}",
                host.ip,
                host.port,
                host.log()
            )
        })
}

fn local(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn os_release_field(key: &str) -> Option<String> {
    std::fs::read_to_string("/etc/os-release")
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}="))
                .map(|v| v.trim_matches('"').to_string())
        })
}

fn local_mem_total_bytes() -> i64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: i64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

#[tokio::test]
async fn password_login_and_facts_match_this_machine() {
    let host = SshdHost::start(SshdOptions::default());
    let t = Instant::now();
    let s = login(&host).await;
    let connect_ms = t.elapsed().as_millis();
    assert_eq!(s.host_key_fingerprint(), host.host_key_fingerprint);
    let pub_line = std::fs::read_to_string(host.dir.join("hostkey.pub")).unwrap();
    let expected: Vec<&str> = pub_line.split_whitespace().take(2).collect();
    assert_eq!(s.host_key_openssh(), expected.join(" "));

    let t = Instant::now();
    let f = s.collect_facts().await.expect("facts");
    let facts_ms = t.elapsed().as_millis();
    eprintln!("connect+auth {connect_ms} ms, collect_facts {facts_ms} ms");

    assert_eq!(f.cpu_num, Some(local("nproc", &[]).parse().unwrap()));
    assert_eq!(f.mem_total_bytes, Some(local_mem_total_bytes()));
    assert_eq!(
        f.architecture.as_deref(),
        Some(local("uname", &["-m"]).as_str())
    );
    assert_eq!(f.kernel.as_deref(), Some(local("uname", &["-r"]).as_str()));
    assert_eq!(f.hostname.as_deref(), Some(local("hostname", &[]).as_str()));
    assert_eq!(f.os_distribution, os_release_field("ID"));
    assert_eq!(f.os_version, os_release_field("VERSION_ID"));
    if let Some(codename) = os_release_field("VERSION_CODENAME") {
        assert_eq!(f.os_release, Some(codename));
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let has = |w: &str| flags.split_whitespace().any(|f| f == w);
    let hvm = if has("vmx") {
        Some("vmx".to_string())
    } else if has("svm") {
        Some("svm".to_string())
    } else {
        None
    };
    assert_eq!(f.hvm, hvm);
    assert_eq!(f.dev_kvm, std::path::Path::new("/dev/kvm").exists());
    assert_eq!(
        f.machine_id.as_deref(),
        std::fs::read_to_string("/etc/machine-id")
            .ok()
            .as_deref()
            .map(str::trim)
    );
    assert!(!f.is_root);
    assert!(f.cpu_sockets.is_some_and(|n| n >= 1));
    assert!(f.cpu_model.is_some());
    // This machine: all CPUs online, eth0 up with carrier, no EDAC/hwmon/md.
    assert_eq!(f.hw.cpu.status, HwStatus::Normal, "{:?}", f.hw.cpu);
    assert_eq!(f.hw.memory.status, HwStatus::Unknown, "{:?}", f.hw.memory);
    assert_eq!(f.hw.raid.status, HwStatus::Unknown, "{:?}", f.hw.raid);
    assert_eq!(f.hw.fan.status, HwStatus::Unknown, "{:?}", f.hw.fan);

    // The session is reusable; time a few more collections.
    let t = Instant::now();
    for _ in 0..5 {
        s.collect_facts().await.unwrap();
    }
    eprintln!(
        "collect_facts x5 on one session: {} ms",
        t.elapsed().as_millis()
    );
    s.close().await;
}

#[tokio::test]
async fn exec_collects_stdout_stderr_and_exit_status_concurrently() {
    let host = SshdHost::start(SshdOptions::default());
    let s = login(&host).await;
    let out = s.exec("echo out; echo err >&2; exit 3").await.unwrap();
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert_eq!(out.exit_status, Some(3));
    let out = s.exec("id -un").await.unwrap();
    assert_eq!(out.stdout.trim(), host.user);

    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.exec(&format!("echo {i}")).await },
        ));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap().stdout.trim(), i.to_string());
    }

    // command_timeout bounds a hung command.
    let short = ConnectOptions {
        command_timeout: Duration::from_secs(1),
        ..opts()
    };
    let s2 = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &short)
        .await
        .unwrap();
    let t = Instant::now();
    let e = s2.exec("sleep 30").await.unwrap_err();
    assert_eq!(e, SshError::Timeout { stage: "command" });
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // The timed-out command was killed on the host, not left running.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !local("pgrep", &["-u", &host.user, "-x", "sleep"]).is_empty() {
        assert!(Instant::now() < deadline, "sleep still running on the host");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The session still works after a timed-out command.
    assert!(s2.exec("true").await.unwrap().success());
}

#[tokio::test]
async fn wrong_password_is_auth_failed_in_bounded_time() {
    let host = SshdHost::start(SshdOptions::default());
    let t = Instant::now();
    let e = Session::connect(
        &host.ip,
        host.port,
        &host.user,
        &Credential::Password("not-the-password".into()),
        &opts(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        SshError::AuthFailed {
            username: host.user.clone()
        }
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(!format!("{e} {e:?}").contains("not-the-password"));
}

#[tokio::test]
async fn changed_password_is_rejected_and_new_one_accepted() {
    let host = SshdHost::start(SshdOptions::default());
    host.set_password("Changed-Pw-42");
    let e = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &opts())
        .await
        .unwrap_err();
    assert!(matches!(e, SshError::AuthFailed { .. }), "{e:?}");
    let s = Session::connect(
        &host.ip,
        host.port,
        &host.user,
        &Credential::Password("Changed-Pw-42".into()),
        &opts(),
    )
    .await
    .unwrap();
    s.ping().await.unwrap();
}

#[tokio::test]
async fn closed_port_is_port_closed_after_port_wait() {
    let mut host = SshdHost::start(SshdOptions::default());
    host.stop();
    let t = Instant::now();
    let e = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &opts())
        .await
        .unwrap_err();
    let took = t.elapsed();
    match &e {
        SshError::PortClosed {
            host: h,
            port,
            waited,
        } => {
            assert_eq!((h.as_str(), *port), (host.ip.as_str(), host.port));
            assert!(*waited >= Duration::from_secs(3));
        }
        other => panic!("expected PortClosed, got {other:?}"),
    }
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(!e.hint().is_empty());

    // The port comes back: the same wait succeeds once sshd listens again.
    host.restart();
    login(&host).await.ping().await.unwrap();
}

#[tokio::test]
async fn host_key_pin_matches_then_mismatches_after_regeneration() {
    let mut host = SshdHost::start(SshdOptions::default());
    let (fp, line) = fetch_host_key(&host.ip, host.port, &opts()).await.unwrap();
    assert_eq!(fp, host.host_key_fingerprint);
    assert!(line.starts_with("ssh-ed25519 "), "{line}");

    let pinned = ConnectOptions {
        expected_host_key: Some(fp.clone()),
        ..opts()
    };
    let s = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &pinned)
        .await
        .unwrap();
    s.close().await;

    let old = host.host_key_fingerprint.clone();
    host.regenerate_host_key();
    assert_ne!(old, host.host_key_fingerprint);
    let log_before = host.log();
    let e = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &pinned)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SshError::HostKeyMismatch {
            expected: old,
            actual: host.host_key_fingerprint.clone()
        }
    );
    // No credential reached the impostor: sshd logged no login attempt.
    std::thread::sleep(Duration::from_millis(200));
    let new_log = host.log()[log_before.len()..].to_string();
    assert!(
        !new_log.contains("password for") && !new_log.contains("Accepted"),
        "{new_log}"
    );
    // Re-pin: fetch the new key and log in with it.
    let (new_fp, _) = fetch_host_key(&host.ip, host.port, &opts()).await.unwrap();
    assert_eq!(new_fp, host.host_key_fingerprint);
    let repinned = ConnectOptions {
        expected_host_key: Some(new_fp),
        ..opts()
    };
    Session::connect(&host.ip, host.port, &host.user, &pw(&host), &repinned)
        .await
        .unwrap();
}

#[tokio::test]
async fn private_key_auth() {
    let host = SshdHost::start(SshdOptions::default());
    let (ed, ed_pub) = generate_client_key("ed25519", None);
    let (rsa, rsa_pub) = generate_client_key("rsa", None);
    let (enc, enc_pub) = generate_client_key("ed25519", Some("s3cret phrase"));
    host.add_authorized_key(&ed_pub);
    host.add_authorized_key(&rsa_pub);
    host.add_authorized_key(&enc_pub);

    for (name, cred) in [
        (
            "ed25519",
            Credential::PrivateKey {
                pem: ed.clone(),
                passphrase: None,
            },
        ),
        (
            "rsa",
            Credential::PrivateKey {
                pem: rsa,
                passphrase: None,
            },
        ),
        (
            "encrypted ed25519",
            Credential::PrivateKey {
                pem: enc.clone(),
                passphrase: Some("s3cret phrase".into()),
            },
        ),
    ] {
        let s = Session::connect(&host.ip, host.port, &host.user, &cred, &opts())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}\n{}", host.log()));
        assert_eq!(
            s.exec("id -un").await.unwrap().stdout.trim(),
            host.user,
            "{name}"
        );
    }

    // Encrypted key without its passphrase, or garbage: BadKey, and the key is not echoed.
    let e = Session::connect(
        &host.ip,
        host.port,
        &host.user,
        &Credential::PrivateKey {
            pem: enc,
            passphrase: None,
        },
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SshError::BadKey(_)), "{e:?}");
    let e = Session::connect(
        &host.ip,
        host.port,
        &host.user,
        &Credential::PrivateKey {
            pem: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretgarbage\n-----END OPENSSH PRIVATE KEY-----\n".into(),
            passphrase: None,
        },
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SshError::BadKey(_)), "{e:?}");
    assert!(!e.to_string().contains("secretgarbage"), "{e}");

    // A key the host does not know: AuthFailed.
    let (other, _) = generate_client_key("ed25519", None);
    let e = Session::connect(
        &host.ip,
        host.port,
        &host.user,
        &Credential::PrivateKey {
            pem: other,
            passphrase: None,
        },
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SshError::AuthFailed { .. }), "{e:?}");
}

#[tokio::test]
async fn fake_host_without_virtualization() {
    let host = SshdHost::start(SshdOptions {
        fake: Some(FakeFacts {
            hide_virtualization: true,
            mem_total_kb: Some(8 * 1024 * 1024),
            os_release: Some(
                "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n"
                    .into(),
            ),
            hostname: Some("kvm-fake-1".into()),
            arch: Some("aarch64".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let s = login(&host).await;
    let f = s.collect_facts().await.unwrap();
    assert_eq!(f.hvm, None);
    assert!(!f.ept);
    assert!(!f.dev_kvm, "/dev/kvm must be hidden: {f:?}");
    assert_eq!(f.mem_total_bytes, Some(8 * 1024 * 1024 * 1024));
    assert_eq!(f.os_distribution.as_deref(), Some("rocky"));
    assert_eq!(f.os_version.as_deref(), Some("9.3"));
    assert_eq!(f.os_release.as_deref(), Some("Blue Onyx"));
    assert_eq!(f.hostname.as_deref(), Some("kvm-fake-1"));
    assert_eq!(f.architecture.as_deref(), Some("aarch64"));
    // uname without -m still runs the real one.
    assert_eq!(f.kernel.as_deref(), Some(local("uname", &["-r"]).as_str()));
    // The rest of /dev still works inside.
    let out = s
        .exec("echo x >/dev/null && head -c 4 /dev/urandom | wc -c")
        .await
        .unwrap();
    assert_eq!(out.stdout.trim(), "4", "{out:?}");

    // Nothing leaked to this machine.
    assert_eq!(
        local("hostname", &[]),
        local("cat", &["/proc/sys/kernel/hostname"])
    );
    assert_ne!(local("hostname", &[]), "kvm-fake-1");
    assert_eq!(local("uname", &["-m"]), std::env::consts::ARCH);
}

#[tokio::test]
async fn fake_host_with_vmx() {
    let host = SshdHost::start(SshdOptions {
        fake: Some(FakeFacts {
            add_vmx: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    let f = login(&host).await.collect_facts().await.unwrap();
    assert_eq!(f.hvm.as_deref(), Some("vmx"));
    assert!(f.ept);
    assert_eq!(f.dev_kvm, std::path::Path::new("/dev/kvm").exists());
}

/// Hardware readings come from a fake sysfs laid over the real one, and are judged as Error.
#[tokio::test]
async fn fake_sysfs_hardware_is_judged() {
    let n = std::process::id();
    let root = std::env::temp_dir().join(format!("hostplane-ssh-test-hw-{n}"));
    let _ = std::fs::remove_dir_all(&root);
    let w = |p: &str, v: &str| {
        let path: PathBuf = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("{v}\n")).unwrap();
    };
    w("class/hwmon/hwmon0/fan1_input", "0");
    w("class/hwmon/hwmon0/fan1_min", "600");
    w("class/hwmon/hwmon0/temp1_input", "45000");
    w("class/hwmon/hwmon0/temp1_crit_alarm", "0");
    w("class/thermal/thermal_zone0/temp", "101000");
    w("class/thermal/thermal_zone0/trip_point_0_type", "critical");
    w("class/thermal/thermal_zone0/trip_point_0_temp", "100000");
    w("class/power_supply/AC/type", "Mains");
    w("class/power_supply/AC/online", "0");
    w("system/edac/mc/mc0/ue_count", "1");
    w("system/cpu/present", "0-3");
    w("system/cpu/online", "0-1");

    let host = SshdHost::start(SshdOptions {
        fake: Some(FakeFacts {
            overlays: vec![
                ("/sys/class".into(), root.join("class")),
                ("/sys/devices/system".into(), root.join("system")),
            ],
            // smartctl installed: the non-root user is told it needs root.
            commands: vec![("smartctl".into(), "echo fake smartctl\n".into())],
            ..Default::default()
        }),
        ..Default::default()
    });
    let f = login(&host).await.collect_facts().await.unwrap();
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(f.hw.fan.status, HwStatus::Error, "{:?}", f.hw.fan);
    assert_eq!(f.hw.fan.reason, "hwmon0/fan1 reads 0 rpm (min 600)");
    assert_eq!(
        f.hw.temperature.status,
        HwStatus::Error,
        "{:?}",
        f.hw.temperature
    );
    assert_eq!(
        f.hw.power_supply.status,
        HwStatus::Error,
        "{:?}",
        f.hw.power_supply
    );
    assert_eq!(f.hw.memory.status, HwStatus::Error, "{:?}", f.hw.memory);
    assert_eq!(f.hw.cpu.status, HwStatus::Error, "{:?}", f.hw.cpu);
    assert_eq!(
        f.hw.cpu.reason,
        "CPUs 2-3 present but offline (present=0-3, online=0-1)"
    );
    // The real NICs are still visible through the overlay.
    assert_eq!(f.hw.nic.status, HwStatus::Normal, "{:?}", f.hw.nic);
    assert!(
        f.needs_root.contains(&"hw.smart".to_string()),
        "{:?}",
        f.needs_root
    );
}

#[tokio::test]
async fn takeover_flag_lifecycle() {
    let host = SshdHost::start(SshdOptions::default());
    let s = login(&host).await;
    let dir = format!("/tmp/hostplane-takeover-{}", host.user);
    let path = format!("{dir}/zstack dir/takeOver");

    assert_eq!(s.read_takeover_flag(&path).await.unwrap(), None);
    s.write_takeover_flag(&path, "7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b")
        .await
        .unwrap();
    let flag = s.read_takeover_flag(&path).await.unwrap().unwrap();
    assert_eq!(
        flag.host_uuid.as_deref(),
        Some("7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b")
    );
    assert!(flag.age_secs <= 2, "{flag:?}");
    let content = std::fs::read_to_string(&path).unwrap();
    assert_eq!(content, "uuid:7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b\n");

    // Age it by two minutes on the host, then read, touch, read.
    s.exec(&format!(
        "touch -d '@'$(( $(date +%s) - 120 )) {}",
        hostplane_ssh::sh_quote(&path)
    ))
    .await
    .unwrap();
    let flag = s.read_takeover_flag(&path).await.unwrap().unwrap();
    assert!((119..=125).contains(&flag.age_secs), "{flag:?}");
    s.touch_takeover_flag(&path, Duration::ZERO).await.unwrap();
    let flag = s.read_takeover_flag(&path).await.unwrap().unwrap();
    assert!(flag.age_secs <= 2, "{flag:?}");
    // Touched ahead (the tracker between two logins): the mtime is in the host's future.
    s.touch_takeover_flag(&path, Duration::from_secs(240))
        .await
        .unwrap();
    let ahead = s
        .exec(&format!(
            "echo $(( $(stat -c %Y {}) - $(date +%s) ))",
            hostplane_ssh::sh_quote(&path)
        ))
        .await
        .unwrap();
    let ahead: i64 = ahead.stdout.trim().parse().unwrap();
    assert!((237..=240).contains(&ahead), "{ahead}");
    let flag = s.read_takeover_flag(&path).await.unwrap().unwrap();
    assert_eq!(flag.age_secs, 0, "a flag from the future is fresh");

    // A flag written by someone else with other content.
    // (Its age is a second or two when the write and the read straddle a second boundary.)
    std::fs::write(&path, "garbage").unwrap();
    let flag = s.read_takeover_flag(&path).await.unwrap().unwrap();
    assert_eq!(flag.host_uuid, None, "{flag:?}");
    assert!(flag.age_secs <= 2, "{flag:?}");

    // Only a flag that names the host is removed.
    assert!(!s
        .remove_takeover_flag(&path, "7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b")
        .await
        .unwrap());
    std::fs::write(&path, "uuid:7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b\n").unwrap();
    assert!(!s.remove_takeover_flag(&path, "another").await.unwrap());
    assert!(s
        .remove_takeover_flag(&path, "7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b")
        .await
        .unwrap());
    assert_eq!(s.read_takeover_flag(&path).await.unwrap(), None);
    assert!(!s
        .remove_takeover_flag(&path, "7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b")
        .await
        .unwrap());
    let e = s
        .touch_takeover_flag(&path, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SshError::Command { exit_status: Some(2), stderr_tail, .. } if stderr_tail.contains("does not exist")),
        "{e:?}"
    );

    // Under /run the (non-root) user needs sudo, which it may not use: the error says so.
    let e = s
        .write_takeover_flag(
            &format!("/run/hostplane-noaccess-{}/takeOver", host.user),
            "u",
        )
        .await
        .unwrap_err();
    match &e {
        SshError::Sudo {
            problem, username, ..
        } => {
            assert_eq!(*problem, SudoProblem::NotPermitted, "{e}");
            assert_eq!(username, &host.user);
        }
        other => panic!("{other:?}"),
    }
    assert!(!std::path::Path::new(&format!("/run/hostplane-noaccess-{}", host.user)).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn ping_on_live_session_then_fails_after_stop() {
    let mut host = SshdHost::start(SshdOptions::default());
    let quick = ConnectOptions {
        command_timeout: Duration::from_secs(5),
        ..opts()
    };
    let s = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &quick)
        .await
        .unwrap();
    let t = Instant::now();
    s.ping().await.unwrap();
    eprintln!("ping on a live session: {} ms", t.elapsed().as_millis());

    host.stop();
    let t = Instant::now();
    let e = s.ping().await.unwrap_err();
    let took = t.elapsed();
    assert!(
        matches!(e, SshError::Protocol(_) | SshError::Timeout { .. }),
        "{e:?}"
    );
    assert!(took <= Duration::from_millis(5500), "{took:?}");
    eprintln!("ping after stop failed in {} ms: {e}", took.as_millis());

    // Reconnect after the host is back.
    host.restart();
    let s = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &quick)
        .await
        .unwrap();
    s.ping().await.unwrap();
}

#[tokio::test]
async fn probe_reads_sshd_identification_without_a_login_or_a_scanner_mark() {
    let host = SshdHost::start(SshdOptions::default());
    // What sshd logged before the probes (the test kit's own readiness check among it).
    let before = host.log().len();
    let line = hostplane_ssh::read_banner(&host.ip, host.port, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(line.starts_with("SSH-2.0-OpenSSH_"), "{line}");
    // The same line every time: what the tracker compares between two probes.
    let again = hostplane_ssh::read_banner(&host.ip, host.port, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(line, again);
    // sshd saw, per probe, a client that identified itself and left before authenticating
    // ("Connection closed|reset by ... [preauth]"): no login. A client that leaves without
    // identifying itself (like the test kit's port check) is logged without [preauth], after
    // the "kex_exchange_identification" line port scanners leave.
    let deadline = Instant::now() + Duration::from_secs(5);
    let preauth = |log: &str| log.lines().filter(|l| l.ends_with("[preauth]")).count();
    while preauth(&host.log()[before..]) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = host.log()[before..].to_string();
    assert_eq!(preauth(&log), 2, "{log}");
    assert!(!log.contains("Accepted"), "{log}");

    let mut host = host;
    host.stop();
    let e = hostplane_ssh::read_banner(&host.ip, host.port, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(e, SshError::PortClosed { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Non-root users and sudo: the takeover flag at its default path, the root-only facts.

const FLAG: &str = "/var/run/zstack/takeOver";
const UUID: &str = "7f3c9a2e5b1d4c8e9a0b1c2d3e4f5a6b";

/// Fake `smartctl` and `dmidecode` that answer only root, as the real ones do on a host with
/// SMART disks and no sysfs DMI: what a login gets through sudo shows in the facts.
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
                format!("{root_only}case \"$2\" in system-serial-number) echo HP-SN-4711;; system-manufacturer) echo Hostplane Test;; *) echo x;; esac\n"),
            ),
        ],
        ..Default::default()
    }
}

fn host_with(login: Login) -> SshdHost {
    SshdHost::start(SshdOptions {
        login,
        fake: Some(root_only_tools()),
        ..Default::default()
    })
}

fn on_host(host: &SshdHost, script: &str) -> String {
    let out = host.host_sh(script);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The flag's life at its default path, and the root-only facts, for a login that is root or
/// has sudo (NOPASSWD, password, or only the documented narrow rule).
async fn flag_and_facts_as(host: &SshdHost, s: &Session, expected: Privilege) {
    let access = s
        .check_access(FLAG)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    assert_eq!(access.privilege, expected);
    assert_eq!(access.flag, Ok(None));

    s.write_takeover_flag(FLAG, UUID).await.unwrap();
    assert_eq!(
        on_host(host, &format!("cat {FLAG}")),
        format!("uuid:{UUID}")
    );
    // Written into the test host's private /run, not the machine's.
    assert!(host.dir.join("run-upper/zstack/takeOver").exists());
    assert_eq!(
        on_host(host, &format!("stat -c '%U %a' {FLAG}")),
        "root 644"
    );
    let flag = s.read_takeover_flag(FLAG).await.unwrap().unwrap();
    assert_eq!(flag.host_uuid.as_deref(), Some(UUID));
    s.touch_takeover_flag(FLAG, Duration::from_secs(240))
        .await
        .unwrap();
    let ahead: i64 = on_host(
        host,
        &format!("echo $(( $(stat -c %Y {FLAG}) - $(date +%s) ))"),
    )
    .parse()
    .unwrap();
    assert!((237..=240).contains(&ahead), "{ahead}");
    assert!(!s.remove_takeover_flag(FLAG, "someone-else").await.unwrap());
    assert!(s.remove_takeover_flag(FLAG, UUID).await.unwrap());
    assert_eq!(
        on_host(host, &format!("test -e {FLAG} && echo there || echo gone")),
        "gone"
    );
    // Gone: a touch says so (exit status 2), so the tracker writes it again.
    match s
        .touch_takeover_flag(FLAG, Duration::ZERO)
        .await
        .unwrap_err()
    {
        SshError::Command { exit_status, .. } => assert_eq!(exit_status, Some(2)),
        e => panic!("{e:?}"),
    }

    let f = s.collect_facts_with(&access).await.unwrap();
    assert_eq!(f.root_facts_error, None);
    assert!(f.needs_root.is_empty(), "{:?}", f.needs_root);
    assert_eq!(f.system_serial_number.as_deref(), Some("HP-SN-4711"));
    assert_eq!(f.system_manufacturer.as_deref(), Some("Hostplane Test"));
    assert_eq!(f.hw.disk.status, HwStatus::Normal, "{:?}", f.hw.disk);
    assert_eq!(f.is_root, expected == Privilege::Root);
}

#[tokio::test]
async fn root_login_needs_no_sudo() {
    let host = host_with(Login::Root);
    assert_eq!(host.user, "root");
    let s = login(&host).await;
    flag_and_facts_as(&host, &s, Privilege::Root).await;
}

#[tokio::test]
async fn nopasswd_sudo_with_a_password_and_with_a_key() {
    let host = host_with(Login::Sudo(Sudo::NoPasswd));
    flag_and_facts_as(&host, &login(&host).await, Privilege::Sudo).await;
    // A key login has no password for sudo: NOPASSWD is all it needs.
    let (private, public) = generate_client_key("ed25519", None);
    host.add_authorized_key(&public);
    let key = Credential::PrivateKey {
        pem: private,
        passphrase: None,
    };
    let s = Session::connect(&host.ip, host.port, &host.user, &key, &opts())
        .await
        .unwrap();
    flag_and_facts_as(&host, &s, Privilege::Sudo).await;
}

#[tokio::test]
async fn password_sudo_gets_the_password_on_stdin() {
    let host = host_with(Login::Sudo(Sudo::Password));
    flag_and_facts_as(&host, &login(&host).await, Privilege::Sudo).await;
    // With a key, there is no password to give: the error says only NOPASSWD works.
    let (private, public) = generate_client_key("ed25519", None);
    host.add_authorized_key(&public);
    let key = Credential::PrivateKey {
        pem: private,
        passphrase: None,
    };
    let s = Session::connect(&host.ip, host.port, &host.user, &key, &opts())
        .await
        .unwrap();
    let t = Instant::now();
    match s.check_access(FLAG).await.unwrap_err() {
        SshError::Sudo { problem, .. } => assert_eq!(problem, SudoProblem::PasswordRequired),
        e => panic!("{e:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "sudo -n does not wait"
    );
}

#[tokio::test]
async fn the_documented_narrow_rule_is_enough() {
    let host = host_with(Login::Sudo(Sudo::Rules(sudoers_rule("{user}", FLAG))));
    let s = login(&host).await;
    flag_and_facts_as(&host, &s, Privilege::Sudo).await;
    // ... and allows nothing else: not another command, not the helper for another path.
    let out = s
        .exec("sudo -n -- /bin/sh -c id; echo rc=$?")
        .await
        .unwrap();
    assert!(out.stdout.contains("rc=1"), "{out:?}");
    let e = s.check_access("/var/run/other/takeOver").await.unwrap_err();
    match &e {
        SshError::Sudo { problem, .. } => {
            assert_eq!(*problem, SudoProblem::CommandNotAllowed, "{e}")
        }
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn sudo_failures_name_their_cause() {
    // No sudo rights: refused once, with sudo's words; a flag in the home works as before.
    let host = host_with(Login::Sudo(Sudo::None));
    let s = login(&host).await;
    let e = s.check_access(FLAG).await.unwrap_err();
    match &e {
        SshError::Sudo {
            problem, detail, ..
        } => {
            assert_eq!(*problem, SudoProblem::NotPermitted, "{e}");
            assert!(detail.contains("is not in the sudoers file"), "{detail}");
            assert!(!detail.contains(&host.password));
        }
        e => panic!("{e:?}"),
    }
    assert!(e.hint().contains("docs/hosts.md"), "{}", e.hint());
    let home = "~/.hostplane/takeOver";
    let access = s.check_access(home).await.unwrap();
    assert_eq!(access.privilege, Privilege::User);
    s.write_takeover_flag(home, UUID).await.unwrap();
    let f = s.collect_facts_with(&access).await.unwrap();
    assert!(
        f.needs_root.contains(&"hw.smart".to_string()),
        "{:?}",
        f.needs_root
    );
    assert_eq!(f.system_serial_number, None);

    // requiretty.
    let host = host_with(Login::Sudo(Sudo::RequireTty));
    match login(&host).await.check_access(FLAG).await.unwrap_err() {
        SshError::Sudo { problem, .. } => assert_eq!(problem, SudoProblem::RequireTty),
        e => panic!("{e:?}"),
    }

    // sudo asks for another password (root's): one wrong attempt, then hostplane stops.
    let host = host_with(Login::Sudo(Sudo::Rules(
        "Defaults:{user} rootpw\n{user} ALL=(ALL:ALL) ALL\n".into(),
    )));
    let t = Instant::now();
    match login(&host).await.check_access(FLAG).await.unwrap_err() {
        SshError::Sudo {
            problem, detail, ..
        } => {
            assert_eq!(problem, SudoProblem::WrongPassword, "{detail}");
            assert!(detail.contains("1 incorrect password attempt"), "{detail}");
        }
        e => panic!("{e:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());

    // A sudo that asks something else (a one-time code) and waits: bounded by the command
    // timeout, and the password is never sent to it.
    let host = SshdHost::start(SshdOptions {
        login: Login::Sudo(Sudo::Password),
        fake: Some(FakeFacts {
            commands: vec![(
                "sudo".into(),
                "printf 'Verification code: ' >&2; read -r answer; echo \"got:$answer\" >&2; sleep 60\n"
                    .into(),
            )],
            ..Default::default()
        }),
        ..Default::default()
    });
    let quick = ConnectOptions {
        command_timeout: Duration::from_secs(3),
        ..opts()
    };
    let s = Session::connect(&host.ip, host.port, &host.user, &pw(&host), &quick)
        .await
        .unwrap();
    let t = Instant::now();
    match s.check_access(FLAG).await.unwrap_err() {
        SshError::Sudo {
            problem, detail, ..
        } => {
            assert_eq!(problem, SudoProblem::NoPrompt);
            assert!(!detail.contains(&host.password), "{detail}");
        }
        e => panic!("{e:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
}
