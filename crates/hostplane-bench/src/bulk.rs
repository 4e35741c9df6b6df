//! b. Bulk add: N simulated hosts (a `hostplane-sim` process, 127.1.0.1 and up, port 2222)
//! added through the API at once, into one cluster; the time from the first AddKVMHost to the
//! moment QueryHost counts all N Connected.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::api::Api;
use crate::{procs, Ctx, Outcome, Row, Sim};

/// Add every host of `sim`, spread in contiguous blocks over `clusters` (at most `in_flight`
/// requests at once); returns the job locations in host order.
pub async fn add_all(
    api: &Api,
    sim: &Sim,
    clusters: &[String],
    in_flight: usize,
) -> anyhow::Result<Vec<String>> {
    let n = sim.addrs.len().max(1);
    let gate = Arc::new(Semaphore::new(in_flight));
    let mut tasks = Vec::with_capacity(sim.addrs.len());
    for (i, (ip, port)) in sim.addrs.iter().enumerate() {
        let (api, gate) = (api.clone(), gate.clone());
        let cluster = &clusters[i * clusters.len() / n];
        let body = json!({"params": {
            "name": format!("sim-{i:05}"), "managementIp": ip, "sshPort": port,
            "username": "root", "password": "password", "clusterUuid": cluster,
        }});
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            api.submit(Method::POST, "/hosts/kvm", body).await
        }));
    }
    let mut locs = Vec::with_capacity(tasks.len());
    for t in tasks {
        locs.push(t.await??);
    }
    Ok(locs)
}

/// Poll QueryHost until `n` hosts are Connected; the time from `since`.
pub async fn wait_connected(
    api: &Api,
    n: usize,
    since: Instant,
    within: Duration,
) -> anyhow::Result<Duration> {
    loop {
        let c = api.count_hosts("q=status=Connected").await?;
        if c as usize >= n {
            return Ok(since.elapsed());
        }
        if since.elapsed() > within {
            bail!("only {c} of {n} hosts Connected after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The failed jobs among `locs` (count, first error).
pub async fn failures(api: &Api, locs: &[String]) -> anyhow::Result<(usize, Option<Value>)> {
    let mut failed = 0;
    let mut first = None;
    for l in locs {
        let r = api
            .wait(l, Duration::from_millis(200), Duration::from_secs(300))
            .await?;
        if let Some(e) = r.get("error") {
            failed += 1;
            first.get_or_insert(e.clone());
        }
    }
    Ok((failed, first))
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.mode.pick(1000, 1000, 100);
    let sim = ctx.sim(n, "127.1.0.1", "b-sim.log").await?;
    let dir = ctx.dir("b")?;
    let server = ctx.server(&dir, "b-server.log").await?;
    let api = Api::login(&server.base).await?;
    let zone = api.create_zone("b").await?;
    let cluster = api.create_cluster(&zone, "bulk").await?;
    let meter = procs::Meter::start(server.proc.pid())?;
    let sim_cpu0 = sim.cpu_time()?;
    let t0 = Instant::now();
    let locs = add_all(&api, &sim, &[cluster], 100).await?;
    let submitted = t0.elapsed();
    let all = wait_connected(&api, n, t0, Duration::from_secs(300)).await;
    let m = meter.finish()?;
    let sim_cpu = sim.cpu_time()?.saturating_sub(sim_cpu0);
    let (failed, first_error) = failures(&api, &locs).await?;
    let all = all?;
    let secs = all.as_secs_f64();
    let target = 30.0;
    Ok(Outcome {
        json: json!({
            "hosts": n,
            "submittedS": submitted.as_secs_f64(),
            "allConnectedS": secs,
            "hostsPerS": n as f64 / secs,
            "failedJobs": failed,
            "firstError": first_error,
            "serverCpuS": m.cpu_s,
            "serverCpuPctOfOneCore": m.cpu_pct(),
            "serverRssMaxMiB": m.rss_max_mib,
            "simCpuS": sim_cpu.as_secs_f64(),
        }),
        rows: vec![Row::new(
            "b",
            format!("{n} sim hosts added at once → all Connected"),
            format!("{secs:.1} s ({:.0} hosts/s)", n as f64 / secs),
        )
        .target(format!("≤ {target:.0} s"), secs <= target && failed == 0)],
    })
}

/// g. Bulk add from one file: N simulated hosts in one CSV host file, one
/// AddKVMHostFromConfigFile call; the time from the call to its job's answer (every row added).
pub async fn run_from_file(ctx: &Ctx) -> anyhow::Result<Outcome> {
    use base64::Engine as _;
    let n = ctx.mode.pick(1000, 1000, 100);
    let sim = ctx.sim(n, "127.3.0.1", "g-sim.log").await?;
    let dir = ctx.dir("i")?;
    let server = ctx.server(&dir, "g-server.log").await?;
    let api = Api::login(&server.base).await?;
    let zone = api.create_zone("g").await?;
    api.create_cluster(&zone, "from-file").await?;
    let mut csv = String::from("managementIp,sshPort,username,password,clusterName,name\n");
    for (i, (ip, port)) in sim.addrs.iter().enumerate() {
        csv.push_str(&format!("{ip},{port},root,password,from-file,sim-{i:05}\n"));
    }
    let host_info = base64::engine::general_purpose::STANDARD.encode(csv);
    let meter = procs::Meter::start(server.proc.pid())?;
    let t0 = Instant::now();
    let loc = api
        .submit(
            Method::POST,
            "/hosts/kvm/from-file",
            json!({"params": {"hostInfo": host_info}}),
        )
        .await?;
    let r = api
        .wait(&loc, Duration::from_millis(200), Duration::from_secs(600))
        .await?;
    let secs = t0.elapsed().as_secs_f64();
    let m = meter.finish()?;
    let results = r["results"].as_array().cloned().unwrap_or_default();
    let failed = results.iter().filter(|x| x["success"] != true).count();
    if results.len() != n {
        bail!("{} results for {n} rows: {r}", results.len());
    }
    let connected = api.count_hosts("q=status=Connected").await? as usize;
    let target = 30.0;
    Ok(Outcome {
        json: json!({
            "hosts": n,
            "fileBytes": host_info.len(),
            "jobDoneS": secs,
            "hostsPerS": n as f64 / secs,
            "failedRows": failed,
            "firstError": results.iter().find(|x| x["success"] != true).map(|x| x["error"].clone()),
            "connected": connected,
            "serverCpuS": m.cpu_s,
            "serverRssMaxMiB": m.rss_max_mib,
        }),
        rows: vec![Row::new(
            "i",
            format!("{n} sim hosts from one file (AddKVMHostFromConfigFile) → job done"),
            format!("{secs:.1} s ({:.0} hosts/s)", n as f64 / secs),
        )
        .target(
            format!("≤ {target:.0} s"),
            secs <= target && failed == 0 && connected == n,
        )],
    })
}
