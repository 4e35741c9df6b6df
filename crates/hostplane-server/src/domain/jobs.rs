//! Asynchronous API calls as durable jobs.
//!
//! [`submit`] writes the job row (state `Running`) and only then starts the work, so a job the
//! client was told about always exists. The work runs in its own task; the job waits for it up
//! to the API's timeout (SYS.1001 after that — the work itself goes on and cleans up after
//! itself) and records the result. Results are kept `rest.completedApi.expiredPeriod` seconds
//! and swept every `rest.expiredApi.scanInterval` seconds. At start-up, [`fail_interrupted`]
//! ends every job a previous run left `Running`, with an error that says the server restarted.
//! A result that cannot be written because the store is down is written again until it is back.
//!
//! On a graceful stop ([`close`], [`wait_idle`], [`cut_off`]) no new job starts, running jobs
//! may finish for the grace period, and the rest end with an error that says the management
//! node stopped, so a poll after the restart tells the truth.
//!
//! With several management nodes a job row names the node that runs it: any node answers its
//! polls, a restart fails only that node's jobs, and when a node dies the others end its jobs
//! ([`fail_of_node`]).
//!
//! A stored result is `{"output": Output}` or `{"error": ErrorCode}`; the faces render it.
//!
//! While a job runs, the step it is at (e.g. `collect-facts`) is kept in memory, in the
//! [`Jobs`] its [`App`] owns: operations call [`step`], pollers read [`current_step`]. It is
//! progress for people, not state: it is not stored and a restart forgets it. The entry goes
//! when the work ends (not when the job times out while its work goes on).
//!
//! The same steps are also kept per host while a connect of that host runs ([`host_task`]:
//! AddKVMHost, the rows of AddKVMHostFromConfigFile, ReconnectHost, automatic reconnects), so
//! GetHostTask can say which host is at which step, and for which API call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tracing::Instrument;

use super::cancel::Cancel;
use super::global_config::keys;
use super::{App, Output};
use crate::error::{Code, Error, Result};
use crate::store::jobs::{JobRow, RunningJobs, FAILED, SUCCEEDED};
use crate::time::now_ms;

/// The steps of the jobs whose work is running, by job uuid; the host tasks running, by host
/// uuid; the answers to async calls refused before any work; the bound on result deliveries;
/// and the running jobs themselves, for a graceful stop. Owned by [`App`].
#[derive(Clone)]
pub struct Jobs {
    steps: Arc<Mutex<HashMap<String, String>>>,
    hosts: Arc<Mutex<HashMap<String, HostTask>>>,
    pub refused: Arc<super::refused::Refused>,
    /// Results being delivered to callers' URLs (webhooks) at once, at most.
    pub deliveries: Arc<tokio::sync::Semaphore>,
    /// Jobs not yet recorded as finished.
    running: Arc<tokio::sync::watch::Sender<usize>>,
    /// Set when the stop begins: no new job starts.
    closing: Arc<std::sync::atomic::AtomicBool>,
    /// Set when the grace period is over: running jobs end as failed.
    stop: Cancel,
}

/// Result deliveries (webhooks) running at once, at most; more wait their turn.
pub const MAX_DELIVERIES: usize = 32;

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            steps: Default::default(),
            hosts: Default::default(),
            refused: Default::default(),
            deliveries: Arc::new(tokio::sync::Semaphore::new(MAX_DELIVERIES)),
            running: Default::default(),
            closing: Default::default(),
            stop: Default::default(),
        }
    }
}

/// A task running on one host (a connect), as GetHostTask reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTask {
    /// `add-host` or `reconnect-host`.
    pub name: String,
    /// The step it is at (`ssh-login`, `collect-facts` ...).
    pub step: String,
    /// Epoch ms it started.
    pub started_ms: i64,
    /// The job it runs for, and that job's API (none for an automatic reconnect).
    pub job: Option<String>,
    pub api: Option<String>,
}

impl Jobs {
    /// How many running jobs have reported a step.
    pub fn with_steps(&self) -> usize {
        self.steps.lock().expect("job steps").len()
    }

    /// How many jobs are running.
    pub fn running(&self) -> usize {
        *self.running.borrow()
    }
}

/// What a job that the stop cut off ends with.
fn stopped_error(why: &str) -> Error {
    Error::operation(format!(
        "the management node stopped while this job was running ({why}), so the job was cut off; \
         check the state of the resource it was working on and call the API again"
    ))
    .with_opaque("reason", "JOB.NODE_STOPPED")
    .with_opaque(
        "hint",
        "check the resource (for a host: its status), then call the API again",
    )
}

