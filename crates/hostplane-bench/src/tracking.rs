//! e. Tracking: N simulated hosts (10,000 in the full run, in 10 clusters) added through the
//! API and Connected, `host.ping.interval` 60 s (ZStack's default), measured in three phases on
//! the same server and hosts, each after one interval (plus a little) of switch-over:
//!
//! 1. a login per ping (`host.ping.reuseSession=false`, `host.ping.loginEvery=1`), from the
//!    start: the server's CPU (`/proc/<pid>/stat`) and RSS (VmRSS, sampled every 5 s) over one
//!    interval;
//! 2. the default (`reuseSession=false`, `loginEvery=5`: a login every fifth round, a probe of
//!    sshd's identification line in between): CPU and RSS averaged over the window (5 min).
//!    During it three hosts die (`down`: port closed, connections cut) and three hang (TCP
//!    accepted, SSH silent); the time until each is no longer Connected is compared with
//!    `interval × maxFailure + 5 s`;
//! 3. one persistent SSH session per host (`reuseSession=true`), over one interval (last, so
//!    that the memory it takes does not weigh on the default's figures).
//!
//! Phases 1 and 3 are the baselines of phase 2's figures.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::api::Api;
use crate::bulk::{add_all, wait_connected};
use crate::{procs, Ctx, Outcome, Row, Sim};

const MAX_FAILURE: u64 = 3;

fn mb(mib: f64) -> f64 {
    mib * 1.048576
}

