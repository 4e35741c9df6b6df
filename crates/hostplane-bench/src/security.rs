//! g. Security under load (docs/security.md): what floods from one attacker cost the server.
//!
//! One server on an empty SQLite store, idle RSS measured first; then, 64 requests at a time:
//! 1. sessionless async calls (`POST /zstack/v1/zones` with an unknown session): the job rows
//!    they wrote (read from the database file) and the RSS they added;
//! 2. 1,000 wrong-password logins from 127.0.0.2 with the default lockout (5 failures lock the
//!    address out);
//! 3. 1,000 wrong-password logins from 127.0.0.3 with the lockout off
//!    (`identity.login.maxFailures` set out of reach), so every login that finds room in the
//!    verifier queue runs argon2, and the others are answered "busy" at once.
//!
//! During 2 and 3 RSS is sampled every 50 ms (the peak is the figure), and a prober with a
//! valid session asks `GET /zones` every 100 ms: its failures and worst latency show whether
//! the API kept answering other callers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use sha2::Digest;

use crate::api::Api;
use crate::{ms, procs, Ctx, Outcome, Row};

const CONCURRENCY: usize = 64;

/// Counts of how the logins of a flood were answered.
#[derive(Default)]
struct Answers {
    wrong: AtomicUsize,
    locked: AtomicUsize,
    busy: AtomicUsize,
    other: AtomicUsize,
}

impl Answers {
    fn json(&self) -> Value {
        json!({
            "wrongPassword": self.wrong.load(Ordering::SeqCst),
            "lockedOut": self.locked.load(Ordering::SeqCst),
            "busy": self.busy.load(Ordering::SeqCst),
            "other": self.other.load(Ordering::SeqCst),
        })
    }
}

