//! Asynchronous API calls as durable jobs.
//!
//! [`submit`] writes the job row (state `Running`) and only then starts the work, so a job the
//! client was told about always exists. The work runs in its own task; the job waits for it up
//! to the API's timeout (SYS.1001 after that — the work itself goes on and cleans up after
//! itself) and records the result. Results are kept `rest.completedApi.expiredPeriod` seconds
//! and swept every `rest.expiredApi.scanInterval` seconds. At start-up, [`fail_interrupted`]
//! ends every job a previous run left `Running`, with an error that says the server restarted.
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

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::global_config::keys;
use super::{App, Output};
use crate::error::{Code, Error, Result};
use crate::store::jobs::{JobRow, FAILED, SUCCEEDED};
use crate::time::now_ms;

/// The steps of the jobs whose work is running, by job uuid. Owned by [`App`].
#[derive(Default, Clone)]
pub struct Jobs {
    steps: Arc<Mutex<HashMap<String, String>>>,
}

impl Jobs {
    /// How many running jobs have reported a step.
    pub fn with_steps(&self) -> usize {
        self.steps.lock().expect("job steps").len()
    }
}

/// The job a piece of work belongs to, for [`step`].
#[derive(Clone)]
struct Current {
    job: String,
    steps: Arc<Mutex<HashMap<String, String>>>,
}

tokio::task_local! {
    static JOB: Current;
}

/// Record the step the current job is at (no-op outside a job).
pub fn step(name: &str) {
    let _ = JOB.try_with(|c| {
        c.steps
            .lock()
            .expect("job steps")
            .insert(c.job.clone(), name.to_string());
    });
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
        steps: app.jobs.steps.clone(),
    };
    tokio::spawn(async move {
        let steps = current.steps.clone();
        let work = tokio::spawn(JOB.scope(current, async move {
            let r = work.await;
            // Whether it ended in time or after the job timed out: its step goes with it.
            steps.lock().expect("job steps").remove(&job_id);
            r
        }));
        let result = match tokio::time::timeout(timeout, work).await {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => Err(Error::internal(format!("the operation crashed: {panic}"))),
            Err(_) => Err(Error::new(
                Code::Timeout,
                format!(
                    "{api} did not finish within {} ms; it goes on in the background",
                    timeout.as_millis()
                ),
            )),
        };
        if let Err(e) = &result {
            tracing::info!(job = %job, api = %api, error = %e, "job failed");
        }
        finish(&app, &job, &result).await;
        if let Some(f) = on_finish {
            f(job, result);
        }
    });
    Ok(uuid)
}

async fn finish(app: &App, job: &str, result: &JobResult) {
    let (state, text) = encode(result);
    if let Err(e) = app.store.job_finish(job, state, &text, now_ms()).await {
        tracing::error!(job = %job, error = %e, "could not record a job's result");
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

/// Look a job up; `None` when it never existed or was swept.
pub async fn view(app: &App, uuid: &str) -> Result<Option<(JobRow, JobView)>> {
    let Some(row) = app.store.job_get(uuid).await? else {
        return Ok(None);
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
/// several management nodes: every job of this node's previous run).
pub async fn fail_interrupted(app: &App) -> anyhow::Result<usize> {
    let running = match app.plane.is_solo() {
        true => app.store.jobs_running().await?,
        false => app.store.jobs_running_of(&app.node.uuid).await?,
    };
    for uuid in &running {
        let err = Error::operation(
            "the management server restarted while this job was running, so the job was cut off; \
             check the state of the resource it was working on and call the API again",
        );
        finish(app, uuid, &Err(err)).await;
    }
    Ok(running.len())
}

/// End the running jobs of a management node that died: they fail, saying so.
pub async fn fail_of_node(app: &App, node: &str) -> Result<u64> {
    let err = Error::operation(format!(
        "management node {node} died during the operation, so the job was cut off; check the \
         state of the resource it was working on and call the API again"
    ));
    let (state, text) = encode(&Err(err));
    Ok(app
        .store
        .jobs_finish_of_node(node, state, &text, now_ms())
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
        }
    });
}
