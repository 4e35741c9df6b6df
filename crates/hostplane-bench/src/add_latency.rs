//! a. Add latency against a real OpenSSH sshd (a `hostplane-testkit` host: its own 127.0.0.x
//! address, user and password), against the OpenSSH client doing the least the add needs:
//! `sshpass -p … ssh user@host "<the fact script>"` — one login, one exec of the same script.
//!
//! hostplane's figure is AddKVMHost submitted → job done (polled every 2 ms), which adds its
//! takeover check, the flag write, the admission checks and the database writes; between two
//! adds the host is deleted (Permissive, which removes the flag). The two are interleaved, so a
//! change of machine load hits both alike; the first round of each is a warm-up.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hostplane_testkit::sshd::{SshdHost, SshdOptions};
use reqwest::Method;
use serde_json::json;

use crate::api::Api;
use crate::{ms, pct, Ctx, Outcome, Row};

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    if !std::path::Path::new("/usr/sbin/sshd").exists() || !is_root() {
        bail!("needs root and openssh-server (apt-get install -y openssh-server sshpass)");
    }
    let host = tokio::task::spawn_blocking(|| SshdHost::start(SshdOptions::default())).await?;
    let dir = ctx.dir("a")?;
    let server = ctx.server(&dir, "a-server.log").await?;
    let api = Api::login(&server.base).await?;
    let zone = api.create_zone("a").await?;
    let cluster = api.create_cluster(&zone, "a").await?;
    api.set_config("kvm", "takeOverFlagPath", "~/.hostplane/takeOver")
        .await?;

    let rounds = ctx.mode.pick(11, 6, 2);
    let (mut adds, mut sshs) = (Vec::new(), Vec::new());
    let script = hostplane_ssh::FACT_SCRIPT.to_string();
    for round in 0..rounds {
        // The OpenSSH client.
        let (ip, port, user, pw, script) = (
            host.ip.clone(),
            host.port,
            host.user.clone(),
            host.password.clone(),
            script.clone(),
        );
        let took = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
            let t = Instant::now();
            let out = Command::new("sshpass")
                .args(["-p", &pw, "ssh"])
                .args([
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                ])
                .args(["-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no"])
                .args(["-o", "PreferredAuthentications=password"])
                .args(["-p", &port.to_string(), &format!("{user}@{ip}"), &script])
                .output()
                .context("run sshpass + ssh")?;
            let took = t.elapsed();
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() || !stdout.contains("id.uid=") {
                bail!(
                    "ssh baseline failed: {} {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(took)
        })
        .await??;
        // hostplane.
        let t = Instant::now();
        let loc = api
            .submit(
                Method::POST,
                "/hosts/kvm",
                json!({"params": {
                    "name": "a-host", "managementIp": host.ip, "sshPort": host.port,
                    "username": host.user, "password": host.password, "clusterUuid": cluster,
                }}),
            )
            .await?;
        let r = api
            .wait(&loc, Duration::from_millis(2), Duration::from_secs(120))
            .await?;
        let add = t.elapsed();
        if r["inventory"]["status"] != "Connected" {
            bail!("the add failed: {r}");
        }
        let uuid = r["inventory"]["uuid"].as_str().context("uuid")?.to_string();
        api.call(Method::DELETE, &format!("/hosts/{uuid}"), json!({}))
            .await?;
        if round > 0 {
            adds.push(ms(add));
            sshs.push(ms(took));
        }
    }
    let (add, ssh) = (pct(&adds, 50.0), pct(&sshs, 50.0));
    let ratio = add / ssh;
    Ok(Outcome {
        json: json!({
            "rounds": adds.len(),
            "addMs": adds,
            "sshMs": sshs,
            "addMedianMs": add,
            "sshMedianMs": ssh,
            "ratio": ratio,
            "sshd": "OpenSSH sshd (Debian) with PAM, password login",
        }),
        rows: vec![Row::new(
            "a",
            "AddKVMHost → job done, real sshd (median)",
            format!("{add:.0} ms"),
        )
        .baseline(format!("ssh+sshpass fact script {ssh:.0} ms"), ratio)
        .target("≤ 1.5×", ratio <= 1.5)],
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
