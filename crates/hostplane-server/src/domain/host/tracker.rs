//! The ping tracker: one task per managed host.
//!
//! Every `host.ping.interval` seconds a task looks at its host:
//! - gone → the task ends; in (Pre)Maintenance → nothing this round; Connecting → nothing
//!   while a connect runs, else (a connect whose last write failed) Disconnected;
//! - Connected → ping. Up to `host.ping.maxFailure` tries, `host.ping.sleepPeriodAfterFailure`
//!   seconds apart, each bounded by `host.ping.timeout`; all tries failed → Disconnected. At
//!   most `host.ping.parallelismDegree` tries run at once; a try still running after 2 s (a
//!   silent host) leaves its slot when there is room among at most 4 × that many slow tries,
//!   and waits out its timeout there, so silent hosts do not hold up the pings of the hosts
//!   that answer. A try is one of:
//!   - a **login ping**: log in over SSH (host key checked against the pin) and refresh the
//!     takeover flag's mtime, so another manager sees the host is taken (through sudo when the
//!     login is not root and cannot write the flag, as in every connect);
//!   - a **probe**: connect to the ssh port and read sshd's identification line, no login
//!     ([`hostplane_ssh::probe`]). It proves the host is up and its sshd not hung.
//!
//!   By default (`host.ping.reuseSession` false) every `host.ping.loginEvery`-th round (5) is a
//!   login ping and the others are probes. A login ping sets the flag's mtime
//!   `(loginEvery − 1) × interval + timeout` into the host's future, so the flag stays fresh by
//!   ZStack's rule (younger than one interval) until the next login; a round probes only while
//!   the flag stays fresh past the next round. The first round after a connect, a restart or
//!   new credentials logs in, and so does a probe that reads a different identification line
//!   than the last one (sshd replaced, another machine on the address).
//!
//!   With `host.ping.reuseSession` true, each round pings over one persistent session per host
//!   instead (ZStack's agent ping is closest to this). BENCHMARKS.md (e) measures the three
//!   ways: a login per round costs the most CPU on both sides; a persistent session about
//!   100 KB of memory per host here and an sshd process on every host; the default costs
//!   little of both.
//! - Disconnected → with `host.connection.autoReconnectOnError`, and once the SSH port
//!   answers, reconnect. A reconnect that finds the password changed (HOST.1012) stops these
//!   attempts until UpdateKVMHost sets new credentials;
//!   `host.connection.autoReconnectOnError.maxAttemptsNum` (0: no limit) bounds failed ones.
//!
//! The tasks do not read their host's row every round: one statement reads the state, status
//! and last change of every host ([`Tracker`]'s snapshot, refreshed every few seconds, at most
//! half an interval old), and a task reads its full row again only when that row changed or a
//! session must be opened.
//!
//! A change of any global config wakes every task, so a new interval applies at once; each
//! task keeps its own phase (next ping = last ping + interval), so the pings of many hosts stay
//! spread over the interval instead of all falling due together after a change. A task's first
//! round comes after a random part of the interval, so hosts tracked together at start-up are
//! spread out as well.
//! At start-up, before the API opens, [`recover`] settles what a stop left half done: a host
//! still Connecting that never connected (its add was cut off) is rolled back, with its
//! takeover flag; one that had connected before (a reconnect was cut off) is Disconnected — no
//! host stays Connecting. Then [`take_over_all`] runs in the background while the API serves:
//! hosts are tracked again and the Disconnected ones reconnected (`host.load.parallelismDegree`
//! at a time), each after one try of its SSH port — a closed port leaves the host Disconnected
//! for the tracker, which reconnects it when the port answers, so hosts that are down never
//! hold the start-up pass.
//!
//! A ping that fails for this node's own want (out of open files, socket memory or local
//! ports: `HOST.SSH.LOCAL`) judges nobody either: the host keeps its status, the failure is
//! logged and counted, and the next round tries again.
//!
//! The tracker never marks a host Disconnected because the store failed: a round whose row
//! cannot be read does nothing, and a reconnect that failed on the store does not count
//! against `maxAttemptsNum`. When the node stops, every task ends and its sessions close.
//!
//! With several management nodes (`domain::plane`), a node tracks only the hosts it owns:
//! [`Tracker::track`] hands any other host to its owner, [`Tracker::release`] lets a host go
//! when the owners change (after the round in progress), and a fenced node (no heartbeat
//! written lately, or just joined) skips its rounds and never marks a host Disconnected. A host
//! taken over from a dead node is probed at once (within 1.5 s) and logged into within 20 s.
//! [`recover`] then leaves alone a Connecting host whose lease another node holds (that node
//! is adding or connecting it); the plane runs it again when a node dies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hostplane_ssh::{Session, SshError};
use tokio::task::JoinHandle;