/// Run `n` calls of `one`, `CONCURRENCY` at a time.
async fn flood<F, Fut>(n: usize, one: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let one = Arc::new(one);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (next, one) = (next.clone(), one.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    return;
                }
                one(i).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Peak RSS and prober results while `work` runs.
struct Watch {
    peak_rss: f64,
    probe_failures: usize,
    probe_worst_ms: f64,
    probes: usize,
}

async fn watched(pid: u32, api: &Api, work: impl std::future::Future<Output = ()>) -> Watch {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = procs::rss_mib(pid).unwrap_or(0.0);
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                peak = peak.max(procs::rss_mib(pid).unwrap_or(0.0));
            }
            peak
        })
    };
    let prober = {
        let stop = stop.clone();
        let api = api.clone();
        tokio::spawn(async move {
            let (mut fails, mut worst, mut n) = (0usize, 0f64, 0usize);
            while !stop.load(Ordering::SeqCst) {
                let t = Instant::now();
                let answer = tokio::time::timeout(
                    Duration::from_secs(10),
                    api.req(reqwest::Method::GET, "/zones", None),
                )
                .await;
                n += 1;
                worst = worst.max(ms(t.elapsed()));
                if !matches!(answer, Ok(Ok((200, _)))) {
                    fails += 1;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (fails, worst, n)
        })
    };
    work.await;
    stop.store(true, Ordering::SeqCst);
    let peak_rss = sampler.await.unwrap_or(0.0);
    let (probe_failures, probe_worst_ms, probes) = prober.await.unwrap_or((0, 0.0, 0));
    Watch {
        peak_rss,
        probe_failures,
        probe_worst_ms,
        probes,
    }
}

/// `n` wrong logins, 64 at a time, from the local address `source`.
async fn login_flood(base: &str, n: usize, source: &str) -> anyhow::Result<Arc<Answers>> {
    let answers = Arc::new(Answers::default());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .local_address(source.parse::<std::net::IpAddr>()?)
        .build()?;
    let url = format!("{base}/zstack/v1/accounts/login");
    let a = answers.clone();
    flood(n, move |i| {
        let (http, url, a) = (http.clone(), url.clone(), a.clone());
        async move {
            let pw = hex::encode(sha2::Sha512::digest(format!("wrong-{i}").as_bytes()));
            let body = json!({"logInByAccount": {"accountName": "admin", "password": pw}});
            let r = http.put(&url).json(&body).send().await;
            let v: Value = match r {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            let code = v["error"]["code"].as_str().unwrap_or_default();
            let details = v["error"]["details"].as_str().unwrap_or_default();
            let slot = match code {
                "ID.1000" if details.contains("locked") => &a.locked,
                "ID.1000" => &a.wrong,
                "SYS.1006" => &a.busy,
                _ => &a.other,
            };
            slot.fetch_add(1, Ordering::SeqCst);
        }
    })
    .await;
    Ok(answers)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let dir = ctx.dir("g")?;
    let server = ctx.server(&dir, "g-server.log").await?;
    let pid = server.proc.pid();
    let api = Api::login(&server.base).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = procs::rss_mib(pid)?;

    // 1. Sessionless async calls.
    let calls = ctx.mode.pick(100_000, 20_000, 2_000);
    let accepted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    {
        let http = Api::client();
        let url = format!("{}/zstack/v1/zones", server.base);
        let accepted = accepted.clone();
        flood(calls, move |i| {
            let (http, url, accepted) = (http.clone(), url.clone(), accepted.clone());
            async move {
                let r = http
                    .post(&url)
                    .header("Authorization", "OAuth 00000000000000000000000000000000")
                    .header("X-Web-Hook", "http://127.0.0.1:9/never")
                    .json(&json!({"params": {"name": format!("z{i}")}}))
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().as_u16() == 202) {
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .await;
    }
    let sessionless_s = started.elapsed().as_secs_f64();
    let after_calls = procs::rss_mib(pid)?;
    let job_rows = {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=ro", dir.join("hostplane.db").display());
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM job")
            .fetch_one(&mut conn)
            .await?;
        row.0
    };

    // 2. Wrong logins, default lockout.
    let logins = ctx.mode.pick(1_000, 1_000, 200);
    let base = server.base.clone();
    let mut locked_answers = Ok(Arc::new(Answers::default()));
    let locked = watched(pid, &api, async {
        locked_answers = login_flood(&base, logins, "127.0.0.2").await;
    })
    .await;
    let locked_answers = locked_answers?;

    // 3. Wrong logins, lockout off: argon2 for every login past the queue.
    api.set_config("identity", "login.maxFailures", "1000000000")
        .await
        .context("turn the lockout off")?;
    let mut open_answers = Ok(Arc::new(Answers::default()));
    let open = watched(pid, &api, async {
        open_answers = login_flood(&base, logins, "127.0.0.3").await;
    })
    .await;
    let open_answers = open_answers?;
    let after = procs::rss_mib(pid)?;

    let calls_delta = after_calls - idle;
    let locked_delta = locked.peak_rss - idle;
    let open_delta = open.peak_rss - idle;
    let worst_probe = locked.probe_worst_ms.max(open.probe_worst_ms);
    let probe_failures = locked.probe_failures + open.probe_failures;
    Ok(Outcome {
        json: json!({
            "idleRssMiB": idle,
            "sessionless": {
                "calls": calls, "accepted202": accepted.load(Ordering::SeqCst),
                "seconds": sessionless_s, "jobRows": job_rows,
                "rssAfterMiB": after_calls, "rssDeltaMiB": calls_delta,
            },
            "loginsWithLockout": {
                "logins": logins, "answers": locked_answers.json(), "peakRssMiB": locked.peak_rss,
                "peakDeltaMiB": locked_delta, "probes": locked.probes,
                "probeFailures": locked.probe_failures, "probeWorstMs": locked.probe_worst_ms,
            },
            "loginsWithoutLockout": {
                "logins": logins, "answers": open_answers.json(), "peakRssMiB": open.peak_rss,
                "peakDeltaMiB": open_delta, "probes": open.probes,
                "probeFailures": open.probe_failures, "probeWorstMs": open.probe_worst_ms,
            },
            "rssAtEndMiB": after,
        }),
        rows: vec![
            Row::new(
                "g",
                format!("{calls} sessionless async calls (64 at a time): job rows, RSS added"),
                format!(
                    "{job_rows} rows, +{calls_delta:.1} MiB ({:.0} calls/s)",
                    calls as f64 / sessionless_s.max(1e-9)
                ),
            )
            .target("0 rows, ≤ 10 MiB", job_rows == 0 && calls_delta <= 10.0),
            Row::new(
                "g",
                format!(
                    "{logins} wrong logins (64 at a time), default lockout: peak RSS over idle"
                ),
                format!(
                    "+{locked_delta:.1} MiB ({} wrong, {} locked out, {} busy)",
                    locked_answers.wrong.load(Ordering::SeqCst),
                    locked_answers.locked.load(Ordering::SeqCst),
                    locked_answers.busy.load(Ordering::SeqCst)
                ),
            )
            .target("≤ 100 MiB", locked_delta <= 100.0),
            Row::new(
                "g",
                format!("{logins} wrong logins (64 at a time), lockout off: peak RSS over idle"),
                format!(
                    "+{open_delta:.1} MiB ({} argon2 checks, {} busy, {} locked out)",
                    open_answers.wrong.load(Ordering::SeqCst),
                    open_answers.busy.load(Ordering::SeqCst),
                    open_answers.locked.load(Ordering::SeqCst)
                ),
            )
            .target("≤ 100 MiB", open_delta <= 100.0),
            Row::new(
                "g",
                "GET /zones by another caller during both floods",
                format!(
                    "{} of {} failed, worst {worst_probe:.0} ms",
                    probe_failures,
                    locked.probes + open.probes
                ),
            )
            .target("none failed", probe_failures == 0),
        ],
    })
}
