//! g. Three management nodes on one PostgreSQL (docs/scale-out.md): N simulated hosts
//! (10,000 in the full run) added through one node and shared out among the three, each node
//! binding its SSH connections to its own loopback address so that the simulator reports which
//! node pinged each host (`GET /peers`). Ping interval 60 s (ZStack's default), the default
//! ping (a login every 5th round, probes between).
//!
//! 1. Steady state: each node's CPU and RSS over a window; each host's pinging node, and the
//!    shares. The owner of each host is also computed from the consistent-hash ring (node ids
//!    from the data directories, host uuids from QueryHost): the pings must follow it.
//! 2. Five failovers: a node is killed with SIGKILL; the failover time is from the kill to the
//!    moment every host it pinged has been pinged by another node (the simulator's timestamps,
//!    not polling). A host is "pinged twice" when two nodes pinged it in overlapping spans of
//!    the observation (first to last contact of each node since the kill): two nodes both
//!    acting as its owner. Then the node is started again (same data directory, same node id)
//!    and takes its share back; the hand-back is watched for hosts pinged twice the same way.
//!
//! PostgreSQL: `HOSTPLANE_TEST_PG_URL` or the throwaway cluster `hostplane-testkit` starts.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::{json, Value};

use crate::api::Api;
use crate::bulk::{add_all, wait_connected};
use crate::{pct, procs, Ctx, Outcome, Row, Server, Sim};

const KEY: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";
const NODES: usize = 3;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn source(i: usize) -> String {
    format!("127.0.99.{}", i + 1)
}

/// (first, last) contact of each node with one host since the last reset, by node index.
type Contacts = HashMap<usize, (i64, i64)>;

/// Every host's contacts, in host order, from every simulator process.
async fn contacts(sim: &Sim) -> anyhow::Result<Vec<Contacts>> {
    let mut out = vec![Contacts::new(); sim.addrs.len()];
    for p in &sim.parts {
        let list: Vec<Value> = sim
            .http
            .get(format!("{}/peers", p.control))
            .send()
            .await?
            .json()
            .await?;
        for h in list {
            let i = p.offset + h["index"].as_u64().context("index")? as usize;
            for (ip, st) in h["peers"].as_object().context("peers")? {
                let node = (0..NODES).find(|n| source(*n) == *ip);
                let Some(node) = node else {
                    anyhow::bail!("host {i} was contacted from {ip}, which is no node");
                };
                let first = st["firstMs"].as_i64().unwrap_or(0);
                let last = st["lastMs"].as_i64().unwrap_or(0);
                out[i].insert(node, (first, last));
            }
        }
    }
    Ok(out)
}

async fn reset(sim: &Sim) -> anyhow::Result<()> {
    for p in &sim.parts {
        sim.http
            .delete(format!("{}/peers", p.control))
            .send()
            .await?;
    }
    Ok(())
}

/// Hosts that two nodes pinged in overlapping spans.
fn pinged_twice(c: &[Contacts]) -> usize {
    c.iter()
        .filter(|h| {
            let spans: Vec<(i64, i64)> = h.values().copied().collect();
            spans
                .iter()
                .enumerate()
                .any(|(i, a)| spans[i + 1..].iter().any(|b| a.0 <= b.1 && b.0 <= a.1))
        })
        .count()
}

struct Node {
    server: Server,
    dir: std::path::PathBuf,
    starts: usize,
}

async fn start_node(
    ctx: &Ctx,
    i: usize,
    dir: &std::path::Path,
    url: &str,
    port: u16,
    starts: usize,
) -> anyhow::Result<Server> {
    let args = vec![
        "--database-url".to_string(),
        url.to_string(),
        "--ssh-source-address".to_string(),
        source(i),
    ];
    ctx.server_with(
        dir,
        &format!("k-node{i}.{starts}.log"),
        port,
        &args,
        &[("HOSTPLANE_SECRET_KEY", KEY)],
    )
    .await
}