use super::connect::{connect, ssh_reason, Mode, PortWait, LOCAL_REASON};
use super::disconnect::{mark_disconnected, Why};
use super::{connect_options, in_maintenance, CONNECTED, CONNECTING, DISCONNECTED};
use crate::domain::global_config::keys;
use crate::domain::App;
use crate::error::Code;
use crate::store::hosts::{HostBrief, HostRow};

#[derive(Default)]
struct TrackState {
    /// Told when this node no longer owns the host: the task ends (after a round under way).
    release: tokio::sync::Notify,
    session: tokio::sync::Mutex<Option<Session>>,
    /// The host's row as last read (credentials, address, pin); reread when the snapshot shows
    /// a newer change.
    row: Mutex<Option<HostRow>>,
    password_changed: AtomicBool,
    failed_reconnects: AtomicI64,
    /// Until when the takeover flag stays fresh (by ZStack's rule) after the last login ping.
    flag_fresh_until: Mutex<Option<tokio::time::Instant>>,
    /// sshd's identification line as the first probe after a login read it (or the changed
    /// line a login then accepted).
    banner: Mutex<Option<String>>,
}

struct Tracked {
    task: JoinHandle<()>,
    state: Arc<TrackState>,
}

#[derive(Default)]
pub struct Tracker {
    tasks: Mutex<HashMap<String, Tracked>>,
    /// Bounds the ping tries running at once (`host.ping.parallelismDegree`).
    ping_gate: super::Gate,
    /// Bounds the tries that outlived [`SLOW_TRY_AFTER`] and left `ping_gate`
    /// ([`SLOW_TRIES_PER_SLOT`] per slot of it).
    slow_ping_gate: super::Gate,
    /// State, status and last change of every host, as last read, and when.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
    /// One refresh of the snapshot at a time.
    refreshing: tokio::sync::Mutex<()>,
    /// When a ping last logged this node's own trouble (epoch ms).
    local_trouble_logged: AtomicI64,
    /// Bounds the tracker's statements running at once ([`STORE_SLOTS`]).
    store_gate: super::Gate,
}

/// The most store connections the tracker and the start-up pass use at once for their reads
/// and single-host writes (of the pool's 8 on SQLite, 16 on PostgreSQL), so the API keeps the
/// rest of the pool. Marking hosts Disconnected takes one connection of its own, however many
/// hosts change together ([`super::disconnect`]).
const STORE_SLOTS: usize = 3;

impl Tracker {
    /// A slot for one of the tracker's statements.
    async fn store_slot(&self) -> impl Drop + '_ {
        self.store_gate.enter(STORE_SLOTS).await
    }
}

struct Snapshot {
    at: tokio::time::Instant,
    hosts: HashMap<String, HostBrief>,
}

impl Tracker {
    /// Start tracking a host (no-op when it is tracked already; a host another management
    /// node owns is handed to it).
    pub fn track(&self, app: &Arc<App>, uuid: &str) {
        self.track_within(app, uuid, None)
    }

    /// Start tracking a host with its first round within `first` (None: within a ping
    /// interval, spread at random) — soon, for hosts taken over from a dead node; such a
    /// first round probes, and a login follows within 20 s.
    pub fn track_within(&self, app: &Arc<App>, uuid: &str, first: Option<Duration>) {
        if app.hosts.stopping.reason().is_some() {
            return;
        }
        if !app.plane.owns(uuid) {
            app.plane.hand_over(uuid);
            return;
        }
        let mut tasks = self.tasks.lock().expect("tracker");
        if tasks.get(uuid).is_some_and(|t| !t.task.is_finished()) {
            return;
        }
        let state = Arc::new(TrackState::default());
        let task = tokio::spawn(run(app.clone(), uuid.to_string(), state.clone(), first));
        tasks.insert(uuid.to_string(), Tracked { task, state });
    }