/// The job a piece of work belongs to, for [`step`] and [`current`].
#[derive(Clone)]
struct Current {
    job: String,
    api: String,
    steps: Arc<Mutex<HashMap<String, String>>>,
}

/// A running job, as the work inside it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    pub uuid: String,
    /// The API the job runs, e.g. `ReconnectHost`.
    pub api: String,
}

/// The job the current work runs in (None outside a job: the tracker, start-up, ...).
pub fn current() -> Option<JobRef> {
    JOB.try_with(|c| JobRef {
        uuid: c.job.clone(),
        api: c.api.clone(),
    })
    .ok()
}

/// The host a connect is for, for [`step`].
#[derive(Clone)]
struct CurrentHost {
    uuid: String,
    hosts: Arc<Mutex<HashMap<String, HostTask>>>,
}

tokio::task_local! {
    static JOB: Current;
    static HOST: CurrentHost;
}

/// Record the step the current job (and the current host task) is at (no-op outside them).
pub fn step(name: &str) {
    let _ = JOB.try_with(|c| {
        c.steps
            .lock()
            .expect("job steps")
            .insert(c.job.clone(), name.to_string());
    });
    let _ = HOST.try_with(|h| {
        if let Some(t) = h.hosts.lock().expect("host tasks").get_mut(&h.uuid) {
            t.step = name.to_string();
        }
    });
}

/// Removes a host task when its work ends, however it ends.
struct HostTaskGuard {
    uuid: String,
    hosts: Arc<Mutex<HashMap<String, HostTask>>>,
}

impl Drop for HostTaskGuard {
    fn drop(&mut self) {
        self.hosts.lock().expect("host tasks").remove(&self.uuid);
    }
}

/// Run `work` as the host task `name` of host `uuid`: listed by [`host_tasks`] while it runs,
/// with the steps [`step`] records inside it.
pub async fn host_task<F: Future>(app: &App, uuid: &str, name: &str, work: F) -> F::Output {
    let (job, api) = JOB
        .try_with(|c| (Some(c.job.clone()), Some(c.api.clone())))
        .unwrap_or((None, None));
    let hosts = app.jobs.hosts.clone();
    hosts.lock().expect("host tasks").insert(
        uuid.to_string(),
        HostTask {
            name: name.to_string(),
            step: "start".into(),
            started_ms: now_ms(),
            job,
            api,
        },
    );
    let _guard = HostTaskGuard {
        uuid: uuid.to_string(),
        hosts: hosts.clone(),
    };
    let current = CurrentHost {
        uuid: uuid.to_string(),
        hosts,
    };
    HOST.scope(current, work).await
}

/// Spawn `work` as a part of the current job (if any): the host tasks it runs name the job and
/// its API, but its steps do not overwrite the job's own step (a bulk job reports its own
/// progress with [`step`]).
pub fn spawn_part<F>(work: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match JOB.try_with(|c| Current {
        job: c.job.clone(),
        api: c.api.clone(),
        steps: Arc::default(),
    }) {
        Ok(c) => tokio::spawn(JOB.scope(c, work)),
        Err(_) => tokio::spawn(work),
    }
}

/// The host task running on each of `uuids` (absent: none).
pub fn host_tasks(app: &App, uuids: &[String]) -> HashMap<String, HostTask> {
    let m = app.jobs.hosts.lock().expect("host tasks");
    uuids
        .iter()
        .filter_map(|u| m.get(u).map(|t| (u.clone(), t.clone())))
        .collect()
}

/// The step a running job reported last.
pub fn current_step(app: &App, job: &str) -> Option<String> {
    app.jobs.steps.lock().expect("job steps").get(job).cloned()
}

/// Why a job could not be created.
#[derive(Debug)]
pub enum SubmitError {
    /// `X-Job-UUID` named a job that exists (or existed).
    Duplicate(String),
    Store(Error),
}

/// A finished job's outcome.
pub type JobResult = std::result::Result<Output, Error>;

/// Called with the job's uuid and outcome once it is recorded (the REST face uses it for
/// `X-Web-Hook`).
pub type OnFinish = Box<dyn FnOnce(String, JobResult) + Send + 'static>;

