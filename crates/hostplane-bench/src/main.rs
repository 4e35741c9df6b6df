//! `hostplane-bench`: every benchmark of BENCHMARKS.md in one run, a summary table with targets
//! and PASS/GAP, and the raw results as JSON (machine, commit, numbers).
//!
//! Run it through `bench/run.sh` (builds the release binaries, raises `ulimit -n`):
//! `bench/run.sh` (full, ~15 min), `bench/run.sh --quick` (~5 min, smaller e), `bench/run.sh
//! --smoke` (< 1 min, tiny sizes, for CI), `--only a,c` for a subset.
//!
//! Benchmarks: [`add_latency`] (a), [`bulk`] (b), [`query`] (c and d), [`tracking`] (e),
//! [`footprint`] (f), [`security`] (g: sessionless calls and login floods), [`scrape`] (h:
//! /metrics scrape cost), [`startup`] (j: start-up with every host unreachable), [`nodes`] (k:
//! three management nodes on PostgreSQL, failovers). Each
//! measures its baseline in the same run where one exists.

mod add_latency;
mod api;
mod bulk;
mod footprint;
mod nodes;
mod procs;
mod query;
mod scrape;
mod security;
mod seed;
mod startup;
mod tracking;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{json, Value};

use procs::Proc;

#[derive(Parser, Debug)]
#[command(
    name = "hostplane-bench",
    about = "hostplane's benchmarks (see BENCHMARKS.md)"
)]
struct Args {
    /// Shorter run for development: e with 2,000 hosts, a 10 s ping interval and a 60 s window.
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// Tiny sizes, under a minute: checks that every benchmark still runs (CI).
    #[arg(long)]
    smoke: bool,
    /// Only these benchmarks (comma-separated letters a-k; k needs PostgreSQL).
    #[arg(long, default_value = "a,b,c,d,e,f,g,h,i,j,k")]
    only: String,
    /// Where the JSON results go (default: bench/results in the repository).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where the binaries are (default: the directory of this program).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Full,
    Quick,
    Smoke,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Quick => "quick",
            Mode::Smoke => "smoke",
        }
    }
    /// Pick the value for this mode.
    pub fn pick<T>(self, full: T, quick: T, smoke: T) -> T {
        match self {
            Mode::Full => full,
            Mode::Quick => quick,
            Mode::Smoke => smoke,
        }
    }
}

/// What every benchmark needs.
pub struct Ctx {
    pub mode: Mode,
    pub fd_limit: u64,
    pub hostplane: PathBuf,
    pub sim: PathBuf,
    pub work: PathBuf,
}

impl Ctx {
    /// A fresh directory under the run's work directory.
    pub fn dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let d = self.work.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Start `hostplane serve` on a free port with `data_dir`; returns once it answers.
    pub async fn server(&self, data_dir: &Path, log_name: &str) -> anyhow::Result<Server> {
        self.server_with(data_dir, log_name, free_port()?, &[], &[])
            .await
    }

    /// [`Ctx::server`] on `port`, with extra arguments and environment.
    pub async fn server_with(
        &self,
        data_dir: &Path,
        log_name: &str,
        port: u16,
        args: &[String],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let mut cmd = Command::new(&self.hostplane);
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .env("HOSTPLANE_LOG", "warn")
            .env_remove("HOSTPLANE_DATABASE_URL")
            .env_remove("HOSTPLANE_ADMIN_PASSWORD")
            .args(args)
            .envs(env.iter().copied());
        let started = Instant::now();
        let mut proc = Proc::spawn("hostplane", cmd, &self.work.join(log_name))?;
        let base = format!("http://127.0.0.1:{port}");
        match api::wait_ready(&base, Duration::from_secs(120)).await {
            Ok(_) => {}
            Err(e) => {
                proc.check_alive()?;
                return Err(e);
            }
        }
        Ok(Server {
            proc,
            base,
            port,
            ready_after: started.elapsed(),
        })
    }