    /// The node stops: end every task, then close the sessions they kept (reuseSession) with
    /// a goodbye, all within a few seconds.
    pub async fn stop_all(&self) {
        let tracked: Vec<Tracked> = {
            let mut tasks = self.tasks.lock().expect("tracker");
            tasks.drain().map(|(_, t)| t).collect()
        };
        for t in &tracked {
            t.task.abort();
        }
        let mut sessions = Vec::new();
        for t in tracked {
            let _ = t.task.await;
            if let Some(s) = t.state.session.lock().await.take() {
                sessions.push(s);
            }
        }
        let n = sessions.len();
        let _ = tokio::time::timeout(
            Duration::from_secs(3),
            futures::future::join_all(sessions.into_iter().map(Session::close)),
        )
        .await;
        if n > 0 {
            tracing::info!(sessions = n, "closed the ping sessions");
        }
    }

    /// This node no longer owns the host: its task ends after the round it may be in.
    pub fn release(&self, uuid: &str) {
        if let Some(t) = self.tasks.lock().expect("tracker").remove(uuid) {
            t.state.release.notify_one();
        }
    }

    /// The hosts this node tracks.
    pub fn tracked_uuids(&self) -> Vec<String> {
        let tasks = self.tasks.lock().expect("tracker");
        tasks
            .iter()
            .filter(|(_, t)| !t.task.is_finished())
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// Stop tracking a host (it was deleted).
    pub fn untrack(&self, uuid: &str) {
        if let Some(t) = self.tasks.lock().expect("tracker").remove(uuid) {
            t.task.abort();
        }
    }

    /// The host rejected credentials that worked before: no automatic reconnects until
    /// [`Tracker::credentials_changed`].
    pub fn password_changed(&self, uuid: &str) {
        if let Some(t) = self.tasks.lock().expect("tracker").get(uuid) {
            t.state.password_changed.store(true, Ordering::SeqCst);
        }
    }

    /// New credentials: automatic reconnects may try again.
    pub fn credentials_changed(&self, uuid: &str) {
        if let Some(t) = self.tasks.lock().expect("tracker").get(uuid) {
            t.state.password_changed.store(false, Ordering::SeqCst);
            t.state.failed_reconnects.store(0, Ordering::SeqCst);
            *t.state.row.lock().expect("row") = None;
            *t.state.flag_fresh_until.lock().expect("fresh") = None;
            if let Ok(mut s) = t.state.session.try_lock() {
                *s = None;
            }
        }
    }

    /// The brief of a host from a snapshot at most `max_age` old (refreshed here if older).
    /// `None` inside `Some`: the host is not in the store (deleted, or added after the snapshot).
    async fn brief(&self, app: &App, uuid: &str, max_age: Duration) -> Option<Option<HostBrief>> {
        let fresh = |s: &Option<Arc<Snapshot>>| {
            s.as_ref()
                .filter(|s| s.at.elapsed() <= max_age)
                .map(|s| s.hosts.get(uuid).cloned())
        };
        if let Some(b) = fresh(&self.snapshot.lock().expect("snapshot")) {
            return Some(b);
        }
        let _one = self.refreshing.lock().await;
        if let Some(b) = fresh(&self.snapshot.lock().expect("snapshot")) {
            return Some(b); // another task refreshed it meanwhile
        }
        let at = tokio::time::Instant::now();
        let briefs = {
            let _slot = self.store_slot().await;
            app.store.host_briefs().await
        };
        match briefs {
            Ok(rows) => {
                let snap = Arc::new(Snapshot {
                    at,
                    hosts: rows.into_iter().collect(),
                });
                let b = snap.hosts.get(uuid).cloned();
                *self.snapshot.lock().expect("snapshot") = Some(snap);
                Some(b)
            }
            Err(e) => {
                tracing::warn!(error = %e, "tracker could not read the hosts");
                None
            }
        }
    }

    pub fn tracked(&self) -> usize {
        self.tasks
            .lock()
            .expect("tracker")
            .values()
            .filter(|t| !t.task.is_finished())
            .count()
    }
}

fn ping_interval(app: &App) -> Duration {
    app.configs
        .get(keys::HOST_PING_INTERVAL)
        .max(Duration::from_secs(1))
}

/// A host taken over from a dead management node logs in within this long (at most an
/// interval) after its first round, which only probes.
const TAKEOVER_LOGIN_SPREAD: Duration = Duration::from_secs(20);

/// `first`: a host taken over from a dead node (see [`Tracker::track_within`]).
async fn run(app: Arc<App>, uuid: String, st: Arc<TrackState>, first: Option<Duration>) {
    let mut takeover = first.is_some();
    let mut changes = app.configs.subscribe();
    // The first round after a random part of the interval (10-100 %), or of `first` if shorter:
    // spreads hosts that start being tracked together.
    let started = tokio::time::Instant::now();
    let phase = 0.1 + 0.9 * rand::random::<f64>();
    let first_window = |app: &App| first.map_or(ping_interval(app), |f| f.min(ping_interval(app)));
    let mut next = started + first_window(&app).mul_f64(phase);
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = st.release.notified() => return,
            r = changes.changed() => {
                if r.is_err() { return; }
                // Keep this host's phase; a new interval counts from its last round.
                next = match last {
                    Some(l) => l + ping_interval(&app),
                    None => started + first_window(&app).mul_f64(phase),
                };
                continue;
            }
        }
        let now = tokio::time::Instant::now();
        last = Some(now);
        next = now + ping_interval(&app);
        if app.plane.fenced() {
            continue; // another node may own the host by now
        }
        let h = match current_row(&app, &uuid, &st).await {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(host.uuid = %uuid, error = %e, "tracker could not read the host");
                continue;
            }
        };
        if in_maintenance(&h.state) {
            *st.session.lock().await = None;
            continue;
        }
        // Taken over from a dead node: the first round only probes — a login for each of
        // thousands of hosts at once would take longer than a failover may — and the login
        // follows within a short spread (the dead node's last login set the takeover flag
        // ahead, so it stays fresh meanwhile).
        let takeover_probe = std::mem::take(&mut takeover) && h.status == CONNECTED;
        if takeover_probe {
            let ahead = ping_interval(&app) * 2 + Duration::from_secs(1);
            *st.flag_fresh_until.lock().expect("fresh") = Some(now + ahead);
        }
        // The ping and reconnect futures (SSH handshakes inside) are large: boxed, they take
        // memory only while they run, not in each of the many sleeping tasks.
        match h.status.as_str() {
            CONNECTING => settle_stale_connecting(&app, &uuid).await,
            CONNECTED => {
                // A fenced node judges nobody: another node may own the host by now.
                if let Err(reason) = Box::pin(ping(&app, &h, &st)).await {
                    if !app.plane.fenced() && reason != LOCAL_REASON {
                        let why = Why {
                            was: CONNECTED,
                            cause: Some("ping-failed"),
                            reason: Some(reason),
                        };
                        mark_disconnected(&app, &uuid, why).await
                    }
                }
            }
            DISCONNECTED => Box::pin(try_reconnect(&app, &h, &st)).await,
            _ => {}
        }
        // A round that outlasted the interval (failed tries, a slow reconnect) is followed by a
        // full interval, not at once: a host just marked Disconnected stays so for an interval
        // before the first reconnect attempt.
        let end = tokio::time::Instant::now();
        if next <= end {
            next = end + ping_interval(&app);
        }
        if takeover_probe {
            *st.flag_fresh_until.lock().expect("fresh") = None; // the next round logs in
            let spread = TAKEOVER_LOGIN_SPREAD.min(ping_interval(&app));
            next = next.min(end + spread.mul_f64(rand::random::<f64>()));
        }
    }
}