/// Create the job row, then run `work` in the background. Returns the job uuid.
pub async fn submit<F>(
    app: &Arc<App>,
    job_uuid: Option<String>,
    api: &str,
    timeout: Duration,
    work: F,
    on_finish: Option<OnFinish>,
) -> std::result::Result<String, SubmitError>
where
    F: Future<Output = Result<Output>> + Send + 'static,
{
    let uuid = job_uuid.unwrap_or_else(super::new_uuid);
    if app.jobs.closing.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(SubmitError::Store(
            Error::operation("the management node is stopping and starts no new job")
                .with_opaque("reason", "JOB.NODE_STOPPING")
                .with_opaque("hint", "call the API again once the node is back"),
        ));
    }
    match app
        .store
        .job_insert(&uuid, api, &app.node.uuid, now_ms())
        .await
    {
        Ok(()) => {}
        Err(Ok(_dup)) => return Err(SubmitError::Duplicate(uuid)),
        Err(Err(e)) => return Err(SubmitError::Store(e.into())),
    }
    let app = app.clone();
    let job = uuid.clone();
    let job_id = uuid.clone();
    let api = api.to_string();
    let current = Current {
        job: job.clone(),
        api: api.clone(),
        steps: app.jobs.steps.clone(),
    };
    // Every log line of the work carries the job (and, in JSON logs, its API).
    let span = tracing::info_span!("job", job = %job, api = %api);
    let started = std::time::Instant::now();
    let outer = span.clone();
    app.jobs.running.send_modify(|n| *n += 1);
    tokio::spawn(
        async move {
            let steps = current.steps.clone();
            let mut work = tokio::spawn(
                JOB.scope(current, async move {
                    let r = work.await;
                    // Whether it ended in time or after the job timed out: its step goes with it.
                    steps.lock().expect("job steps").remove(&job_id);
                    r
                })
                .instrument(span),
            );
            let mut timed_out = false;
            let result = tokio::select! {
                r = tokio::time::timeout(timeout, &mut work) => match r {
                    Ok(Ok(r)) => r,
                    Ok(Err(panic)) => Err(Error::internal_logged("the operation", panic)),
                    Err(_) => Err({
                        timed_out = true;
                        Error::new(
                            Code::Timeout,
                            format!(
                                "{api} did not finish within {} ms; it goes on in the background",
                                timeout.as_millis()
                            ),
                        )
                    }),
                },
                why = app.jobs.stop.cancelled() => {
                    work.abort();
                    Err(stopped_error(&why))
                }
            };
            if let Err(e) = &result {
                tracing::info!(job = %job, api = %api, error = %e, "job failed");
            }
            let outcome = match (&result, timed_out) {
                (Ok(_), _) => "succeeded",
                (Err(_), true) => "timeout",
                (Err(_), false) => "failed",
            };
            app.metrics.job(&api, outcome, started.elapsed());
            finish(&app, &job, &result).await;
            app.jobs.running.send_modify(|n| *n -= 1);
            if let Some(f) = on_finish {
                f(job, result);
            }
        }
        .instrument(outer),
    );
    Ok(uuid)
}

/// Record a job's result. While the store is down, try again every 2 s for up to 10 minutes
/// (after that, or once the node stops, the next start fails the job as cut off).
async fn finish(app: &App, job: &str, result: &JobResult) {
    let (state, text) = encode(result);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        match app.store.job_finish(job, state, &text, now_ms()).await {
            Ok(()) => return,
            Err(e)
                if crate::error::store_unavailable(&e)
                    && tokio::time::Instant::now() < deadline
                    && app.jobs.stop.reason().is_none() =>
            {
                tracing::warn!(job = %job, error = %e, "could not record a job's result yet; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => {
                tracing::error!(job = %job, error = %e, "could not record a job's result");
                return;
            }
        }
    }
}

fn encode(result: &JobResult) -> (&'static str, String) {
    match result {
        Ok(o) => (SUCCEEDED, json!({ "output": o }).to_string()),
        Err(e) => (FAILED, json!({ "error": e.to_error_code() }).to_string()),
    }
}

/// A job as a poller sees it: still running, or its outcome.
pub enum JobView {
    Running,
    Done(JobResult),
}

