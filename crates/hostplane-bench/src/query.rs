//! c and d: a store seeded with 100,000 hosts ([`crate::seed`]), a server started on it, then
//!
//! - c: p50/p99 of five realistic QueryHost calls over HTTP, each against the hand-written SQL
//!   that answers the same question, run directly on the same database file with the same
//!   driver and pool settings (sqlx through hostplane's own `Store`), rows fully decoded. The
//!   two are interleaved call by call; the first answers of each are compared for equal counts.
//! - d: `GET /zstack/v1/hosts/{uuid}` throughput with wrk (2 threads, 64 connections, a Lua
//!   script picking one of ~1,000 sampled uuids per request), against wrk on
//!   `GET /zstack/v1/management-nodes/ready` (no session, no database: the HTTP floor).
//!
//! The cold start of the server on this store is reported under f.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hostplane_server::store::Store;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;
use sqlx::Row as _;

use crate::api::Api;
use crate::{ms, pct, procs, Ctx, Outcome, Row};

/// Every column of a host inventory, as QueryHost selects them.
const COLS: &[&str] = &[
    "username",
    "ssh_port",
    "os_distribution",
    "os_release",
    "os_version",
    "zone_uuid",
    "name",
    "uuid",
    "cluster_uuid",
    "description",
    "management_ip",
    "hypervisor_type",
    "state",
    "status",
    "total_cpu",
    "available_cpu",
    "cpu_sockets",
    "total_memory",
    "available_memory",
    "cpu_num",
    "ipmi_address",
    "ipmi_username",
    "ipmi_port",
    "ipmi_power_status",
    "architecture",
    "nqn",
    "hostname",
    "cpu_status",
    "memory_status",
    "disk_status",
    "nic_status",
    "gpu_status",
    "power_supply_status",
    "fan_status",
    "raid_status",
    "temperature_status",
    "create_date",
    "last_op_date",
];
const INT_COLS: &[&str] = &[
    "ssh_port",
    "total_cpu",
    "available_cpu",
    "cpu_sockets",
    "total_memory",
    "available_memory",
    "cpu_num",
    "ipmi_port",
    "create_date",
    "last_op_date",
];