/// The host's row for this round: the cached one when the snapshot shows no change since it
/// was read, else read again (`None`: the host is gone).
async fn current_row(app: &App, uuid: &str, st: &TrackState) -> sqlx::Result<Option<HostRow>> {
    // At most half an interval (and 5 s) old, so a round never acts on a state older than that.
    let max_age =
        (ping_interval(app) / 2).clamp(Duration::from_millis(500), Duration::from_secs(5));
    let brief = app.hosts.tracker.brief(app, uuid, max_age).await;
    if let Some(Some(b)) = &brief {
        let cached = st.row.lock().expect("row").clone();
        if let Some(mut row) = cached.filter(|r| r.last_op_date == b.last_op_date) {
            row.state = b.state.clone();
            row.status = b.status.clone();
            return Ok(Some(row));
        }
    }
    // Changed, not in the snapshot (added since), or the snapshot could not be read. A change
    // may be a reconnect, which rewrote the takeover flag with the current time: the next
    // round logs in rather than trusting the future mtime of the last login ping.
    *st.flag_fresh_until.lock().expect("fresh") = None;
    *st.banner.lock().expect("banner") = None;
    let row = {
        let _slot = app.hosts.tracker.store_slot().await;
        app.store.host_get(uuid).await?
    };
    let old = std::mem::replace(&mut *st.row.lock().expect("row"), row.clone());
    if let (Some(o), Some(n)) = (&old, &row) {
        if o.credential != n.credential {
            // New credentials (UpdateKVMHost, perhaps on another node): reconnects may try again.
            st.password_changed.store(false, Ordering::SeqCst);
            st.failed_reconnects.store(0, Ordering::SeqCst);
        }
    }
    Ok(row)
}

