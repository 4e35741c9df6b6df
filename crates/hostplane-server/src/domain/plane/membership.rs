//! Membership: joining the plane, the heartbeat loop, declaring nodes dead and taking over
//! their work, and leaving.
//!
//! Each round (every heartbeat interval, or at once when a peer announces a change) a node
//! 1. writes its heartbeat; a heartbeat that finds no row means the others declared this node
//!    dead: it joins again and holds off pinging for a heartbeat interval;
//! 2. reads every node's heartbeat age (database clock); a node older than the dead-node
//!    limit is dead: its running jobs fail, its leases go, the adds and connects it cut off
//!    are rolled back or disconnected ([`recover_cut_off`]), and its row is removed — each
//!    step idempotent, so two nodes doing it at once, or one dying halfway, is harmless;
//! 3. builds the ring of the live nodes and, when it changed, moves the tracker's tasks to
//!    the new owners ([`reconcile`]); hosts taken from a dead node are pinged within a few
//!    seconds. Every 15 rounds it reconciles anyway (a missed notification costs only time);
//! 4. fails the jobs of nodes that have no row at all, seen so in two rounds running.
//!
//! A node that cannot write its heartbeat stops pinging (see [`super::Plane::fenced`]) and
//! says so in its log; it starts again once a heartbeat is written.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ring::Ring;
use super::{notify, Plane, Shared, MARGIN};
use crate::domain::global_config::keys;
use crate::domain::host::{connect::mark_disconnected, CONNECTING};
use crate::domain::{jobs, App};
use crate::store::management_nodes::NodeRow;

/// How soon hosts taken over from a dead node get their first ping (at most; spread at random
/// within it, and never later than a ping interval).
const TAKEOVER_WINDOW: Duration = Duration::from_secs(3);
/// A full reconciliation of the tracked hosts every this many rounds.
const RECONCILE_EVERY: u32 = 15;

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
    join(&app, s, &host_name).await?;
    let rows = app.store.management_nodes().await?;
    let (live, _) = split(plane, &rows);
    *s.ring.write().expect("ring") = Arc::new(Ring::new(live));
    tracing::info!(
        node = %plane.node,
        live = ?plane.live_nodes(),
        "joined the management plane"
    );
    tokio::spawn(notify::listen(app.clone(), s.database_url.clone()));
    let app2 = app.clone();
    tokio::spawn(async move { heartbeat_loop(app2, host_name).await });
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

/// Register this node and hold off pinging until the others have seen it.
async fn join(app: &App, s: &Shared, host_name: &str) -> anyhow::Result<()> {
    let plane = &app.plane;
    let sent = Instant::now();
    *s.hold_until.lock().expect("hold") = Some(sent + plane.heartbeat() + MARGIN);
    app.store
        .management_node_join(&plane.node, host_name)
        .await?;
    extend_fence(plane, s, sent);
    plane.publish(notify::Event::Nodes).await;
    Ok(())
}

/// A heartbeat sent at `sent` was written: this node may ping until the others could declare
/// it dead, less a heartbeat interval.
fn extend_fence(plane: &Plane, s: &Shared, sent: Instant) {
    let until = sent + plane.dead_after().saturating_sub(plane.heartbeat());
    let mut f = s.fence_at.lock().expect("fence");
    if f.is_none_or(|at| at < until) {
        *f = Some(until);
    }
}

