//! Membership: joining the plane, the heartbeat loop, declaring nodes dead and taking over
//! their work, and leaving.
//!
//! The heartbeat is written every heartbeat interval by a thread of its own, on a database
//! connection of its own (a busy node must not be declared dead for waiting on its pool); a
//! heartbeat that finds no row means the others declared this node dead: it joins again and
//! holds off pinging for a heartbeat interval. Each membership round (every quarter heartbeat
//! interval, or at once when a peer announces a change) a node
//! 1. reads every node's heartbeat age (database clock); a node older than the dead-node
//!    limit is dead: its leases go, the adds and connects it cut off are rolled back or
//!    disconnected (`host::tracker::recover`), its running jobs fail, and its row is removed —
//!    each step idempotent, so two nodes doing it at once, or one dying halfway, is harmless;
//! 2. builds the ring of the live nodes and, when it changed, moves the tracker's tasks to
//!    the new owners (`reconcile`); hosts taken from a dead node are pinged within a few
//!    seconds. Every 60 rounds (30 s) it reconciles anyway (a missed notification costs only time);
//! 3. fails the jobs of nodes that have no row at all, seen so in two rounds running.
//!
//! A node that cannot write its heartbeat stops pinging (see [`super::Plane::fenced`]) and
//! says so in its log; it starts again once a heartbeat is written.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ring::Ring;
use super::{notify, Fence, Plane, Shared};
use crate::domain::global_config::keys;
use crate::domain::global_config::Configs;
use crate::domain::{jobs, App};
use crate::store::management_nodes::HeartbeatConn;
use crate::store::management_nodes::NodeRow;

/// How soon hosts taken over from a dead node get their first ping (at most; spread at random
/// within it, and never later than a ping interval).
const TAKEOVER_WINDOW: Duration = Duration::from_millis(1500);
/// A full reconciliation of the tracked hosts every this many rounds.
const RECONCILE_EVERY: u32 = 60;

/// Join the plane and keep this node's membership up until the process ends. Returns once
/// this node is registered and knows the live nodes (so ownership is known at start-up).
pub async fn start(app: Arc<App>) -> anyhow::Result<()> {
    let host_name = app.node.host_name.clone();
    let plane = &app.plane;
    let Some(s) = &plane.shared else {
        // One node: register, forget nodes of earlier runs under other data directories (the
        // SQLite lock proves none runs), and keep the heartbeat fresh for QueryManagementNode.
        app.store
            .management_node_join(&plane.node, &host_name)
            .await?;
        app.store.management_node_remove(&plane.node, true).await?;
        let app = app.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(app.plane.heartbeat()).await;
                match app.store.management_node_heartbeat(&app.plane.node).await {
                    Ok(true) => {}
                    Ok(false) => {
                        let _ = app
                            .store
                            .management_node_join(&app.plane.node, &host_name)
                            .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "management node heartbeat failed"),
                }
            }
        });
        return Ok(());
    };
    check_secret_key(&app).await?;
    // Leases of this node's previous run: their holders are gone with it.
    app.store.leases_drop_of_node(&plane.node).await?;
    let sent = Instant::now();
    s.fence.hold(&plane.configs, sent);
    app.store
        .management_node_join(&plane.node, &host_name)
        .await?;
    s.fence.extend(&plane.configs, sent);
    let rows = app.store.management_nodes().await?;
    let (live, _) = split(plane, &rows);
    *s.ring.write().expect("ring") = Arc::new(Ring::new(live));
    tracing::info!(
        node = %plane.node,
        live = ?plane.live_nodes(),
        "joined the management plane"
    );
    plane.publish(notify::Event::Nodes).await;
    spawn_heartbeat(
        s.database_url.clone(),
        plane.node.clone(),
        host_name,
        plane.configs.clone(),
        s.fence.clone(),
    )?;
    tokio::spawn(notify::listen(app.clone(), s.database_url.clone()));
    tokio::spawn(membership_loop(app.clone()));
    Ok(())
}

/// Every node of one database must open the host credentials the others sealed: refuse to
/// start with another key rather than fail every ping.
async fn check_secret_key(app: &App) -> anyhow::Result<()> {
    for (uuid, _) in app.store.host_briefs().await?.into_iter().take(5) {
        let Some(h) = app.store.host_get(&uuid).await? else {
            continue;
        };
        if h.credential.is_some() {
            anyhow::ensure!(
                app.hosts.credential(&h).is_ok(),
                "this node's secret key cannot open the host credentials in the database: every \
                 management node of one database needs the same key (HOSTPLANE_SECRET_KEY or \
                 --secret-key; see docs/scale-out.md)"
            );
            return Ok(());
        }
    }
    Ok(())
}