/// Sample the server's RSS every few seconds for `d`; the meter's result.
async fn measure(pid: u32, d: Duration) -> anyhow::Result<procs::MeterResult> {
    let mut m = procs::Meter::start(pid)?;
    let t = Instant::now();
    while t.elapsed() < d {
        tokio::time::sleep(Duration::from_secs(5).min(d.saturating_sub(t.elapsed()))).await;
        m.sample();
    }
    m.finish()
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.mode.pick(10_000, 2_000, 100);
    let interval = ctx.mode.pick(60u64, 10, 3);
    // ZStack's default ping timeout (10 s) in the full run; shorter runs shorten it with the
    // interval so that `interval × maxFailure + 5 s` stays a meaningful bound for a hung host.
    let ping_timeout = ctx.mode.pick(10u64, 3, 1);
    let window = Duration::from_secs(ctx.mode.pick(300, 60, 12));
    let warm = Duration::from_secs(interval + interval.min(10));
    let sim = ctx.sim(n, "127.2.0.1", "e-sim.log").await?;
    let dir = ctx.dir("e")?;
    let server = ctx.server(&dir, "e-server.log").await?;
    let pid = server.proc.pid();
    let api = Api::login(&server.base).await?;
    let zone = api.create_zone("e").await?;
    let mut clusters = Vec::new();
    for k in 0..ctx.mode.pick(10, 2, 1) {
        clusters.push(api.create_cluster(&zone, &format!("e-{k}")).await?);
    }
    api.set_config("host", "ping.interval", &interval.to_string())
        .await?;
    api.set_config("host", "ping.timeout", &ping_timeout.to_string())
        .await?;
    api.set_config("host", "ping.reuseSession", "false").await?;
    api.set_config("host", "ping.loginEvery", "1").await?;

    eprintln!("  adding {n} hosts ...");
    let rss_before_add = procs::rss_mib(pid)?;
    let add_meter = procs::Meter::start(pid)?;
    let t0 = Instant::now();
    let locs = add_all(&api, &sim, &clusters, 100).await?;
    let added = wait_connected(&api, n, t0, Duration::from_secs(900)).await?;
    let add_m = add_meter.finish()?;
    let rss_after_add = procs::rss_mib(pid)?;
    eprintln!(
        "  {n} hosts Connected in {:.1} s; phase 1: a login per ping",
        added.as_secs_f64()
    );

    // Phase 1: fresh connections.
    tokio::time::sleep(warm).await;
    let one_interval = Duration::from_secs(ctx.mode.pick(interval, interval, 4));
    let (f, fresh_sim, fresh_per_ping_ms) =
        baseline_phase(&sim, pid, one_interval, n, interval).await?;

    // Phase 2: the default, a login every fifth round and probes between.
    eprintln!("  phase 2: the default (a login every 5th ping, probes between)");
    api.set_config("host", "ping.reuseSession", "false").await?;
    api.set_config("host", "ping.loginEvery", "5").await?;
    tokio::time::sleep(warm).await;
    let (m, sim_cpu, sim_rss, victims) =
        default_window(&api, &sim, &locs, pid, window, interval).await?;
    // Phase 3: persistent sessions (last: the memory they leave behind would weigh on a later phase).
    eprintln!("  phase 3: one persistent session per host");
    api.set_config("host", "ping.reuseSession", "true").await?;
    tokio::time::sleep(warm).await;
    let rss_after_warmup = procs::rss_mib(pid)?;
    let (p, persist_sim, persist_per_ping_ms) =
        baseline_phase(&sim, pid, one_interval, n, interval).await?;

    let pings = n as f64 * m.wall_s / interval as f64;
    let cpu_per_ping_ms = 1000.0 * m.cpu_s / pings;
    let bound = (interval * MAX_FAILURE + 5) as f64;
    let detect = |k: &str| -> f64 {
        victims
            .iter()
            .filter(|v| v.1 == k)
            .map(|v| v.3.unwrap_or(f64::INFINITY))
            .fold(f64::NAN, f64::max)
    };
    let (d_down, d_hang) = (detect("down"), detect("hang"));
    let connected_after = api.count_hosts("q=status=Connected").await?;

    let cpu_pct = m.cpu_pct();
    let rss_mb = mb(m.rss_mean_mib);
    let fresh_rss = mb(f.rss_mean_mib);
    let persist_rss = mb(p.rss_mean_mib);
    let window_s = m.wall_s;
    let mut default_json = phase_json(&m, cpu_per_ping_ms, sim_cpu);
    default_json["serverCpuS"] = json!(m.cpu_s);
    default_json["simRssMB"] = json!(mb(sim_rss));
    Ok(Outcome {
        json: json!({
            "hosts": n, "clusters": clusters.len(), "pingIntervalS": interval,
            "pingTimeoutS": ping_timeout, "maxFailure": MAX_FAILURE,
            "addAllConnectedS": added.as_secs_f64(), "addServerCpuS": add_m.cpu_s,
            "rssMB": {"beforeAdd": mb(rss_before_add), "afterAdd": mb(rss_after_add),
                      "afterPersistentWarmup": mb(rss_after_warmup)},
            "loginEveryPing": phase_json(&f, fresh_per_ping_ms, fresh_sim),
            "persistent": phase_json(&p, persist_per_ping_ms, persist_sim),
            "default": default_json,
            "pingsPerS": n as f64 / interval as f64,
            "simProcesses": sim.parts.len(),
            "victims": victims.iter().map(|v| json!({"index": v.0, "fault": v.1, "uuid": v.2, "notConnectedAfterS": v.3})).collect::<Vec<_>>(),
            "detectDownMaxS": d_down, "detectHangMaxS": d_hang, "detectBoundS": bound,
            "connectedAtEnd": connected_after,
        }),
        rows: vec![
            Row::new(
                "e",
                format!("{n} sim hosts added → all Connected"),
                format!(
                    "{:.0} s ({:.0} hosts/s)",
                    added.as_secs_f64(),
                    n as f64 / added.as_secs_f64()
                ),
            ),
            Row::new(
                "e",
                format!("server CPU, {n} hosts, ping {interval} s (default: login every 5th), {window_s:.0} s avg"),
                format!("{cpu_pct:.1}% of a core ({cpu_per_ping_ms:.2} ms/ping)"),
            )
            .baseline(
                format!("login per ping {:.1}%", f.cpu_pct()),
                cpu_pct / f.cpu_pct().max(1e-9),
            )
            .target("≤ 10%", cpu_pct <= 10.0),
            Row::new(
                "e",
                "server RSS, same window (avg)",
                format!("{rss_mb:.0} MB (max {:.0})", mb(m.rss_max_mib)),
            )
            .baseline(
                format!("persistent sessions {persist_rss:.0} MB"),
                rss_mb / persist_rss.max(1e-9),
            )
            .target("≤ 500 MB", rss_mb <= 500.0),
            Row::new(
                "e",
                "same hosts, a login per ping: CPU / RSS",
                format!(
                    "{:.1}% ({fresh_per_ping_ms:.2} ms/ping) / {fresh_rss:.0} MB",
                    f.cpu_pct()
                ),
            ),
            Row::new(
                "e",
                "same hosts, a persistent session per host: CPU / RSS",
                format!(
                    "{:.1}% ({persist_per_ping_ms:.2} ms/ping) / {persist_rss:.0} MB",
                    p.cpu_pct()
                ),
            ),
            Row::new(
                "e",
                "dead host (port closed) → Disconnected (max of 3)",
                format!("{d_down:.0} s"),
            )
            .target(format!("≤ {bound:.0} s"), d_down <= bound),
            Row::new(
                "e",
                "hung host (SSH silent) → Disconnected (max of 3)",
                format!("{d_hang:.0} s"),
            )
            .target(format!("≤ {bound:.0} s"), d_hang <= bound),
        ],
    })
}