/// The live nodes (this one always among them) and the dead ones.
fn split(plane: &Plane, rows: &[NodeRow]) -> (Vec<String>, Vec<NodeRow>) {
    let limit = plane.dead_after().as_millis() as i64;
    let mut live = vec![plane.node.clone()];
    let mut dead = Vec::new();
    for r in rows {
        if r.uuid == plane.node {
            continue;
        }
        if r.age_ms <= limit {
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
    /// Whether the last round could not write the heartbeat (to log changes only).
    failing: bool,
}

async fn heartbeat_loop(app: Arc<App>, host_name: String) {
    let s = app.plane.shared.as_ref().expect("a shared plane");
    let mut st = Rounds {
        since_reconcile: 0,
        orphan_suspects: HashSet::new(),
        failing: false,
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(app.plane.heartbeat()) => {}
            _ = s.round_now.notified() => {}
        }
        round(&app, s, &host_name, &mut st).await;
    }
}

async fn round(app: &Arc<App>, s: &Shared, host_name: &str, st: &mut Rounds) {
    let plane = &app.plane;
    let hb = plane.heartbeat();
    let sent = Instant::now();
    match tokio::time::timeout(hb, app.store.management_node_heartbeat(&plane.node)).await {
        Ok(Ok(alive)) => {
            if st.failing {
                tracing::warn!("the database answers again: heartbeat written");
                st.failing = false;
            }
            if alive {
                extend_fence(plane, s, sent);
            } else {
                tracing::warn!(
                    node = %plane.node,
                    "the other management nodes declared this node dead (no heartbeat for longer than {:?}); joining again",
                    plane.dead_after()
                );
                if let Err(e) = join(app, s, host_name).await {
                    tracing::warn!(error = %e, "could not join the management plane again");
                    return;
                }
            }
        }
        Ok(Err(e)) => {
            heartbeat_failed(plane, st, &e.to_string());
            return;
        }
        Err(_) => {
            heartbeat_failed(plane, st, "no answer within a heartbeat interval");
            return;
        }
    }
    let rows = match tokio::time::timeout(hb, app.store.management_nodes()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not read the management nodes");
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

fn heartbeat_failed(plane: &Plane, st: &mut Rounds, why: &str) {
    if !st.failing {
        st.failing = true;
        tracing::error!(
            error = why,
            "cannot write this management node's heartbeat; it stops pinging hosts {:?} after its last heartbeat, before the other nodes take them over",
            plane.dead_after().saturating_sub(plane.heartbeat())
        );
    }
}

/// A node is dead: end its jobs, drop its leases, undo the adds and connects it cut off, and
/// remove it. Every step can run twice (another node may be doing the same).
async fn take_over(app: &Arc<App>, d: &NodeRow) {
    tracing::warn!(
        node = %d.uuid,
        last_heartbeat_ms_ago = d.age_ms,
        "management node is dead: failing its jobs and taking over its hosts"
    );
    match jobs::fail_of_node(app, &d.uuid).await {
        Ok(n) if n > 0 => tracing::warn!(node = %d.uuid, jobs = n, "jobs of the dead node failed"),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(node = %d.uuid, error = %e, "could not fail the dead node's jobs");
            return;
        }
    }
    match app.store.leases_drop_of_node(&d.uuid).await {
        Ok(0) => {}
        Ok(_) => {
            if let Err(e) = recover_cut_off(app).await {
                tracing::warn!(error = %e, "could not recover the hosts the dead node was working on");
                return;
            }
        }
        Err(e) => {
            tracing::warn!(node = %d.uuid, error = %e, "could not drop the dead node's leases");
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

/// Adds and connects cut off by a node that died (or by this node's previous run): every host
/// still Connecting whose lease nobody holds. One that never connected is rolled back (its
/// add failed); one that did is Disconnected (the tracker reconnects it).
pub async fn recover_cut_off(app: &Arc<App>) -> crate::error::Result<()> {
    for (uuid, _, status, connected_before) in app.store.hosts_all().await? {
        if status != CONNECTING {
            continue;
        }
        let Some(_lease) = app.plane.try_lease(&format!("host:{uuid}")).await? else {
            continue; // a live node is adding or connecting it
        };
        let Some(h) = app.store.host_get(&uuid).await? else {
            continue;
        };
        if h.status != CONNECTING {
            continue;
        }
        // Never connected: no facts then, none now (a connect in between would have set them).
        if !connected_before && h.architecture.is_none() {
            tracing::warn!(host.uuid = %uuid, "rolling back a host whose add was cut off by a management node's stop");
            app.hosts.tracker.untrack(&uuid);
            app.store.host_delete(&uuid).await?;
        } else {
            tracing::warn!(host.uuid = %uuid, "a connect of this host was cut off by a management node's stop");
            mark_disconnected(app, &uuid).await;
        }
    }
    Ok(())
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

/// Leave the plane (the server stops): stop pinging, remove this node so the others take its
/// hosts at once.
pub async fn leave(app: &App) {
    let plane = &app.plane;
    if let Some(s) = &plane.shared {
        *s.fence_at.lock().expect("fence") = Some(Instant::now());
    }
    if let Err(e) = app.store.management_node_remove(&plane.node, false).await {
        tracing::warn!(error = %e, "could not remove this management node");
        return;
    }
    plane.publish(notify::Event::Nodes).await;
}