    /// Start `hostplane-sim` with `hosts` hosts from `base`, port 2222; returns once all listen.
    /// A host needs a descriptor for its listener and one per open connection: when the
    /// open-file limit is too low for one process, the hosts are split over several
    /// simulators (consecutive address ranges).
    pub async fn sim(&self, hosts: usize, base: &str, log_name: &str) -> anyhow::Result<Sim> {
        let per = ((self.fd_limit as usize).saturating_mul(10) / 23).clamp(1, 1 << 20);
        let http = api::Api::client();
        let mut parts = Vec::new();
        let mut addrs: Vec<(String, u16)> = Vec::new();
        let mut next_base = base.to_string();
        let mut left = hosts;
        while left > 0 {
            let count = left.min(per);
            let control = free_port()?;
            let mut cmd = Command::new(&self.sim);
            cmd.args([
                "--hosts",
                &count.to_string(),
                "--base",
                &next_base,
                "--port",
                "2222",
            ])
            .arg("--control")
            .arg(format!("127.0.0.1:{control}"))
            .env("HOSTPLANE_SIM_LOG", "warn");
            let log = format!("{log_name}.{}", parts.len());
            let mut proc = Proc::spawn("hostplane-sim", cmd, &self.work.join(log))?;
            let url = format!("http://127.0.0.1:{control}");
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Ok(r) = http.get(format!("{url}/stats")).send().await {
                    if let Ok(v) = r.json::<Value>().await {
                        if v["hosts"].as_u64() == Some(count as u64) {
                            break;
                        }
                    }
                }
                proc.check_alive()?;
                if Instant::now() > deadline {
                    anyhow::bail!("the simulator did not come up within 120 s");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let list: Vec<Value> = http
                .get(format!("{url}/hosts"))
                .send()
                .await?
                .json()
                .await?;
            let offset = addrs.len();
            for h in &list {
                addrs.push((
                    h["ip"].as_str().unwrap_or_default().to_string(),
                    h["port"].as_u64().unwrap_or(22) as u16,
                ));
            }
            if let Some((ip, _)) = addrs.last() {
                let ip: std::net::Ipv4Addr = ip.parse()?;
                next_base = std::net::Ipv4Addr::from(u32::from(ip) + 1).to_string();
            }
            parts.push(SimPart {
                proc,
                control: url,
                offset,
                count,
            });
            left -= count;
        }
        Ok(Sim { parts, http, addrs })
    }
}

pub struct Server {
    pub proc: Proc,
    pub base: String,
    pub port: u16,
    /// From spawn to the first answered request.
    pub ready_after: Duration,
}

/// The simulated hosts of a benchmark: one or more `hostplane-sim` processes.
pub struct Sim {
    pub parts: Vec<SimPart>,
    pub http: reqwest::Client,
    /// (ip, port) of every host, in order.
    pub addrs: Vec<(String, u16)>,
}

pub struct SimPart {
    pub proc: Proc,
    pub control: String,
    /// The index of its first host among all hosts.
    pub offset: usize,
    pub count: usize,
}

impl Sim {
    /// Change the faults of hosts, by index among all hosts.
    pub async fn fault(&self, hosts: &[usize], change: Value) -> anyhow::Result<()> {
        for p in &self.parts {
            let local: Vec<String> = hosts
                .iter()
                .filter(|i| **i >= p.offset && **i < p.offset + p.count)
                .map(|i| (i - p.offset).to_string())
                .collect();
            if local.is_empty() {
                continue;
            }
            let r = self
                .http
                .post(format!("{}/hosts/{}", p.control, local.join(",")))
                .json(&change)
                .send()
                .await?;
            anyhow::ensure!(r.status().is_success(), "sim control: {}", r.text().await?);
        }
        Ok(())
    }

    /// CPU time of all simulator processes so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let mut t = Duration::ZERO;
        for p in &self.parts {
            t += procs::cpu_time(p.proc.pid())?;
        }
        Ok(t)
    }

    /// RSS of all simulator processes, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.parts
            .iter()
            .filter_map(|p| procs::rss_mib(p.proc.pid()).ok())
            .sum()
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One line of the summary table.
#[derive(Debug, Clone)]
pub struct Row {
    pub bench: &'static str,
    pub figure: String,
    pub value: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    /// Some(true) PASS, Some(false) GAP, None: information only.
    pub pass: Option<bool>,
}

impl Row {
    pub fn new(bench: &'static str, figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            bench,
            figure: figure.into(),
            value: value.into(),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "—".into(),
            pass: None,
        }
    }
    pub fn baseline(mut self, b: impl Into<String>, ratio: f64) -> Row {
        self.baseline = b.into();
        self.ratio = format!("{ratio:.2}×");
        self
    }
    pub fn target(mut self, t: impl Into<String>, pass: bool) -> Row {
        self.target = t.into();
        self.pass = Some(pass);
        self
    }
    fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "GAP",
            None => "",
        }
    }
}

/// What one benchmark hands back.
pub struct Outcome {
    pub json: Value,
    pub rows: Vec<Row>,
}