/// Wait until `api` lists `n` live management nodes.
async fn wait_nodes(api: &Api, n: usize, within: Duration) -> anyhow::Result<()> {
    let t = Instant::now();
    loop {
        if let Ok((200, v)) = api
            .req(reqwest::Method::GET, "/management-nodes", None)
            .await
        {
            if v["inventories"].as_array().map(Vec::len) == Some(n) {
                return Ok(());
            }
        }
        anyhow::ensure!(
            t.elapsed() < within,
            "{n} management nodes not listed within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.mode.pick(10_000, 2_000, 60);
    let kills = ctx.mode.pick(5, 3, 1);
    let interval = ctx.mode.pick(60u64, 60, 10);
    let window = Duration::from_secs(ctx.mode.pick(120, 70, 12));
    let db = tokio::task::spawn_blocking(hostplane_testkit::pg::TestDb::create).await?;
    let sim = ctx.sim(n, "127.7.0.1", "k-sim.log").await?;
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..NODES {
        let dir = ctx.dir(&format!("k{i}"))?;
        let server = start_node(ctx, i, &dir, &db.url, crate::free_port()?, 0).await?;
        nodes.push(Node {
            server,
            dir,
            starts: 1,
        });
    }
    let apis: Vec<Api> = {
        let mut v = Vec::new();
        for nd in &nodes {
            v.push(Api::login(&nd.server.base).await?);
        }
        v
    };
    for api in &apis {
        wait_nodes(api, NODES, Duration::from_secs(30)).await?;
    }
    let node_ids: Vec<String> = nodes
        .iter()
        .map(|nd| std::fs::read_to_string(nd.dir.join("node-uuid")).map(|s| s.trim().to_string()))
        .collect::<Result<_, _>>()?;
    let api = &apis[0];
    api.set_config("host", "ping.interval", &interval.to_string())
        .await?;
    let zone = api.create_zone("k").await?;
    let mut clusters = Vec::new();
    for k in 0..ctx.mode.pick(10, 2, 1) {
        clusters.push(api.create_cluster(&zone, &format!("g-{k}")).await?);
    }

    eprintln!("  adding {n} hosts through node 0 ...");
    let t0 = Instant::now();
    add_all(api, &sim, &clusters, 100).await?;
    let added = wait_connected(api, n, t0, Duration::from_secs(900)).await?;
    eprintln!(
        "  {n} hosts Connected in {:.1} s; steady state",
        added.as_secs_f64()
    );

    // 1. Steady state: a first interval for every host's first ping, then the window.
    tokio::time::sleep(Duration::from_secs(interval + 5)).await;
    reset(&sim).await?;
    let mut meters = Vec::new();
    for nd in &nodes {
        meters.push(procs::Meter::start(nd.server.proc.pid())?);
    }
    let t = Instant::now();
    while t.elapsed() < window {
        tokio::time::sleep(Duration::from_secs(5)).await;
        for m in &mut meters {
            m.sample();
        }
    }
    let steady: Vec<procs::MeterResult> = meters
        .into_iter()
        .map(|m| m.finish())
        .collect::<anyhow::Result<_>>()?;
    let c = contacts(&sim).await?;
    let unpinged = c.iter().filter(|h| h.is_empty()).count();
    let steady_twice = pinged_twice(&c);
    // Who owns each host by the ring, and whether the pings followed it.
    let ring = hostplane_server::domain::plane::ring::Ring::new(node_ids.clone());
    let (s, b) = api
        .req(
            reqwest::Method::GET,
            &format!("/hosts?fields=uuid,managementIp&limit={n}"),
            None,
        )
        .await?;
    anyhow::ensure!(s == 200, "QueryHost: {s} {b}");
    let by_ip: HashMap<&str, usize> = sim
        .addrs
        .iter()
        .enumerate()
        .map(|(i, (ip, _))| (ip.as_str(), i))
        .collect();
    let mut owners = vec![usize::MAX; n];
    for h in b["inventories"].as_array().context("inventories")? {
        let ip = h["managementIp"].as_str().context("ip")?;
        let uuid = h["uuid"].as_str().context("uuid")?;
        let node = ring.owner(uuid).context("an empty ring")?;
        owners[by_ip[ip]] = node_ids.iter().position(|u| u == node).context("node")?;
    }
    anyhow::ensure!(
        !owners.contains(&usize::MAX),
        "QueryHost did not list every host"
    );
    let off_ring = c
        .iter()
        .zip(&owners)
        .filter(|(h, o)| h.keys().any(|n| n != *o))
        .count();
    let mut shares = [0usize; NODES];
    for o in &owners {
        shares[*o] += 1;
    }
    eprintln!("  shares {shares:?}, {unpinged} hosts not pinged in the window, {off_ring} pinged by another node than the ring's, {steady_twice} pinged by two nodes");

    // 2. Failovers.
    let mut failovers = Vec::new();
    let mut twice_failover = 0;
    let mut twice_handback = 0;
    let mut details = Vec::new();
    for k in 0..kills {
        let victim = k % NODES;
        let theirs: Vec<usize> = (0..n).filter(|h| owners[*h] == victim).collect();
        reset(&sim).await?;
        let killed = now_ms();
        let _ = nodes[victim].server.proc.child.kill(); // SIGKILL
        let _ = nodes[victim].server.proc.child.wait();
        let watch_until = Instant::now() + Duration::from_secs(60);
        let mut took = None;
        while Instant::now() < watch_until {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let c = contacts(&sim).await?;
            let firsts: Option<Vec<i64>> = theirs
                .iter()
                .map(|h| {
                    c[*h]
                        .iter()
                        .filter(|(n, _)| **n != victim)
                        .map(|(_, s)| s.0)
                        .min()
                })
                .collect();
            if let Some(f) = firsts {
                took = Some((f.into_iter().max().unwrap_or(killed) - killed) as f64 / 1000.0);
                break;
            }
        }
        let took =
            took.context("the dead node's hosts were not all pinged by the others within 60 s")?;
        // Watch a little longer: overlapping pings would show now.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let c = contacts(&sim).await?;
        let twice = pinged_twice(&c);
        twice_failover += twice;
        eprintln!("  failover {k}: node {victim} killed, its {} hosts pinged by the others after {took:.2} s; {twice} pinged twice", theirs.len());

        // The node comes back on the same data directory and port.
        reset(&sim).await?;
        let port = nodes[victim].server.port;
        let starts = nodes[victim].starts;
        let dir = nodes[victim].dir.clone();
        nodes[victim].server = start_node(ctx, victim, &dir, &db.url, port, starts).await?;
        nodes[victim].starts += 1;
        for api in &apis {
            wait_nodes(api, NODES, Duration::from_secs(30)).await?;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let c = contacts(&sim).await?;
        let back_twice = pinged_twice(&c);
        twice_handback += back_twice;
        details.push(
            json!({"victim": victim, "hosts": theirs.len(), "failoverS": took,
            "pingedTwice": twice, "pingedTwiceOnReturn": back_twice}),
        );
        failovers.push(took);
    }
    let median = pct(&failovers, 50.0);
    let worst = failovers.iter().cloned().fold(f64::NAN, f64::max);
    let cpu: Vec<String> = steady
        .iter()
        .map(|m| format!("{:.1}%", m.cpu_pct()))
        .collect();
    let rss: Vec<String> = steady
        .iter()
        .map(|m| format!("{:.0}", m.rss_mean_mib * 1.048576))
        .collect();
    for nd in &mut nodes {
        nd.server.proc.stop();
    }
    drop(db);
    Ok(Outcome {
        json: json!({
            "hosts": n, "nodes": NODES, "pingIntervalS": interval,
            "addAllConnectedS": added.as_secs_f64(), "shares": shares,
            "steady": steady.iter().map(|m| json!({"cpuPctOfOneCore": m.cpu_pct(),
                "rssMeanMB": m.rss_mean_mib * 1.048576, "rssMaxMB": m.rss_max_mib * 1.048576,
                "windowS": m.wall_s})).collect::<Vec<_>>(),
            "steadyUnpinged": unpinged, "steadyPingedTwice": steady_twice,
            "steadyPingedByAnotherThanTheRingOwner": off_ring,
            "failoversS": failovers, "failoverMedianS": median, "failoverWorstS": worst,
            "pingedTwiceDuringFailovers": twice_failover, "pingedTwiceOnReturn": twice_handback,
            "failovers": details, "simProcesses": sim.parts.len(),
        }),
        rows: vec![
            Row::new(
                "k",
                format!("{n} sim hosts added through one of 3 nodes → all Connected"),
                format!("{:.0} s; shares {shares:?}", added.as_secs_f64()),
            ),
            Row::new(
                "k",
                format!("steady state: hosts not pinged in {:.0} s / pinged by another node than the ring's owner", window.as_secs_f64()),
                format!("{unpinged} / {off_ring}"),
            )
            .target("0 / 0", unpinged + off_ring == 0),
            Row::new(
                "k",
                format!("each node's CPU / RSS, ping {interval} s, {:.0} s window", window.as_secs_f64()),
                format!("CPU {} of a core; RSS {} MB", cpu.join(" / "), rss.join(" / ")),
            ),
            Row::new(
                "k",
                format!("kill -9 of a node → all its hosts pinged by the others (median / worst of {kills})"),
                format!("{median:.1} s / {worst:.1} s"),
            )
            .target("≤ 10 s", worst <= 10.0),
            Row::new(
                "k",
                "hosts pinged by two nodes at once: failovers / node back / steady",
                format!("{twice_failover} / {twice_handback} / {steady_twice}"),
            )
            .target("0", twice_failover + twice_handback + steady_twice == 0),
        ],
    })
}
