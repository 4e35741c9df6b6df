//! Start-up and shutdown of `hostplane serve`.
//!
//! Order matters: open the store (migrations run), load the global configs, make sure the
//! admin account exists, end jobs a previous run left running, register this management node,
//! take every host back under management, and only then accept requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::host::{Crypto, Hosts};
use crate::domain::management_node::{self, Node};
use crate::domain::{global_config::Configs, identity, jobs, App};
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
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
}

/// Build the application: everything but the listener.
pub async fn build(cfg: &ServeConfig) -> anyhow::Result<Arc<App>> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let store = match &cfg.database_url {
        Some(url) => Store::open(url).await?,
        None => Store::open_sqlite(&cfg.data_dir).await?,
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
        metrics: crate::metrics::Metrics::new().with_bearer_token(cfg.metrics_token.clone()),
        event_hooks: Default::default(),
    }))
}

/// Run the server until SIGINT or SIGTERM.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    let app = build(&cfg).await?;
    let interrupted = jobs::fail_interrupted(&app).await?;
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "jobs cut off by the last stop were marked failed"
        );
    }
    jobs::start_sweeper(app.clone());
    crate::domain::host::events::start_sweeper(app.clone());
    crate::domain::host::event_hooks::start(app.clone());
    management_node::join_and_beat(app.clone()).await?;
    crate::domain::host::tracker::take_over_all(app.clone()).await?;
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        store = ?app.store.backend(),
        version = env!("CARGO_PKG_VERSION"),
        "hostplane is serving ZStack's API at /zstack/v1 and /zstack/api (reference at /docs, metrics at /metrics)"
    );
    axum::serve(listener, crate::http::router(app))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
