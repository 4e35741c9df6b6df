//! Start-up and shutdown of `hostplane serve`.
//!
//! The port opens first: from its first second the listener answers (while the node starts,
//! with ZStack's error body; IsReadyToGo says "not ready", see [`crate::http::gate`]). Then,
//! in order: open the store (migrations run; a database that cannot be reached yet is tried
//! again every 2 s, any other failure ends the start), load the global configs, make sure the admin
//! account exists, end the jobs a previous run left running and settle the hosts it left
//! Connecting (so a poll, a query or an add never sees the last run's half-done work),
//! register this management node — and the full API serves. What can take long runs in the
//! background and never holds the API: taking every host back under management
//! (`take_over_all`), the job sweeper, the heartbeat, pending takeover-flag removals.
//!
//! On SIGTERM/SIGINT, [`crate::shutdown`] stops gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::cancel::Cancel;
use crate::domain::host::{cleanup, tracker, Crypto, Hosts};
use crate::domain::management_node::{self, Node};
use crate::domain::{global_config::Configs, identity, jobs, App};
use crate::http::gate::Gate;
use crate::shutdown;
use crate::store::Store;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; None: SQLite in the data directory.
    pub database_url: Option<String>,
    /// The admin's first password (plain). None: ZStack's default `password`.
    pub admin_password: Option<String>,
    /// 64 hex digits; None: the key file in the data directory.
    pub secret_key: Option<String>,
    /// On SIGTERM/SIGINT, how long running jobs may go on before they are ended as failed.
    pub shutdown_grace: Duration,
}

/// Build the application: everything but the listener.
pub async fn build(cfg: &ServeConfig) -> anyhow::Result<Arc<App>> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let store = loop {
        let opened = match &cfg.database_url {
            Some(url) => Store::open(url).await,
            None => Store::open_sqlite(&cfg.data_dir).await,
        };
        match opened {
            Ok(s) => break s,
            // The database is not up yet (started together with this server, say): the port
            // already answers "starting"; try again rather than exit.
            Err(e)
                if e.downcast_ref::<sqlx::Error>()
                    .is_some_and(crate::error::store_unavailable) =>
            {
                tracing::warn!(error = %e, "the database cannot be reached yet; trying again in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let configs = Configs::load(&store).await?;
    if identity::ensure_admin(&store, cfg.admin_password.as_deref()).await? {
        if cfg.admin_password.is_none() {
            tracing::warn!(
                "created the admin account with ZStack's default password 'password': change it, or start the first time \
                 with HOSTPLANE_ADMIN_PASSWORD set"
            );
        } else {
            tracing::info!("created the admin account");
        }
    }
    let node_file = cfg.data_dir.join("node-uuid");
    let node_uuid = match std::fs::read_to_string(&node_file) {
        Ok(s) if s.trim().len() == 32 => s.trim().to_string(),
        _ => {
            let u = crate::domain::new_uuid();
            std::fs::write(&node_file, &u)?;
            u
        }
    };
    let crypto = Crypto::load(&cfg.data_dir, cfg.secret_key.as_deref())?;
    Ok(Arc::new(App {
        store,
        configs,
        node: Node::new(node_uuid),
        hosts: Hosts::new(crypto),
        sessions: Default::default(),
        jobs: Default::default(),
    }))
}

/// Run the server until SIGINT or SIGTERM.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "listening; opening the store");
    run(cfg, listener, shutdown::signal()).await
}

/// Serve on `listener` until `stop` completes, then stop gracefully.
pub async fn run(
    cfg: ServeConfig,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let gate = Gate::default();
    let closed = Cancel::default();
    let http = {
        let (closed, router) = (closed.clone(), gate.router());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    closed.cancelled().await;
                })
                .await
        })
    };
    let stop = {
        let closed = closed.clone();
        tokio::spawn(async move {
            stop.await;
            closed.cancel("stop");
        })
    };
    let ready = async {
        let app = build(&cfg).await?;
        recover(&app).await?;
        management_node::join_and_beat(app.clone()).await?;
        anyhow::Ok(app)
    };
    let app = tokio::select! {
        app = ready => app?,
        _ = closed.cancelled() => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    jobs::start_sweeper(app.clone());
    cleanup::start(app.clone());
    shutdown::counters_on_sigusr1(app.clone());
    {
        let a = app.clone();
        tokio::spawn(async move {
            if let Err(e) = tracker::take_over_all(a).await {
                tracing::error!(error = %e, "the start-up pass over the hosts failed");
            }
        });
    }
    gate.open(crate::http::router(app.clone()));
    tracing::info!(
        store = ?app.store.backend(),
        version = env!("CARGO_PKG_VERSION"),
        "hostplane is serving ZStack's API at /zstack/v1 and /zstack/api"
    );
    closed.cancelled().await;
    tracing::info!("stopping: no new connections");
    stop.abort();
    shutdown::graceful(&app, cfg.shutdown_grace).await;
    // Connections still open after the grace are cut.
    if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), http).await {
        r?;
    }
    Ok(())
}

/// Settle what the previous run left half done, before the API opens.
async fn recover(app: &Arc<App>) -> anyhow::Result<()> {
    let interrupted = jobs::fail_interrupted(app).await?;
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "jobs cut off by the last stop were marked failed"
        );
    }
    let r = tracker::recover(app).await?;
    if r.rolled_back + r.disconnected > 0 {
        tracing::warn!(
            rolled_back = r.rolled_back,
            disconnected = r.disconnected,
            "hosts left Connecting by the last stop were settled"
        );
    }
    Ok(())
}