/// One phase's figures as JSON: window, server CPU and memory, simulator CPU.
fn phase_json(m: &procs::MeterResult, per_ping_ms: f64, sim_cpu_s: f64) -> serde_json::Value {
    json!({
        "windowS": m.wall_s, "serverCpuPctOfOneCore": m.cpu_pct(),
        "serverRssMeanMB": mb(m.rss_mean_mib), "serverRssMaxMB": mb(m.rss_max_mib),
        "serverRssAnonMeanMB": mb(m.anon_mean_mib), "serverCpuMsPerPing": per_ping_ms,
        "simCpuPctOfOneCore": 100.0 * sim_cpu_s / m.wall_s,
    })
}

/// Meter one baseline phase: (server meter, simulator CPU seconds, server CPU ms per ping).
async fn baseline_phase(
    sim: &Sim,
    pid: u32,
    d: Duration,
    n: usize,
    interval: u64,
) -> anyhow::Result<(procs::MeterResult, f64, f64)> {
    let sim0 = sim.cpu_time()?;
    let m = measure(pid, d).await?;
    let sim_cpu = sim.cpu_time()?.saturating_sub(sim0).as_secs_f64();
    let per_ping_ms = 1000.0 * m.cpu_s / (n as f64 * m.wall_s / interval as f64);
    Ok((m, sim_cpu, per_ping_ms))
}

type Victim = (usize, &'static str, String, Option<f64>);

/// The default-mode window: meter the server, kill the victims early on and watch them until
/// they are no longer Connected. (meter, sim CPU s, sim RSS MiB, victims)
async fn default_window(
    api: &Api,
    sim: &Sim,
    locs: &[String],
    pid: u32,
    window: Duration,
    interval: u64,
) -> anyhow::Result<(procs::MeterResult, f64, f64, Vec<Victim>)> {
    let n = locs.len();
    // The victims: the last six hosts. Their uuids come from their add jobs.
    let mut victims: Vec<Victim> = Vec::new();
    for (i, kind) in [
        (n - 1, "down"),
        (n - 2, "down"),
        (n - 3, "down"),
        (n - 4, "hang"),
        (n - 5, "hang"),
        (n - 6, "hang"),
    ] {
        let r = api
            .wait(
                &locs[i],
                Duration::from_millis(100),
                Duration::from_secs(60),
            )
            .await?;
        let uuid = r["inventory"]["uuid"]
            .as_str()
            .context("victim uuid")?
            .to_string();
        victims.push((i, kind, uuid, None));
    }
    let bound = (interval * MAX_FAILURE + 5) as f64;
    let sim_cpu0 = sim.cpu_time()?;
    let mut meter = procs::Meter::start(pid)?;
    let started = Instant::now();
    let kill_at = window.mul_f64(0.1).max(Duration::from_secs(3));
    let mut killed: Option<Instant> = None;
    let mut next_sample = Instant::now();
    let mut done = None;
    loop {
        let now = Instant::now();
        if done.is_none() && now >= next_sample {
            meter.sample();
            next_sample = now + Duration::from_secs(5);
        }
        if killed.is_none() && started.elapsed() >= kill_at {
            let sel = |k: &str| -> Vec<usize> {
                victims.iter().filter(|v| v.1 == k).map(|v| v.0).collect()
            };
            sim.fault(&sel("down"), json!({"down": true})).await?;
            sim.fault(&sel("hang"), json!({"hang": true})).await?;
            killed = Some(Instant::now());
        }
        if let Some(k) = killed {
            for v in victims.iter_mut().filter(|v| v.3.is_none()) {
                // No longer Connected: Disconnected, or already Connecting again (a reconnect
                // attempt follows a Disconnected).
                if api.host_status(&v.2).await? != "Connected" {
                    v.3 = Some(k.elapsed().as_secs_f64());
                }
            }
        }
        if done.is_none() && started.elapsed() >= window {
            // The window is over; the victims may still be watched a little longer.
            let m = std::mem::replace(&mut meter, procs::Meter::start(pid)?).finish()?;
            let cpu = sim.cpu_time()?.saturating_sub(sim_cpu0).as_secs_f64();
            done = Some((m, cpu, sim.rss_mib()));
        }
        let all_seen = victims.iter().all(|v| v.3.is_some());
        let give_up = killed.is_some_and(|k| k.elapsed().as_secs_f64() > bound + 30.0);
        if done.is_some() && (all_seen || give_up) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (m, cpu, rss) = done.context("window measured")?;
    Ok((m, cpu, rss, victims))
}