/// Look a job up; `None` when it never existed or was swept. A call refused before any work
/// ([`super::refused`]) is found after the job table, as a job that failed.
pub async fn view(app: &App, uuid: &str) -> Result<Option<(JobRow, JobView)>> {
    let Some(row) = app.store.job_get(uuid).await? else {
        return Ok(app.jobs.refused.get(uuid).map(|r| {
            let row = JobRow {
                uuid: uuid.to_string(),
                api: r.api.to_string(),
                state: FAILED.to_string(),
                result: None,
                create_date: r.created_ms,
                finished_date: Some(r.created_ms),
            };
            (row, JobView::Done(Err(r.error)))
        }));
    };
    let view = match row.result.as_deref().map(serde_json::from_str::<Value>) {
        None => JobView::Running,
        Some(Ok(v)) => {
            if let Some(e) = v.get("error") {
                JobView::Done(Err(Error::from_error_code(e)))
            } else {
                match v
                    .get("output")
                    .cloned()
                    .map(serde_json::from_value::<Output>)
                {
                    Some(Ok(o)) => JobView::Done(Ok(o)),
                    _ => JobView::Done(Err(Error::internal(
                        "the job's stored result is unreadable",
                    ))),
                }
            }
        }
        Some(Err(_)) => JobView::Done(Err(Error::internal(
            "the job's stored result is unreadable",
        ))),
    };
    Ok(Some((row, view)))
}

/// At start-up: every job still `Running` was cut off by the stop of the previous run (with
/// several management nodes: every job of this node's previous run). One statement, however
/// many there are.
pub async fn fail_interrupted(app: &App) -> anyhow::Result<u64> {
    let err = Error::operation(
        "the management server restarted while this job was running, so the job was cut off; \
         check the state of the resource it was working on and call the API again",
    )
    .with_opaque("reason", "JOB.NODE_RESTARTED")
    .with_opaque(
        "hint",
        "check the resource (for a host: its status), then call the API again",
    );
    let (_, text) = encode(&Err(err));
    let which = match app.plane.is_solo() {
        true => RunningJobs::All,
        false => RunningJobs::OfNodeOrNone(&app.node.uuid),
    };
    Ok(app.store.jobs_fail_running(which, &text, now_ms()).await?)
}

/// The stop began: no new job starts.
pub fn close(app: &App) {
    app.jobs
        .closing
        .store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Wait up to `d` for every running job to end; true if they did.
pub async fn wait_idle(app: &App, d: Duration) -> bool {
    let mut running = app.jobs.running.subscribe();
    if let Ok(r) = tokio::time::timeout(d, running.wait_for(|n| *n == 0)).await {
        return r.is_ok();
    }
    false
}

/// End every job still running as failed ("the management node stopped", with `why`) and
/// wait (a few seconds at most) until their results are recorded. Returns how many there were.
pub async fn cut_off(app: &App, why: &str) -> usize {
    let left = app.jobs.running();
    if left > 0 {
        app.jobs.stop.cancel(why);
        wait_idle(app, Duration::from_secs(3)).await;
    }
    left
}

/// End the running jobs of a management node that died: they fail, saying so.
pub async fn fail_of_node(app: &App, node: &str) -> Result<u64> {
    let err = Error::operation(format!(
        "management node {node} died during the operation, so the job was cut off; check the \
         state of the resource it was working on and call the API again"
    ))
    .with_opaque("reason", "JOB.NODE_DIED")
    .with_opaque(
        "hint",
        "check the resource (for a host: its status; another node has taken it over), then call the API again",
    );
    let (_, text) = encode(&Err(err));
    Ok(app
        .store
        .jobs_fail_running(RunningJobs::OfNode(node), &text, now_ms())
        .await?)
}

/// Sweep expired results now and then, following the `rest` configs.
pub fn start_sweeper(app: Arc<App>) {
    tokio::spawn(async move {
        loop {
            let every = app
                .configs
                .get(keys::REST_EXPIRED_API_SCAN_INTERVAL)
                .max(Duration::from_secs(1));
            let mut changed = app.configs.subscribe();
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = changed.changed() => continue,
            }
            let keep_ms = app
                .configs
                .get(keys::REST_COMPLETED_API_EXPIRED_PERIOD)
                .as_millis() as i64;
            match app.store.jobs_sweep(now_ms() - keep_ms).await {
                Ok(n) if n > 0 => tracing::debug!(swept = n, "expired job results removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "job sweep failed"),
            }
            let _ = app.store.session_delete_expired(now_ms()).await;
            let window = app.configs.get(keys::IDENTITY_LOGIN_FAILURE_WINDOW);
            let _ = app
                .store
                .login_failure_sweep(window.as_millis() as i64)
                .await;
        }
    });
}
