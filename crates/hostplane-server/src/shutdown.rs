//! Stopping `hostplane serve` gracefully, and the signals it answers.
//!
//! On SIGTERM or SIGINT ([`signal`]) the server stops accepting connections, then [`graceful`]:
//! 1. lets running jobs finish for the grace period (`--shutdown-grace`, 20 s by default);
//! 2. cuts short what still waits on hosts (connects waiting for a port, flag removals), so
//!    those jobs end with the step they were at and roll back what they must;
//! 3. ends every job still running as failed ("the management node stopped"), so a poll after
//!    the restart tells the truth;
//! 4. ends the ping tracker and closes its SSH sessions with a goodbye;
//! 5. leaves the management plane (with several nodes, the others take its hosts at once,
//!    without waiting for the dead-node limit), and closes the store.
//!
//! The whole stop takes at most the grace period plus about 5 s. A crash (kill -9) skips all
//! of this; the next start settles what it left (see `server`).
//!
//! SIGUSR1 logs one line of runtime counters (tasks, tracked hosts, connects in flight,
//! running jobs): what an operator checks for leaks, and what the fault tests compare.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::host::connect::CANCEL_STOPPING;
use crate::domain::{jobs, App};

/// Wait for SIGTERM or SIGINT.
pub async fn signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Steps 1-5 above (the listener is already closed).
pub async fn graceful(app: &Arc<App>, grace: Duration) {
    tracing::info!(
        grace_s = grace.as_secs(),
        jobs = app.jobs.running(),
        "stopping: letting running jobs finish"
    );
    jobs::close(app);
    let in_time = jobs::wait_idle(app, grace).await;
    app.hosts.stopping.cancel(CANCEL_STOPPING);
    if !in_time {
        // Connects see the stop and end at their step; give them a moment to roll back.
        jobs::wait_idle(app, Duration::from_secs(2)).await;
    }
    let cut = jobs::cut_off(
        app,
        &format!("graceful shutdown: not done within {} s", grace.as_secs()),
    )
    .await;
    if cut > 0 {
        tracing::warn!(
            jobs = cut,
            "jobs still running at the end of the grace period were ended as failed"
        );
    }
    app.hosts.tracker.stop_all().await;
    // Only now that this node pings nothing: the other nodes take its hosts at once.
    crate::domain::plane::leave(app).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), app.store.pool().close()).await;
    tracing::info!("stopped");
}

/// Log the runtime counters on every SIGUSR1.
pub fn counters_on_sigusr1(app: Arc<App>) {
    let Ok(mut usr1) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
    else {
        return;
    };
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            let m = tokio::runtime::Handle::current().metrics();
            tracing::info!(
                tasks = m.num_alive_tasks(),
                tracked = app.hosts.tracker.tracked(),
                connects = app.hosts.connects_in_flight(),
                jobs = app.jobs.running(),
                "runtime counters"
            );
        }
    });
}
