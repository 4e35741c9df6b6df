//! j. Start-up with 100,000 hosts in the store, every one unreachable, with the default
//! configs (`host.load.all` and `host.reconnectAllOnBoot` on, a 60 s ping interval, 3 tries,
//! a 300 s `kvm.testSshPortOpenTimeout`): a data center whose hosts all died while the server
//! was down. The hosts are loopback addresses on a port nothing listens on, so each connection
//! is refused at once (traffic stays on 127.0.0.0/8); the seed is [`crate::seed`]'s, with
//! sealed credentials (1 in 50 Disconnected, 1 in 200 in Maintenance, the rest Connected).
//!
//! Measured from the spawn: the first HTTP answer, the first answered API call (IsReadyToGo
//! 200), a login and a QueryHost answered; then the time until every host not in maintenance
//! is Disconnected, and the server's CPU and RSS over that window. Target: the API answers
//! within 1 s.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::Api;
use crate::procs::{Meter, Proc};
use crate::{free_port, ms, Ctx, Outcome, Row};

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.mode.pick(100_000, 20_000, 2_000);
    let dir = ctx.dir("j")?;
    let dead_port = free_port()?;
    eprintln!("  seeding {n} unreachable hosts ...");
    let seeded = crate::seed::seed_unreachable(&dir, n, dead_port).await?;
    eprintln!("  seeded in {:.1} s", seeded.seconds);
    // The smoke run only checks that j runs: a 5 s ping interval instead of the default 60 s.
    let interval = ctx.mode.pick(60, 60, 5);
    if interval != 60 {
        let store = hostplane_server::store::Store::open_sqlite(&dir).await?;
        store
            .global_config_set("host", "ping.interval", &interval.to_string())
            .await?;
        store.pool().close().await;
    }

    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(&ctx.hostplane);
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&dir)
        .env("HOSTPLANE_LOG", "warn")
        .env_remove("HOSTPLANE_DATABASE_URL")
        .env_remove("HOSTPLANE_ADMIN_PASSWORD");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let ready_url = format!("{base}/zstack/v1/management-nodes/ready");
    let started = Instant::now();
    let mut proc = Proc::spawn("hostplane", cmd, &ctx.work.join("j-server.log"))?;
    let mut meter = Meter::start(proc.pid())?;
    let mut first_answer = None;
    let ready = loop {
        if let Ok(r) = http.get(&ready_url).send().await {
            first_answer.get_or_insert(started.elapsed());
            if r.status().is_success() {
                break started.elapsed();
            }
        }
        proc.check_alive()?;
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the server did not answer within 300 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let first_answer = first_answer.unwrap_or(ready);
    let api = Api::login(&base).await?;
    let total = api.count_hosts("limit=1").await?;
    let queried = started.elapsed();
    anyhow::ensure!(total as usize == n, "{total} hosts listed, {n} seeded");

    // Until every host that is not in maintenance is Disconnected.
    let window = Duration::from_secs(ctx.mode.pick(900, 600, 300));
    let mut max_connecting = 0;
    let mut slowest_query = Duration::ZERO;
    let all_disconnected = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        meter.sample();
        proc.check_alive()?;
        let t = Instant::now();
        let left = api
            .count_hosts("q=status=Connected&q=state!=Maintenance")
            .await?;
        slowest_query = slowest_query.max(t.elapsed());
        max_connecting = max_connecting.max(api.count_hosts("q=status=Connecting").await?);
        if left == 0 {
            break Some(started.elapsed());
        }
        if started.elapsed() > window {
            break None;
        }
    };
    let m = meter.finish()?;
    proc.stop();

    let ready_ms = ms(ready);
    let mut rows = vec![
        Row::new(
            "j",
            format!(
                "start-up, {n} unreachable hosts, default configs: spawn → first answered API call (IsReadyToGo 200)"
            ),
            format!(
                "{ready_ms:.0} ms (first HTTP answer {:.0} ms)",
                ms(first_answer)
            ),
        )
        .target("≤ 1 s", ready_ms <= 1000.0),
        Row::new(
            "j",
            "… spawn → login and QueryHost answered",
            format!("{:.0} ms", ms(queried)),
        ),
        Row::new(
            "j",
            format!(
                "… until every host not in maintenance is Disconnected (ping {interval} s, 3 tries)"
            ),
            match all_disconnected {
                Some(d) => format!("{:.0} s", d.as_secs_f64()),
                None => format!("not within {} s", window.as_secs()),
            },
        ),
        Row::new(
            "j",
            "… server CPU and RSS over that window",
            format!(
                "{:.0}% of a core, RSS {:.0} MiB mean / {:.0} max",
                m.cpu_pct(),
                m.rss_mean_mib,
                m.rss_max_mib
            ),
        ),
    ];
    if max_connecting > 0 {
        rows.push(Row::new(
            "j",
            "… hosts seen Connecting meanwhile (at most)",
            max_connecting.to_string(),
        ));
    }
    Ok(Outcome {
        json: json!({
            "hosts": n,
            "pingIntervalS": interval,
            "seedS": seeded.seconds,
            "firstAnswerMs": ms(first_answer),
            "readyMs": ready_ms,
            "loginAndQueryMs": ms(queried),
            "allDisconnectedS": all_disconnected.map(|d| d.as_secs_f64()),
            "windowS": m.wall_s,
            "cpuS": m.cpu_s,
            "cpuPct": m.cpu_pct(),
            "rssMeanMiB": m.rss_mean_mib,
            "rssMaxMiB": m.rss_max_mib,
            "anonMeanMiB": m.anon_mean_mib,
            "maxConnectingSeen": max_connecting,
            "slowestCountQueryMs": ms(slowest_query),
        }),
        rows,
    })
}