/// A ping try still running after this leaves its `host.ping.parallelismDegree` slot to the
/// next host and waits out `host.ping.timeout` among the slow tries. A try of a host that
/// answers takes milliseconds (a probe) to a few hundred (a login ping, BENCHMARKS.md e); one
/// that runs this long is a host whose packets are dropped (no RST, no ICMP) or whose sshd
/// hangs. Without this, such hosts would hold every slot for the whole timeout and the pings
/// of the hosts that answer would wait behind them: a failure among those would be seen
/// late. The slow tries are bounded too (each holds a socket): [`SLOW_TRIES_PER_SLOT`] per
/// slot. When they are all taken, a try keeps its slot rather than wait: a try is never
/// paused (a paused try of a host that is merely slow could time out and count as failed).
const SLOW_TRY_AFTER: Duration = Duration::from_secs(2);
const SLOW_TRIES_PER_SLOT: usize = 4;

/// Why a ping try failed: a `HOST.SSH.*` reason, or one of these.
const PING_TIMEOUT: &str = "HOST.PING.TIMEOUT";
const PING_NO_CREDENTIAL: &str = "HOST.PING.NO_CREDENTIAL";
/// This node was fenced during the ping (it cannot write its heartbeat): nothing is judged.
const PING_FENCED: &str = "HOST.PING.FENCED";

/// Up to maxFailure tries; Ok when one succeeded, else the last try's reason.
async fn ping(app: &Arc<App>, h: &HostRow, st: &TrackState) -> Result<(), &'static str> {
    let tries = app.configs.get(keys::HOST_PING_MAX_FAILURE).max(1);
    let timeout = app
        .configs
        .get(keys::HOST_PING_TIMEOUT)
        .max(Duration::from_secs(1));
    let pause = app.configs.get(keys::HOST_PING_SLEEP_AFTER_FAILURE);
    let mut reason = PING_TIMEOUT;
    for i in 0..tries {
        if app.plane.fenced() {
            return Err(PING_FENCED); // not this node's to judge any more (the caller marks nothing)
        }
        let r = {
            let tracker = &app.hosts.tracker;
            let limit = app.configs.get(keys::HOST_PING_PARALLELISM).max(1) as usize;
            let slot = tracker.ping_gate.enter(limit).await;
            let started = std::time::Instant::now();
            let deadline = tokio::time::Instant::now() + timeout;
            let attempt = ping_try(app, h, st, timeout);
            tokio::pin!(attempt);
            let r = match tokio::time::timeout(SLOW_TRY_AFTER.min(timeout), &mut attempt).await {
                Ok(r) => r,
                Err(_) => {
                    // A silent host or a hung sshd: when there is room among the slow tries,
                    // the slot goes to the next host and this try waits out its timeout
                    // aside (it goes on all the while: nothing here ever pauses a try).
                    let mut slot = Some(slot);
                    let _aside = tracker
                        .slow_ping_gate
                        .try_enter(limit * SLOW_TRIES_PER_SLOT)
                        .inspect(|_| drop(slot.take()));
                    tokio::time::timeout_at(deadline, attempt)
                        .await
                        .unwrap_or(Err(PING_TIMEOUT))
                }
            };
            app.metrics.ping(started.elapsed(), r.err());
            r
        };
        match r {
            Ok(()) => return Ok(()),
            Err(LOCAL_REASON) => {
                // This node's own trouble: the host is not judged by it (the caller marks
                // nothing); the next round tries again. It hits every host at once: logged at
                // most every 10 s, counted always (the metric).
                let now = crate::time::now_ms();
                let last = app
                    .hosts
                    .tracker
                    .local_trouble_logged
                    .load(Ordering::Relaxed);
                if now - last >= 10_000
                    && app
                        .hosts
                        .tracker
                        .local_trouble_logged
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::error!(host.uuid = %h.uuid, "could not ping the host: this management server is out of open files, socket memory or local ports; no host is judged meanwhile (logged at most every 10 s; every one is counted in hostplane_host_ping_failures_total{{reason=\"HOST.SSH.LOCAL\"}})");
                }
                return Err(LOCAL_REASON);
            }
            Err(why) => reason = why,
        }
        *st.session.lock().await = None;
        if i + 1 < tries {
            tokio::time::sleep(pause).await;
        }
    }
    tracing::warn!(host.uuid = %h.uuid, tries, reason, "host did not answer its pings");
    Err(reason)
}