/// The heartbeat runs on a thread of its own, with a runtime and a database connection of its
/// own: however busy the node is (thousands of SSH handshakes, a full connection pool), its
/// heartbeat is written on time — or, if the database cannot be reached, the node fences
/// itself on time.
fn spawn_heartbeat(
    url: String,
    node: String,
    host_name: String,
    configs: Configs,
    fence: Arc<Fence>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("hostplane-heartbeat".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the heartbeat");
            rt.block_on(heartbeat_loop(url, node, host_name, configs, fence));
        })?;
    Ok(())
}

async fn heartbeat_loop(
    url: String,
    node: String,
    host_name: String,
    configs: Configs,
    fence: Arc<Fence>,
) {
    let mut conn: Option<HeartbeatConn> = None;
    let mut failing = false;
    loop {
        if fence.stop.load(Ordering::SeqCst) {
            fence.stopped.store(true, Ordering::SeqCst);
            return;
        }
        let hb = super::heartbeat(&configs);
        let sent = Instant::now();
        let beat = async {
            if conn.is_none() {
                conn = Some(HeartbeatConn::open(&url).await?);
            }
            let c = conn.as_mut().expect("just opened");
            if c.heartbeat(&node).await? {
                return Ok(true);
            }
            c.join(&node, &host_name).await?;
            Ok::<_, sqlx::Error>(false)
        };
        let why = match tokio::time::timeout(hb, beat).await {
            Ok(Ok(alive)) => {
                if failing {
                    tracing::warn!("the database answers again: heartbeat written");
                    failing = false;
                }
                if !alive {
                    tracing::warn!(
                        node = %node,
                        "the other management nodes declared this node dead (no heartbeat for longer than {:?}); joined again",
                        super::dead_after(&configs)
                    );
                    fence.hold(&configs, sent);
                    fence.rejoined.store(true, Ordering::SeqCst);
                }
                fence.extend(&configs, sent);
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("no answer within a heartbeat interval".to_string()),
        };
        if let Some(why) = why {
            conn = None;
            fence.failed();
            if !failing {
                failing = true;
                tracing::error!(
                    error = why,
                    "cannot write this management node's heartbeat; it stops pinging hosts {:?} after its last heartbeat, before the other nodes take them over",
                    super::dead_after(&configs).saturating_sub(hb)
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(hb.saturating_sub(sent.elapsed())) => {}
            _ = fence.wake.notified() => {}
        }
    }
}

/// The live nodes (this one always among them) and the dead ones. Until this node has been
/// healthy for the dead-node limit (it just started, or the database was away), every node
/// counts as live: their heartbeats may be late for the same reason this node's were.
fn split(plane: &Plane, rows: &[NodeRow]) -> (Vec<String>, Vec<NodeRow>) {
    let limit = plane.dead_after().as_millis() as i64;
    let judge = plane
        .shared
        .as_ref()
        .is_some_and(|s| s.fence.may_judge(&plane.configs));
    let mut live = vec![plane.node.clone()];
    let mut dead = Vec::new();
    for r in rows {
        if r.uuid == plane.node {
            continue;
        }
        if r.age_ms <= limit || !judge {
            live.push(r.uuid.clone());
        } else {
            dead.push(r.clone());
        }
    }
    (live, dead)
}

/// Run a round now (a peer joined or left, or the notification connection came back).
pub(super) fn wake(app: &App) {
    if let Some(s) = &app.plane.shared {
        s.resync.store(true, Ordering::SeqCst);
        s.round_now.notify_one();
    }
}

struct Rounds {
    since_reconcile: u32,
    /// Nodes with running jobs but no row, seen in the last round.
    orphan_suspects: HashSet<String>,
}

async fn membership_loop(app: Arc<App>) {
    let s = app.plane.shared.as_ref().expect("a shared plane");
    let mut st = Rounds {
        since_reconcile: 0,
        orphan_suspects: HashSet::new(),
    };
    loop {
        tokio::select! {
            // Checking the others four times per heartbeat (a read of a few rows) finds a dead
            // node within a quarter of an interval of its limit.
            _ = tokio::time::sleep(app.plane.heartbeat() / 4) => {}
            _ = s.round_now.notified() => {}
        }
        round(&app, s, &mut st).await;
    }
}

async fn round(app: &Arc<App>, s: &Shared, st: &mut Rounds) {
    let plane = &app.plane;
    if s.fence.rejoined.swap(false, Ordering::SeqCst) {
        plane.publish(notify::Event::Nodes).await;
    }
    let hb = plane.heartbeat();
    let rows = match tokio::time::timeout(hb, app.store.management_nodes()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "could not read the management nodes");
            return;
        }
        Err(_) => return,
    };
    let (live, dead) = split(plane, &rows);
    for d in &dead {
        take_over(app, d).await;
    }
    sweep_orphans(app, st).await;

    let ring = Ring::new(live);
    let old = s.ring.read().expect("ring").clone();
    let lost = old.nodes().iter().any(|n| !ring.contains(n));
    let changed = old.nodes() != ring.nodes();
    if changed {
        tracing::info!(live = ?ring.nodes(), "the live management nodes changed");
        *s.ring.write().expect("ring") = Arc::new(ring);
    }
    st.since_reconcile += 1;
    let resync = s.resync.swap(false, Ordering::SeqCst);
    if changed || resync || st.since_reconcile >= RECONCILE_EVERY {
        st.since_reconcile = 0;
        if let Err(e) = reconcile(app, lost).await {
            tracing::warn!(error = %e, "could not reconcile the hosts this node tracks");
        }
    }
}

/// A node is dead: undo the adds and connects it cut off, end its jobs, and remove it — in
/// this order, so that a client that sees its job failed finds the host already in a state
/// with an exit. Every step can run twice (another node may be doing the same), and a step
/// that fails leaves the node's row for the next round to try again.
async fn take_over(app: &Arc<App>, d: &NodeRow) {
    tracing::warn!(
        node = %d.uuid,
        last_heartbeat_ms_ago = d.age_ms,
        "management node is dead: failing its jobs and taking over its hosts"
    );
    if let Err(e) = app.store.leases_drop_of_node(&d.uuid).await {
        tracing::warn!(node = %d.uuid, error = %e, "could not drop the dead node's leases");
        return;
    }
    if let Err(e) = crate::domain::host::tracker::recover(app).await {
        tracing::warn!(error = %e, "could not recover the hosts the dead node was working on");
        return;
    }
    match jobs::fail_of_node(app, &d.uuid).await {
        Ok(n) if n > 0 => tracing::warn!(node = %d.uuid, jobs = n, "jobs of the dead node failed"),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(node = %d.uuid, error = %e, "could not fail the dead node's jobs");
            return;
        }
    }
    if let Err(e) = app
        .store
        .management_node_remove_dead(&d.uuid, d.heart_beat)
        .await
    {
        tracing::warn!(node = %d.uuid, error = %e, "could not remove the dead node");
    }
}