fn cols(prefix: &str) -> String {
    COLS.iter()
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Draws one instance of a case: (REST path, SQL bind).
type Pick = Box<dyn Fn(&mut rand::rngs::StdRng) -> (String, Option<String>) + Send + Sync>;

struct Case {
    name: &'static str,
    sql: String,
    /// (REST path, SQL bind) for a random instance.
    pick: Pick,
    count: bool,
}

fn cases(sample: Vec<String>, clusters: Vec<String>) -> Vec<Case> {
    let s1 = sample.clone();
    vec![
        Case {
            name: "by uuid",
            sql: format!("SELECT {} FROM host WHERE uuid = $1", cols("")),
            pick: Box::new(move |r| {
                let u = s1[r.gen_range(0..s1.len())].clone();
                (format!("/hosts?q=uuid={u}"), Some(u))
            }),
            count: false,
        },
        Case {
            name: "status=Connected, cluster.name=X, sort=+name, limit=50",
            sql: format!(
                "SELECT {} FROM host h JOIN cluster c ON c.uuid = h.cluster_uuid \
                 WHERE h.status = 'Connected' AND c.name = $1 ORDER BY h.name, h.uuid LIMIT 50",
                cols("h.")
            ),
            pick: Box::new(move |r| {
                let c = clusters[r.gen_range(0..clusters.len())].clone();
                (
                    format!("/hosts?q=status=Connected&q=cluster.name={c}&sort=%2Bname&limit=50"),
                    Some(c),
                )
            }),
            count: false,
        },
        Case {
            name: "managementIp~=10.1.% (default limit 1000)",
            sql: format!(
                "SELECT {} FROM host WHERE management_ip LIKE '10.1.%' ORDER BY uuid LIMIT 1000",
                cols("")
            ),
            pick: Box::new(|_| ("/hosts?q=managementIp~=10.1.%25".into(), None)),
            count: false,
        },
        Case {
            name: "__systemTag__=os::distribution::rocky, limit=50",
            // A semi-join: a JOIN would repeat a host that carries the tag twice.
            sql: format!(
                "SELECT {} FROM host WHERE uuid IN (SELECT resource_uuid FROM system_tag \
                 WHERE resource_type = 'HostVO' AND tag = $1) ORDER BY uuid LIMIT 50",
                cols("")
            ),
            pick: Box::new(|_| {
                (
                    "/hosts?q=__systemTag__=os::distribution::rocky&limit=50".into(),
                    Some("os::distribution::rocky".into()),
                )
            }),
            count: false,
        },
        Case {
            name: "count=true",
            sql: "SELECT COUNT(*) FROM host".into(),
            pick: Box::new(|_| ("/hosts?count=true".into(), None)),
            count: true,
        },
    ]
}

/// Run `sql` and decode every row and column; the number of rows (or the count).
async fn run_sql(store: &Store, case: &Case, bind: &Option<String>) -> anyhow::Result<usize> {
    let mut q = sqlx::query(&case.sql);
    if let Some(b) = bind {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(store.pool()).await?;
    if case.count {
        let n: i64 = rows.first().context("no count row")?.try_get(0)?;
        return Ok(n as usize);
    }
    let mut cells = 0usize;
    for r in &rows {
        for (i, c) in COLS.iter().enumerate() {
            if INT_COLS.contains(c) {
                cells += r.try_get::<Option<i64>, _>(i)?.is_some() as usize;
            } else {
                cells += r
                    .try_get::<Option<String>, _>(i)?
                    .map_or(0, |s| s.len().min(1));
            }
        }
    }
    std::hint::black_box(cells);
    Ok(rows.len())
}

/// The statement the server compiles for a REST query string (`/hosts?...`).
fn compiled(path: &str) -> anyhow::Result<hostplane_query::Statement> {
    let qs = path.split_once('?').map(|(_, q)| q);
    let pairs = hostplane_server::http::decode::query_pairs(qs);
    let q = hostplane_server::http::decode::query_from_pairs(&pairs)
        .map_err(|e| anyhow::anyhow!("decode {path}: {}", e.0))?;
    let c = hostplane_query::compile(
        &hostplane_server::domain::catalogue::CATALOGUE,
        &hostplane_server::domain::catalogue::HOST,
        &q,
        hostplane_query::Backend::Sqlite,
    )
    .map_err(|e| anyhow::anyhow!("compile {path}: {e}"))?;
    c.select.or(c.count).context("nothing compiled")
}

/// `EXPLAIN QUERY PLAN` of a statement, one line per step.
async fn explain(store: &Store, sql: &str, binds: &[hostplane_query::Value]) -> Vec<String> {
    let text = format!("EXPLAIN QUERY PLAN {sql}");
    let mut q = sqlx::query(&text);
    for b in binds {
        q = match b {
            hostplane_query::Value::Text(s) => q.bind(s.clone()),
            hostplane_query::Value::Int(i) => q.bind(*i),
        };
    }
    match q.fetch_all(store.pool()).await {
        Ok(rows) => rows
            .iter()
            .map(|r| r.try_get::<String, _>(3).unwrap_or_default())
            .collect(),
        Err(e) => vec![format!("explain failed: {e}")],
    }
}

/// One API call; the number of inventories (or the total).
async fn run_api(api: &Api, path: &str, count: bool) -> anyhow::Result<usize> {
    let (status, body) = api.req(Method::GET, path, None).await?;
    if status != 200 {
        bail!("{path}: {status} {body}");
    }
    Ok(if count {
        body["total"].as_i64().context("no total")? as usize
    } else {
        body["inventories"]
            .as_array()
            .context("no inventories")?
            .len()
    })
}

pub async fn run(
    ctx: &Ctx,
    do_c: bool,
    do_d: bool,
) -> (anyhow::Result<Outcome>, anyhow::Result<Outcome>) {
    match run_both(ctx, do_c, do_d).await {
        Ok((c, d)) => (c, d),
        Err(e) => {
            let msg = format!("{e:#}");
            (Err(anyhow::anyhow!("{msg}")), Err(anyhow::anyhow!("{msg}")))
        }
    }
}

async fn run_both(
    ctx: &Ctx,
    do_c: bool,
    do_d: bool,
) -> anyhow::Result<(anyhow::Result<Outcome>, anyhow::Result<Outcome>)> {
    let n = ctx.mode.pick(100_000, 100_000, 2_000);
    let dir = ctx.dir("cd")?;
    eprintln!("  seeding {n} hosts ...");
    let seeded = match crate::seed::reuse(&dir, n).await? {
        Some(s) => s,
        None => crate::seed::seed(&dir, n).await?,
    };
    eprintln!(
        "  seeded {} hosts, {} tags in {:.1} s",
        seeded.hosts, seeded.tags, seeded.seconds
    );
    let db_mib = std::fs::metadata(dir.join("hostplane.db"))
        .map(|m| m.len() as f64 / 1048576.0)
        .unwrap_or(0.0);
    let server = ctx.server(&dir, "cd-server.log").await?;
    let cold = server.ready_after;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_loaded = procs::rss_mib(server.proc.pid())?;
    let api = Api::login(&server.base).await?;
    let seed_json = json!({
        "hosts": seeded.hosts, "clusters": seeded.clusters, "systemTags": seeded.tags,
        "seedS": seeded.seconds, "dbMiB": db_mib,
        "coldStartMs": ms(cold), "rssAfterStartMiB": rss_loaded,
    });
    let mut f_rows = vec![Row::new(
        "f",
        format!(
            "cold start with {n} hosts in the store (host.load.all and host.reconnectAllOnBoot off: no host contacted)"
        ),
        format!("{:.0} ms (RSS {rss_loaded:.0} MiB)", ms(cold)),
    )];
    let c = if do_c {
        query_latency(ctx, &dir, &api, &seeded).await.map(|mut o| {
            o.json["store"] = seed_json.clone();
            o.rows.append(&mut f_rows);
            o
        })
    } else {
        Err(anyhow::anyhow!("not run"))
    };
    let d = if do_d {
        throughput(ctx, &server, &api, &seeded.sample_uuids).await
    } else {
        Err(anyhow::anyhow!("not run"))
    };
    Ok((c, d))
}

async fn query_latency(
    ctx: &Ctx,
    dir: &Path,
    api: &Api,
    seeded: &crate::seed::Seeded,
) -> anyhow::Result<Outcome> {
    let store = Store::open_sqlite(dir).await?;
    let iters = ctx.mode.pick(300, 100, 15);
    let warm = ctx.mode.pick(20, 10, 3);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for case in cases(seeded.sample_uuids.clone(), seeded.cluster_names.clone()) {
        let (mut a, mut s) = (Vec::new(), Vec::new());
        let (mut api_n, mut sql_n) = (0, 0);
        for i in 0..warm + iters {
            let (path, bind) = (case.pick)(&mut rng);
            let t = Instant::now();
            let an = run_api(api, &path, case.count).await?;
            let ta = t.elapsed();
            let t = Instant::now();
            let sn = run_sql(&store, &case, &bind).await?;
            let ts = t.elapsed();
            if i == 0 && an != sn {
                bail!("{}: the API found {an}, the SQL {sn}", case.name);
            }
            (api_n, sql_n) = (an, sn);
            if i >= warm {
                a.push(ms(ta));
                s.push(ms(ts));
            }
        }
        let (path, bind) = (case.pick)(&mut rng);
        let api_stmt = compiled(&path)?;
        let api_plan = explain(&store, &api_stmt.sql, &api_stmt.values).await;
        let sql_binds: Vec<hostplane_query::Value> =
            bind.into_iter().map(hostplane_query::Value::Text).collect();
        let sql_plan = explain(&store, &case.sql, &sql_binds).await;
        let (a50, a99, s50, s99) = (pct(&a, 50.0), pct(&a, 99.0), pct(&s, 50.0), pct(&s, 99.0));
        let (r50, r99) = (a50 / s50, a99 / s99);
        let pass = a99 <= 20.0 && r50 <= 3.0 && r99 <= 3.0;
        out.push(json!({
            "query": case.name, "path": path, "iterations": iters,
            "apiSql": api_stmt.sql, "apiPlan": api_plan, "sql": case.sql, "sqlPlan": sql_plan,
            "rows": api_n, "sqlRows": sql_n,
            "apiP50Ms": a50, "apiP99Ms": a99, "sqlP50Ms": s50, "sqlP99Ms": s99,
            "ratioP50": r50, "ratioP99": r99,
        }));
        rows.push(
            Row::new(
                "c",
                format!("QueryHost {} ({api_n} rows)", case.name),
                format!("p50 {a50:.2} / p99 {a99:.2} ms"),
            )
            .baseline(format!("SQL p50 {s50:.2} / p99 {s99:.2} ms"), r99)
            .target("p99 ≤ 20 ms, ≤ 3× SQL", pass),
        );
        // The ratio column shows p99; p50's is in the JSON and BENCHMARKS.md.
        if let Some(r) = rows.last_mut() {
            r.ratio = format!("{r50:.1}× / {r99:.1}×");
        }
    }
    store.pool().close().await;
    Ok(Outcome {
        json: json!({ "queries": out }),
        rows,
    })
}

/// wrk's summary: (requests/s, p50 ms, p99 ms, non-2xx responses).
fn parse_wrk(text: &str) -> anyhow::Result<(f64, f64, f64, u64)> {
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .context("no Requests/sec in wrk output")?
        .trim()
        .parse()?;
    let lat = |p: &str| -> f64 {
        text.lines()
            .find_map(|l| {
                let t = l.trim();
                t.strip_prefix(p).map(|v| v.trim().to_string())
            })
            .map(|v| {
                let (num, unit) =
                    v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
                let n: f64 = num.parse().unwrap_or(f64::NAN);
                match unit {
                    "us" => n / 1000.0,
                    "ms" => n,
                    "s" => n * 1000.0,
                    _ => f64::NAN,
                }
            })
            .unwrap_or(f64::NAN)
    };
    let non2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((rps, lat("50%"), lat("99%"), non2xx))
}

async fn wrk(args: Vec<String>) -> anyhow::Result<String> {
    let out = tokio::process::Command::new("wrk")
        .args(&args)
        .output()
        .await
        .context("run wrk (apt-get install -y wrk)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn throughput(
    ctx: &Ctx,
    server: &crate::Server,
    api: &Api,
    sample: &[String],
) -> anyhow::Result<Outcome> {
    let secs = ctx.mode.pick(20, 10, 2);
    let list: Vec<String> = sample
        .iter()
        .take(1000)
        .map(|u| format!("\"{u}\""))
        .collect();
    let script = ctx.work.join("d-hosts.lua");
    std::fs::write(
        &script,
        format!(
            "local uuids = {{{}}}\n\
             local auth = {{ [\"Authorization\"] = \"OAuth {}\" }}\n\
             request = function()\n  return wrk.format(\"GET\", \"/zstack/v1/hosts/\" .. uuids[math.random(#uuids)], auth)\nend\n",
            list.join(", "),
            api.session
        ),
    )?;
    let common = |d: u64| {
        vec![
            "-t2".to_string(),
            "-c64".into(),
            format!("-d{d}s"),
            "--latency".into(),
        ]
    };
    let url = format!("http://127.0.0.1:{}", server.port);
    // Warm-up, then the measured runs.
    let mut args = common(ctx.mode.pick(3, 2, 1));
    args.extend(["-s".into(), script.display().to_string(), url.clone()]);
    wrk(args).await?;
    let meter = procs::Meter::start(server.proc.pid())?;
    let mut args = common(secs);
    args.extend(["-s".into(), script.display().to_string(), url.clone()]);
    let text = wrk(args).await?;
    let m = meter.finish()?;
    let (rps, p50, p99, bad) = parse_wrk(&text)?;
    let mut args = common(secs);
    args.push(format!("{url}/zstack/v1/management-nodes/ready"));
    let floor_text = wrk(args).await?;
    let (floor, f50, f99, _) = parse_wrk(&floor_text)?;
    let ratio = rps / floor;
    let target = 10_000.0;
    Ok(Outcome {
        json: json!({
            "tool": "wrk -t2 -c64", "durationS": secs, "hostsInStore": ctx.mode.pick(100_000, 100_000, 2_000),
            "requestsPerS": rps, "p50Ms": p50, "p99Ms": p99, "non2xx": bad,
            "serverCpuPctOfOneCore": m.cpu_pct(), "serverRssMaxMiB": m.rss_max_mib,
            "floorRequestsPerS": floor, "floorP50Ms": f50, "floorP99Ms": f99,
            "wrk": text, "wrkFloor": floor_text,
        }),
        rows: vec![Row::new(
            "d",
            "GET /zstack/v1/hosts/{uuid}, wrk 64 conns",
            format!("{rps:.0} req/s (p99 {p99:.1} ms)"),
        )
        .baseline(
            format!("GET …/management-nodes/ready {floor:.0} req/s"),
            ratio,
        )
        .target("≥ 10,000 req/s", rps >= target && bad == 0)],
    })
}