/// A ping's SSH failure: counted, and its reason.
fn ping_ssh_error(app: &App, e: &SshError) -> &'static str {
    let reason = ssh_reason(e);
    app.metrics.ssh_error("ping", reason);
    reason
}

/// Whether this round may probe instead of logging in: no persistent sessions, and the
/// takeover flag the last login ping set stays fresh past the next round, which can then log
/// in. After a connect, a restart or new credentials the first round logs in.
fn probe_due(app: &App, st: &TrackState) -> bool {
    if app.configs.get(keys::HOST_PING_REUSE_SESSION) {
        return false;
    }
    let next_round = tokio::time::Instant::now() + ping_interval(app);
    st.flag_fresh_until
        .lock()
        .expect("fresh")
        .is_some_and(|until| until > next_round)
}

/// One try: a probe when one is due and sshd still says what it said before, else a login ping.
async fn ping_try(
    app: &Arc<App>,
    h: &HostRow,
    st: &TrackState,
    timeout: Duration,
) -> Result<(), &'static str> {
    if probe_due(app, st) {
        let port = h.ssh_port.unwrap_or(22) as u16;
        let source = app.node.ssh_source;
        match hostplane_ssh::read_banner_from(&h.management_ip, port, timeout, source).await {
            Ok(line) => {
                {
                    let mut known = st.banner.lock().expect("banner");
                    match known.as_ref() {
                        None => {
                            *known = Some(line);
                            return Ok(());
                        }
                        Some(k) if *k == line => return Ok(()),
                        Some(_) => {}
                    }
                }
                // Learnt only once a login accepted the host: a failed login leaves the old
                // line, so every further try logs in again instead of passing as a probe.
                tracing::info!(host.uuid = %h.uuid, "sshd's identification changed; logging in to check the host key");
                let r = login_ping(app, h, st, timeout).await;
                if r.is_ok() {
                    *st.banner.lock().expect("banner") = Some(line);
                }
                return r;
            }
            Err(e) => {
                tracing::debug!(host.uuid = %h.uuid, error = %e, "ping probe failed");
                return Err(ping_ssh_error(app, &e));
            }
        }
    }
    login_ping(app, h, st, timeout).await
}

/// Log in (or use the persistent session) and refresh the takeover flag.
async fn login_ping(
    app: &Arc<App>,
    h: &HostRow,
    st: &TrackState,
    timeout: Duration,
) -> Result<(), &'static str> {
    let reuse = app.configs.get(keys::HOST_PING_REUSE_SESSION);
    let mut guard = st.session.lock().await;
    if guard.is_none() {
        let Ok(cred) = app.hosts.credential(h) else {
            return Err(PING_NO_CREDENTIAL);
        };
        let mut opts = connect_options(app, h.host_key_fingerprint.clone());
        opts.port_wait = Duration::ZERO;
        opts.tcp_connect_timeout = timeout;
        opts.auth_timeout = timeout;
        opts.command_timeout = timeout;
        let user = h.username.clone().unwrap_or_else(|| "root".into());
        match Session::connect(
            &h.management_ip,
            h.ssh_port.unwrap_or(22) as u16,
            &user,
            &cred,
            &opts,
        )
        .await
        {
            Ok(s) => *guard = Some(s),
            Err(e) => {
                tracing::debug!(host.uuid = %h.uuid, error = %e, "ping could not open a session");
                return Err(ping_ssh_error(app, &e));
            }
        }
    }
    let session = guard.as_ref().expect("just set");
    let path = app.configs.get(keys::KVM_TAKEOVER_FLAG_PATH);
    // Fresh until the next login ping: loginEvery − 1 probe rounds, plus one try's bound.
    let every = app.configs.get(keys::HOST_PING_LOGIN_EVERY).clamp(1, 1000) as u32;
    let ahead = if reuse || every <= 1 {
        Duration::ZERO
    } else {
        ping_interval(app) * (every - 1) + timeout
    };
    let started = tokio::time::Instant::now();
    let r = match session.touch_takeover_flag(&path, ahead).await {
        Ok(()) => Ok(()),
        // The flag is gone (a reboot cleared /var/run, say): write it again.
        Err(SshError::Command {
            exit_status: Some(2),
            ..
        }) => match session.write_takeover_flag(&path, &h.uuid).await {
            Ok(()) => session.touch_takeover_flag(&path, ahead).await,
            Err(e) => Err(e),
        }
        .map_err(|e| ping_ssh_error(app, &e)),
        Err(e) => {
            tracing::debug!(host.uuid = %h.uuid, error = %e, "ping failed");
            Err(ping_ssh_error(app, &e))
        }
    };
    let ok = r.is_ok();
    if ok {
        // ZStack's rule: fresh while younger than one interval.
        *st.flag_fresh_until.lock().expect("fresh") = Some(started + ahead + ping_interval(app));
    }
    if ok && !reuse {
        if let Some(s) = guard.take() {
            s.close().await;
        }
    }
    r
}

