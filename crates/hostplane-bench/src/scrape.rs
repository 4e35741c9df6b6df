//! g. What Prometheus costs the server: `GET /metrics` scraped once a second with 100,000 hosts
//! in the store ([`crate::seed`]; the tracker is off there, so nothing else runs).
//!
//! The server idles for a window (its baseline CPU), then is scraped once a second for the same
//! window; the difference is the scrapes' cost, as a share of one core (target ≤ 1 %). Every
//! scrape is checked: `hostplane_hosts` must add up to the seeded hosts. Also reported: one
//! scrape's latency, and the grouped COUNT behind `hostplane_hosts` run directly on the same
//! database — what a scrape costs at most when it has to recount (this server changed hosts
//! in the last second); otherwise the counts are reused for up to 5 s.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{ms, pct, procs, Ctx, Outcome, Row};

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.mode.pick(100_000, 100_000, 2_000);
    let window = Duration::from_secs(ctx.mode.pick(60, 30, 5));
    let dir = ctx.dir("h")?;
    eprintln!("  seeding {n} hosts ...");
    let seeded = match crate::seed::reuse(&dir, n).await? {
        Some(s) => s,
        None => crate::seed::seed(&dir, n).await?,
    };
    // The recount, on the database directly (before the server opens it).
    let store = hostplane_server::store::Store::open_sqlite(&dir).await?;
    let mut count_ms = Vec::new();
    for _ in 0..ctx.mode.pick(50, 20, 5) {
        let t = Instant::now();
        let counts = store.host_counts().await?;
        count_ms.push(ms(t.elapsed()));
        let total: i64 = counts.iter().map(|c| c.2).sum();
        anyhow::ensure!(total as usize == seeded.hosts, "the COUNT found {total}");
    }
    store.pool().close().await;

    let server = ctx.server(&dir, "g-server.log").await?;
    let pid = server.proc.pid();
    let http = crate::api::Api::client();
    let url = format!("{}/metrics", server.base);
    // Warm up (the first scrape reads the counts), then let the start-up settle.
    http.get(&url).send().await?.error_for_status()?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    eprintln!("  idle for {} s ...", window.as_secs());
    let meter = procs::Meter::start(pid)?;
    tokio::time::sleep(window).await;
    let idle = meter.finish()?;

    eprintln!("  scraping every second for {} s ...", window.as_secs());
    let meter = procs::Meter::start(pid)?;
    let started = Instant::now();
    let mut latency = Vec::new();
    let mut bytes = 0usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while started.elapsed() < window {
        tick.tick().await;
        let t = Instant::now();
        let text = http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        latency.push(ms(t.elapsed()));
        bytes = text.len();
        let hosts: f64 = text
            .lines()
            .filter(|l| l.starts_with("hostplane_hosts{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        anyhow::ensure!(
            hosts as usize == seeded.hosts,
            "hostplane_hosts adds up to {hosts}, not {}",
            seeded.hosts
        );
    }
    let busy = meter.finish()?;
    let scrapes = latency.len();
    // CPU beyond the idle baseline, per scrape and per second.
    let extra_s = busy.cpu_s - idle.cpu_s * busy.wall_s / idle.wall_s.max(1e-9);
    let cost_pct = 100.0 * extra_s.max(0.0) / busy.wall_s;
    let per_scrape_ms = 1000.0 * extra_s.max(0.0) / scrapes.max(1) as f64;
    let (count_p50, count_p99) = (pct(&count_ms, 50.0), pct(&count_ms, 99.0));
    let (lat_p50, lat_p99) = (pct(&latency, 50.0), pct(&latency, 99.0));
    Ok(Outcome {
        json: json!({
            "hosts": seeded.hosts,
            "windowS": window.as_secs(),
            "scrapes": scrapes,
            "bytes": bytes,
            "idleCpuPct": idle.cpu_pct(),
            "scrapingCpuPct": busy.cpu_pct(),
            "costPctOfCore": cost_pct,
            "cpuMsPerScrape": per_scrape_ms,
            "scrapeLatencyMs": {"p50": lat_p50, "p99": lat_p99},
            "hostCountQueryMs": {"p50": count_p50, "p99": count_p99},
        }),
        rows: vec![
            Row::new(
                "h",
                format!("GET /metrics every 1 s, {n} hosts: server CPU beyond idle"),
                format!("{cost_pct:.2}% of a core ({per_scrape_ms:.2} ms/scrape)"),
            )
            .target("≤ 1% of a core", cost_pct <= 1.0),
            Row::new(
                "h",
                "one scrape (latency) / its size",
                format!("p50 {lat_p50:.2} / p99 {lat_p99:.2} ms, {bytes} bytes"),
            ),
            Row::new(
                "h",
                format!(
                    "hostplane_hosts recount (grouped COUNT, {n} hosts), at most once a second"
                ),
                format!("p50 {count_p50:.1} / p99 {count_p99:.1} ms"),
            ),
        ],
    })
}