/// Jobs of nodes that have no row (removed as dead while a job of theirs was being written, or
/// a node that left): failed once seen so in two rounds running, so that a node joining again
/// after a cut-off has its round to register first.
async fn sweep_orphans(app: &Arc<App>, st: &mut Rounds) {
    let Ok(nodes) = app.store.jobs_orphan_nodes().await else {
        return;
    };
    let mut next = HashSet::new();
    for n in nodes {
        if st.orphan_suspects.contains(&n) {
            if let Err(e) = jobs::fail_of_node(app, &n).await {
                tracing::warn!(node = %n, error = %e, "could not fail a gone node's jobs");
            }
        } else {
            next.insert(n);
        }
    }
    st.orphan_suspects = next;
}

/// Make the tracked hosts those this node owns: let go of the others, and track the owned
/// ones (`taken`: some came from a node that died — ping those soon).
pub(super) async fn reconcile(app: &Arc<App>, taken: bool) -> crate::error::Result<()> {
    let hosts = app.store.host_briefs().await?;
    let owned: HashSet<&str> = hosts
        .iter()
        .map(|(u, _)| u.as_str())
        .filter(|u| app.plane.owns(u))
        .collect();
    let tracker = &app.hosts.tracker;
    let mut released = 0;
    for u in tracker.tracked_uuids() {
        if !owned.contains(u.as_str()) {
            tracker.release(&u);
            released += 1;
        }
    }
    let before = tracker.tracked();
    if app.configs.get(keys::HOST_LOAD_ALL) {
        let first = taken.then_some(TAKEOVER_WINDOW);
        for u in &owned {
            tracker.track_within(app, u, first);
        }
    }
    let added = tracker.tracked().saturating_sub(before);
    if released > 0 || added > 0 {
        tracing::info!(
            released,
            taken = added,
            tracked = tracker.tracked(),
            "hosts this node pings changed"
        );
    }
    Ok(())
}

/// Leave the plane (the server stops): stop pinging and heartbeating, and mark this node as
/// long dead, so the others take its hosts, its cut-off adds and connects and its jobs over at
/// their next check, exactly as after a crash (one path, tested by the crash tests).
pub async fn leave(app: &App) {
    let plane = &app.plane;
    let Some(s) = &plane.shared else {
        if let Err(e) = app.store.management_node_remove(&plane.node, false).await {
            tracing::warn!(error = %e, "could not remove this management node");
        }
        return;
    };
    *s.fence.fence_at.lock().expect("fence") = Some(Instant::now());
    s.fence.stop.store(true, Ordering::SeqCst);
    s.fence.wake.notify_one();
    let t = Instant::now();
    while !s.fence.stopped.load(Ordering::SeqCst) && t.elapsed() < plane.heartbeat() * 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Err(e) = app.store.management_node_mark_gone(&plane.node).await {
        tracing::warn!(error = %e, "could not tell the other management nodes this one stops");
        return;
    }
    plane.publish(notify::Event::Nodes).await;
    tracing::info!("left the management plane: the other nodes take this node's hosts over");
}