async fn try_reconnect(app: &Arc<App>, h: &HostRow, st: &TrackState) {
    if !app.configs.get(keys::HOST_AUTO_RECONNECT) || st.password_changed.load(Ordering::SeqCst) {
        return;
    }
    let max = app.configs.get(keys::HOST_AUTO_RECONNECT_MAX_ATTEMPTS);
    if max > 0 && st.failed_reconnects.load(Ordering::SeqCst) >= max {
        return;
    }
    if !super::port_open(
        app,
        &h.management_ip,
        h.ssh_port.unwrap_or(22) as u16,
        Duration::from_secs(2),
    )
    .await
    {
        return;
    }
    let mode = Mode {
        cause: Some("auto-reconnect"),
        port: PortWait::Once,
        ..Mode::default()
    };
    match connect(app, &h.uuid, mode).await {
        Ok(()) => {
            st.failed_reconnects.store(0, Ordering::SeqCst);
            tracing::info!(host.uuid = %h.uuid, "host reconnected automatically");
        }
        Err(e) => {
            if !not_the_hosts_doing(&e) {
                st.failed_reconnects.fetch_add(1, Ordering::SeqCst);
            }
            if e.has_code(Code::HostPasswordChanged) {
                tracing::warn!(host.uuid = %h.uuid, "the host's password was changed; automatic reconnects stop until UpdateKVMHost");
            }
        }
    }
}

/// A host Connecting with no connect in flight on this node is left over from a connect whose
/// last write failed (the store was down when it ended): Disconnected, so the tracker can
/// reconnect it. The row is read again first, so an old snapshot cannot undo a connect.
async fn settle_stale_connecting(app: &Arc<App>, uuid: &str) {
    if app.hosts.connect_step(uuid).is_some() {
        return;
    }
    // Another management node may be adding or connecting it: then it holds the host's lease.
    let Ok(Some(_lease)) = app.plane.try_host_lease(uuid).await else {
        return;
    };
    let _slot = app.hosts.tracker.store_slot().await;
    if let Ok(Some(h)) = app.store.host_get(uuid).await {
        if h.status == CONNECTING && app.hosts.connect_step(uuid).is_none() {
            tracing::info!(host.uuid = %uuid, "a connect ended without recording it; the host is Disconnected");
            let why = Why {
                was: CONNECTING,
                cause: Some("connect-unrecorded"),
                reason: None,
            };
            mark_disconnected(app, uuid, why).await;
        }
    }
}

/// Whether an error came from the store (unreachable, its disk full) or this node's own want
/// of open files or ports, not from the host.
fn not_the_hosts_doing(e: &crate::error::Error) -> bool {
    e.store_hint().is_some()
        || e.opaque
            .as_ref()
            .and_then(|o| o.get("reason"))
            .is_some_and(|r| r == LOCAL_REASON)
}

/// What [`recover`] found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Recovered {
    /// Adds cut off by the stop, rolled back.
    pub rolled_back: usize,
    /// Reconnects cut off by the stop: the hosts are Disconnected now.
    pub disconnected: usize,
}

