//! f. Footprint: cold start (spawn → first answered request, on an empty data directory, so
//! it includes creating the database, running the migrations and hashing the admin password)
//! and idle RSS (5 s after start, nothing connected). The cold start with 100,000 hosts in the
//! store is measured by c, on its seeded store (tracker and boot reconnects off, so no host is
//! contacted); g measures it with the default configs and every host unreachable.

use std::time::Duration;

use serde_json::json;

use crate::{ms, pct, procs, Ctx, Outcome, Row};

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let runs = ctx.mode.pick(5, 3, 1);
    let mut starts = Vec::new();
    let mut rss = Vec::new();
    for i in 0..runs {
        let dir = ctx.dir(&format!("f-{i}"))?;
        let server = ctx.server(&dir, &format!("f-{i}.log")).await?;
        starts.push(ms(server.ready_after));
        tokio::time::sleep(Duration::from_secs(ctx.mode.pick(5, 5, 1))).await;
        rss.push(procs::rss_mib(server.proc.pid())?);
    }
    let start_ms = pct(&starts, 50.0);
    let rss_mib = pct(&rss, 50.0);
    Ok(Outcome {
        json: json!({
            "runs": runs,
            "coldStartMs": starts,
            "coldStartMedianMs": start_ms,
            "idleRssMiB": rss,
            "idleRssMedianMiB": rss_mib,
        }),
        rows: vec![
            Row::new(
                "f",
                "cold start, empty store (spawn → first answer)",
                format!("{start_ms:.0} ms"),
            ),
            Row::new("f", "idle RSS, empty store", format!("{rss_mib:.1} MiB")),
        ],
    })
}
