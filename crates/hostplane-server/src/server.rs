//! Start-up and shutdown of `hostplane serve`.
//!
//! Order matters: lock the SQLite database (one node only), open the store (migrations run),
//! load the global configs, make sure the admin account exists, register this management node
//! (with PostgreSQL: join the plane and learn which hosts it owns), end jobs a previous run
//! left running, take its hosts back under management, and only then accept requests. On
//! stop it leaves the plane, so the other nodes take its hosts at once.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::host::{Crypto, Hosts};
use crate::domain::management_node::Node;
use crate::domain::plane::{self, Plane};
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
    /// 64 hex digits; None: the key file in the data directory. Every management node of one
    /// database needs the same key.
    pub secret_key: Option<String>,
    /// The local address SSH connections to hosts come from (None: the system picks).
    pub ssh_source_address: Option<IpAddr>,
}

/// Build the application: everything but the listener.
pub async fn build(cfg: &ServeConfig) -> anyhow::Result<Arc<App>> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let sqlite_lock = plane::sqlite_path(&cfg.data_dir, cfg.database_url.as_deref())
        .map(|db| plane::lock_sqlite(&db))
        .transpose()?;
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
    let plane = match (&cfg.database_url, store.backend()) {
        (Some(url), crate::store::Backend::Postgres) => Plane::shared(
            node_uuid.clone(),
            store.clone(),
            configs.clone(),
            url.clone(),
        ),
        _ => Plane::solo(
            node_uuid.clone(),
            store.clone(),
            configs.clone(),
            sqlite_lock,
        ),
    };
    Ok(Arc::new(App {
        store,
        configs,
        node: Node {
            ssh_source: cfg.ssh_source_address,
            ..Node::new(node_uuid)
        },
        plane,
        hosts: Hosts::new(crypto),
        sessions: Default::default(),
        jobs: Default::default(),
    }))
}

/// Run the server until SIGINT or SIGTERM.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    let app = build(&cfg).await?;
    plane::start(app.clone()).await?;
    let interrupted = jobs::fail_interrupted(&app).await?;
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "jobs cut off by the last stop were marked failed"
        );
    }
    jobs::start_sweeper(app.clone());
    if !app.plane.is_solo() {
        plane::recover_cut_off(&app).await?;
    }
    crate::domain::host::tracker::take_over_all(app.clone()).await?;
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        store = ?app.store.backend(),
        version = env!("CARGO_PKG_VERSION"),
        "hostplane is serving ZStack's API at /zstack/v1 and /zstack/api"
    );
    axum::serve(listener, crate::http::router(app.clone()))
        .with_graceful_shutdown(shutdown())
        .await?;
    plane::leave(&app).await;
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