/// At start-up, before the API opens: no host stays Connecting. A host that never connected
/// (its add was cut off) is rolled back with its takeover flag; one that connected before is
/// Disconnected, for [`take_over_all`] and the tracker to reconnect.
///
/// With several management nodes it also runs when a node dies (`domain::plane`), and leaves
/// alone a host whose lease a live node holds: that node is adding or connecting it.
pub async fn recover(app: &Arc<App>) -> crate::error::Result<Recovered> {
    let mut r = Recovered::default();
    for (uuid, connected_before) in app.store.hosts_connecting().await? {
        let Some(_lease) = app.plane.try_host_lease(&uuid).await? else {
            continue;
        };
        if !app.plane.is_solo() {
            // Read again under the lease: the connect may have ended meanwhile.
            let h = app.store.host_get(&uuid).await?;
            if h.is_none_or(|h| h.status != CONNECTING) {
                continue;
            }
        }
        if connected_before {
            let why = Why {
                was: CONNECTING,
                cause: Some("boot"),
                reason: Some("HOST.CONNECT.CUT_OFF"),
            };
            mark_disconnected(app, &uuid, why).await;
            r.disconnected += 1;
        } else {
            tracing::warn!(host.uuid = %uuid, "rolling back a host whose add was cut off by a stop");
            app.hosts.tracker.untrack(&uuid);
            super::delete::roll_back(app, &uuid, true).await?;
            r.rolled_back += 1;
        }
    }
    Ok(r)
}

/// In the background at start-up: take every host back under management — track it, and
/// reconnect the Disconnected ones whose SSH port answers (`host.load.parallelismDegree` at a
/// time). Ends early when the node stops.
pub async fn take_over_all(app: Arc<App>) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    let hosts = app.store.hosts_all().await?;
    let total = hosts.len();
    let limit = Arc::new(tokio::sync::Semaphore::new(
        app.configs.get(keys::HOST_LOAD_PARALLELISM).max(1) as usize,
    ));
    let mut reconnects = tokio::task::JoinSet::new();
    for (uuid, state, status, _) in hosts {
        if app.hosts.stopping.reason().is_some() {
            break;
        }
        if !app.plane.owns(&uuid) {
            continue; // another management node's host
        }
        if app.configs.get(keys::HOST_LOAD_ALL) {
            app.hosts.tracker.track(&app, &uuid);
        }
        if app.configs.get(keys::HOST_RECONNECT_ALL_ON_BOOT)
            && !in_maintenance(&state)
            && status != CONNECTED
        {
            let permit = tokio::select! {
                p = limit.clone().acquire_owned() => p?,
                _ = app.hosts.stopping.cancelled() => break,
            };
            let a = app.clone();
            reconnects.spawn(async move {
                reconnect_at_start(&a, &uuid).await;
                drop(permit);
            });
            // Reap the finished ones as we go: the set stays as small as the permits.
            while reconnects.try_join_next().is_some() {}
        }
    }
    while reconnects.join_next().await.is_some() {}
    tracing::info!(
        hosts = total,
        duration_ms = started.elapsed().as_millis() as u64,
        "start-up pass over the hosts done"
    );
    Ok(())
}

/// One start-up reconnect: one try of the SSH port; closed, the host stays Disconnected and the
/// tracker reconnects it once the port answers.
async fn reconnect_at_start(app: &Arc<App>, uuid: &str) {
    let row = {
        let _slot = app.hosts.tracker.store_slot().await;
        app.store.host_get(uuid).await
    };
    let Ok(Some(h)) = row else {
        return;
    };
    let wait = app
        .configs
        .get(keys::KVM_SSH_PORT_CONNECT_TIMEOUT)
        .max(Duration::from_secs(1));
    if !super::port_open(app, &h.management_ip, h.ssh_port.unwrap_or(22) as u16, wait).await {
        if h.status != super::DISCONNECTED {
            let why = Why {
                was: &h.status,
                cause: Some("boot"),
                reason: Some("HOST.SSH.PORT_CLOSED"),
            };
            mark_disconnected(app, uuid, why).await;
        }
        return;
    }
    let once = Mode {
        cause: Some("boot"),
        port: PortWait::Once,
        ..Mode::default()
    };
    if let Err(e) = connect(app, uuid, once).await {
        tracing::warn!(host.uuid = %uuid, error = %e, "reconnect at start-up failed");
    }
}