/// Percentile (0-100) of unsorted samples, nearest-rank.
pub fn pct(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_table(rows: &[Row], mode: Mode) {
    let head = [
        "",
        "figure",
        "value",
        "baseline (same run)",
        "ratio",
        "target",
        "",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.bench.to_string(),
                r.figure.clone(),
                r.value.clone(),
                r.baseline.clone(),
                r.ratio.clone(),
                r.target.clone(),
                r.verdict().to_string(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([head[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..7).map(width).collect();
    let line = |c: &[String]| {
        let parts: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s}{}", " ".repeat(w[i] - s.chars().count())))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    println!();
    println!("hostplane benchmarks ({} run)", mode.name());
    line(&head.map(String::from));
    let sep: Vec<String> = w.iter().map(|n| "-".repeat(*n)).collect();
    println!("|-{}-|", sep.join("-|-"));
    for c in &cells {
        line(c);
    }
    if mode != Mode::Full {
        println!(
            "(targets apply to the full run; this {} run uses smaller sizes)",
            mode.name()
        );
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mode = if args.smoke {
        Mode::Smoke
    } else if args.quick {
        Mode::Quick
    } else {
        Mode::Full
    };
    let fd_limit = procs::raise_fd_limit();
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no bin dir")?
            .to_path_buf(),
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let work = std::env::temp_dir().join(format!("hostplane-bench-{stamp}"));
    std::fs::create_dir_all(&work)?;
    let ctx = Ctx {
        mode,
        fd_limit,
        hostplane: bin_dir.join("hostplane"),
        sim: bin_dir.join("hostplane-sim"),
        work: work.clone(),
    };
    let root = repo_root();
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("bench/results"));
    std::fs::create_dir_all(&out_dir)?;
    let only: Vec<String> = args
        .only
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .collect();
    let want = |b: &str| only.iter().any(|o| o == b);
    // The simulator is needed by b and e only.
    let needs_sim = want("b") || want("e");
    for b in [&ctx.hostplane, &ctx.sim] {
        if b == &ctx.sim && !needs_sim {
            continue;
        }
        anyhow::ensure!(
            b.exists(),
            "{} is missing: build it first (bench/run.sh does)",
            b.display()
        );
    }
    eprintln!(
        "hostplane-bench: {} run, work dir {}, open-file limit {fd_limit}",
        mode.name(),
        work.display()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let load_start = procs::loadavg();
    let mut results = serde_json::Map::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut record = |id: &'static str, r: anyhow::Result<Outcome>, rows: &mut Vec<Row>| match r {
        Ok(o) => {
            for row in &o.rows {
                eprintln!("  {id}: {} = {} {}", row.figure, row.value, row.verdict());
            }
            results.insert(id.to_string(), o.json);
            rows.extend(o.rows);
        }
        Err(e) => {
            eprintln!("  {id}: FAILED: {e:#}");
            results.insert(id.to_string(), json!({ "error": format!("{e:#}") }));
            let mut row = Row::new(id, "benchmark failed", format!("{e}"));
            row.pass = Some(false);
            rows.push(row);
        }
    };
    rt.block_on(async {
        if want("f") {
            eprintln!("f: footprint");
            record("f", footprint::run(&ctx).await, &mut rows);
        }
        if want("a") {
            eprintln!("a: add latency vs OpenSSH");
            record("a", add_latency::run(&ctx).await, &mut rows);
        }
        if want("b") {
            eprintln!("b: bulk add");
            record("b", bulk::run(&ctx).await, &mut rows);
        }
        if want("i") {
            eprintln!("i: bulk add from one host file");
            record("i", bulk::run_from_file(&ctx).await, &mut rows);
        }
        if want("c") || want("d") {
            eprintln!("c/d: queries and HTTP throughput at scale");
            let (c, d) = query::run(&ctx, want("c"), want("d")).await;
            if want("c") {
                record("c", c, &mut rows);
            }
            if want("d") {
                record("d", d, &mut rows);
            }
        }
        if want("e") {
            eprintln!("e: ping tracking");
            record("e", tracking::run(&ctx).await, &mut rows);
        }
        if want("g") {
            eprintln!("g: sessionless calls and login floods");
            record("g", security::run(&ctx).await, &mut rows);
        }
        if want("h") {
            eprintln!("h: /metrics scrape cost");
            record("h", scrape::run(&ctx).await, &mut rows);
        }
        if want("k") {
            eprintln!("k: three management nodes, failovers");
            record("k", nodes::run(&ctx).await, &mut rows);
        }
        if want("j") {
            eprintln!("j: start-up with every host unreachable");
            record("j", startup::run(&ctx).await, &mut rows);
        }
    });
    rows.sort_by_key(|r| "fjabicdeghk".find(r.bench).unwrap_or(9));
    print_table(&rows, mode);

    let report = json!({
        "schema": 1,
        "mode": mode.name(),
        "started": stamp,
        "durationS": started.elapsed().as_secs(),
        "machine": procs::machine(),
        "load": { "start": load_start, "end": procs::loadavg() },
        "commit": procs::commit(&root),
        "results": Value::Object(results),
        "summary": rows.iter().map(|r| json!({
            "bench": r.bench, "figure": r.figure, "value": r.value, "baseline": r.baseline,
            "ratio": r.ratio, "target": r.target, "verdict": r.verdict(),
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&report)?;
    let file = out_dir.join(format!("{stamp}-{}.json", mode.name()));
    let tmp = out_dir.join(format!("{stamp}.json.tmp"));
    std::fs::write(&tmp, &text)?;
    std::fs::rename(&tmp, &file)?;
    std::fs::write(out_dir.join(format!("latest-{}.json", mode.name())), &text)?;
    if mode == Mode::Full {
        std::fs::write(out_dir.join("latest.json"), &text)?;
    }
    println!(
        "\nraw results: {} ({} s in all; logs in {})",
        file.display(),
        started.elapsed().as_secs(),
        work.display()
    );
    Ok(())
}
