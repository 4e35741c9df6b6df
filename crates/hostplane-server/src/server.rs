//! Start-up and shutdown of `hostplane serve`.
//!
//! The port opens first: from its first second the listener answers (while the node starts,
//! with ZStack's error body; IsReadyToGo says "not ready", see [`crate::http::gate`]). Then,
//! in order: open the store (migrations run; a database that cannot be reached yet is tried
//! again every 2 s, any other failure ends the start; SQLite's file is locked to this one
//! node), load the global configs, make sure the admin account exists, join the management
//! plane (with PostgreSQL: beside the other management nodes, learning which hosts this node
//! owns), end the jobs a previous run left running and settle the hosts it left Connecting
//! (so a poll, a query or an add never sees the last run's half-done work) — and the full API
//! serves ([`crate::http::limits::serve`]).
//! What can take long runs in the background and never holds the API: taking every host back
//! under management (`take_over_all`), the sweepers, the heartbeat, pending takeover-flag
//! removals.
//!
//! On SIGTERM/SIGINT, [`crate::shutdown`] stops gracefully; last, the node leaves the plane,
//! so the other nodes take its hosts at once.
//!
//! Before anything, the soft limit on open files is raised to the hard limit (often 1,024 →
//! 524,288): every HTTP connection, ping try and SSH session takes one.
//!
//! The first start (the admin account was just created) prints, once, where the API is, where
//! the data directory is, and how to change the admin password. Later starts with the default
//! password still in place warn about it; `--admin-password` on an existing store is ignored,
//! with a warning that says so.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::cancel::Cancel;
use crate::domain::host::{cleanup, tracker, Crypto, Hosts};
use crate::domain::management_node::Node;
use crate::domain::plane::{self, Plane};
use crate::domain::{global_config::Configs, identity, jobs, App};
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
    /// 64 hex digits; None: the key file in the data directory. Every management node of one
    /// database needs the same key.
    pub secret_key: Option<String>,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// On SIGTERM/SIGINT, how long running jobs may go on before they are ended as failed.
    pub shutdown_grace: Duration,
    /// The local address SSH connections to hosts come from (None: the system picks).
    pub ssh_source_address: Option<IpAddr>,
}

/// Build the application: everything but the listener.
pub async fn build(cfg: &ServeConfig) -> anyhow::Result<Arc<App>> {
    Ok(build_app(cfg).await?.0)
}

/// The application, and whether this is the first start (the admin account was just made).
async fn build_app(cfg: &ServeConfig) -> anyhow::Result<(Arc<App>, bool)> {
    prepare_data_dir(&cfg.data_dir)?;
    let sqlite_lock = plane::sqlite_path(&cfg.data_dir, cfg.database_url.as_deref())
        .map(|db| plane::lock_sqlite(&db))
        .transpose()?;
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
            Err(e) => return Err(store_open_error(cfg, e)),
        }
    };
    let configs = Configs::load(&store).await?;
    let first_start = identity::ensure_admin(&store, cfg.admin_password.as_deref()).await?;
    if first_start {
        tracing::info!("created the admin account");
    } else if cfg.admin_password.is_some() {
        tracing::warn!(
            "--admin-password (HOSTPLANE_ADMIN_PASSWORD) is ignored: it sets the password only when the admin \
             account is created, and it exists already. Change the password with `hostplane account passwd` \
             (or the UpdateAccount API)"
        );
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
    let app = Arc::new(App {
        store,
        configs,
        node: Node {
            ssh_source: cfg.ssh_source_address,
            ..Node::new(node_uuid)
        },
        plane,
        hosts: Hosts::new(crypto),
        sessions: Default::default(),
        logins: Default::default(),
        jobs: Default::default(),
        metrics: crate::metrics::Metrics::new().with_bearer_token(cfg.metrics_token.clone()),
        event_hooks: Default::default(),
    });
    Ok((app, first_start))
}

/// Run the server until SIGINT or SIGTERM.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    raise_open_files_limit();
    if let Some(source) = cfg.ssh_source_address {
        check_source_address(source)?;
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| bind_error(cfg.listen, e))?;
    tracing::info!(listen = %listener.local_addr()?, "listening; opening the store");
    run(cfg, listener, shutdown::signal()).await
}

/// Serve on `listener` until `stop` completes, then stop gracefully.
pub async fn run(
    cfg: ServeConfig,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stopping = Cancel::default();
    let stop = {
        let stopping = stopping.clone();
        tokio::spawn(async move {
            stop.await;
            stopping.cancel("stop");
        })
    };
    let ready = async {
        let (app, first_start) = build_app(&cfg).await?;
        plane::start(app.clone()).await?;
        recover(&app).await?;
        anyhow::Ok((app, first_start))
    };
    let (app, first_start) = tokio::select! {
        r = crate::http::gate::while_starting(&listener, ready) => r?,
        _ = stopping.cancelled() => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    jobs::start_sweeper(app.clone());
    crate::domain::host::events::start_sweeper(app.clone());
    crate::domain::host::event_hooks::start(app.clone());
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
    let listen = listener.local_addr()?;
    let data_dir = std::path::absolute(&cfg.data_dir).unwrap_or_else(|_| cfg.data_dir.clone());
    tracing::info!(
        %listen,
        data_dir = %data_dir.display(),
        store = ?app.store.backend(),
        version = env!("CARGO_PKG_VERSION"),
        "hostplane is serving ZStack's API at /zstack/v1 and /zstack/api (reference at /docs, metrics at /metrics)"
    );
    if first_start {
        use std::io::Write;
        let notice = first_start_notice(&cfg, listen, &data_dir);
        if std::env::var("HOSTPLANE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
            // JSON logs stay one JSON object per line: the notice is a log line there.
            tracing::info!(notice = %notice.trim(), "first start");
        } else {
            // Never print!: it panics when stdout cannot be written (its disk full).
            let mut out = std::io::stdout();
            let _ = out.write_all(notice.as_bytes()).and_then(|()| out.flush());
        }
    } else if identity::admin_has_default_password(&app.store).await? {
        tracing::warn!(
            "the admin password is still ZStack's default 'password': change it with \
             `hostplane login && hostplane account passwd`"
        );
    }
    let http = {
        let (app, stopping) = (app.clone(), stopping.clone());
        tokio::spawn(async move {
            let router = crate::http::router(app.clone());
            crate::http::limits::serve(listener, app, router, async move {
                stopping.cancelled().await;
            })
            .await
        })
    };
    stopping.cancelled().await;
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

/// Why the listener could not be made, naming the address and what to do.
/// An error opening the store that waiting will not cure (a wrong user or password, a missing
/// database, a migration that failed): it names the database, its password hidden, and where
/// to look.
fn store_open_error(cfg: &ServeConfig, e: anyhow::Error) -> anyhow::Error {
    // The database's own message: sqlx's text repeats it ("error returned from database: X: X").
    let cause = match e.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(d)) => d.message().to_string(),
        _ => format!("{e:#}"),
    };
    match &cfg.database_url {
        Some(url) => anyhow::anyhow!(
            "cannot open the database {}: {cause}: check --database-url (HOSTPLANE_DATABASE_URL): \
             its user and password, and that its database exists and the user may create tables in it",
            without_password(url)
        ),
        None => anyhow::anyhow!(
            "cannot open the SQLite database in {}: {cause}",
            std::path::absolute(&cfg.data_dir)
                .unwrap_or_else(|_| cfg.data_dir.clone())
                .display()
        ),
    }
}

/// A database URL as it may be shown: `postgres://user:***@host/db?password=***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(the URL given)".to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `--ssh-source-address` must be an address of this machine: else every connection to every
/// host would fail, and the hosts, not this setting, would look at fault.
fn check_source_address(source: IpAddr) -> anyhow::Result<()> {
    std::net::TcpListener::bind(SocketAddr::new(source, 0))
        .map(drop)
        .map_err(|e| {
            anyhow::anyhow!(
                "--ssh-source-address (HOSTPLANE_SSH_SOURCE_ADDRESS) {source} is not an address of this \
                 machine ({e}): give one of its own addresses, or leave it out to let the system choose"
            )
        })
}

/// Create the data directory and check this user may write there, with an error that names
/// the directory and the fix (the OS's own, "Permission denied (os error 13)", names neither).
fn prepare_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let fix = "choose another --data-dir (HOSTPLANE_DATA_DIR), or let the user hostplane runs as \
               create and write it";
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the data directory {}: {e}: {fix}",
            shown.display()
        )
    })?;
    let probe = dir.join(".hostplane-write-check");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot write in the data directory {}: {e}: {fix}",
                shown.display()
            )
        })
}

/// Below this many open files, a node can run out of them under ordinary load: HTTP
/// connections alone may reach `rest.maxConnections` (1,024), and every ping try, SSH session
/// and store connection takes one more.
const OPEN_FILES_WANTED: u64 = 8192;

/// Raise this process's soft limit on open files to its hard limit. The soft limit is often
/// 1,024 (systemd's default, and most shells'), less than `rest.maxConnections` alone: run out,
/// and pings fail for want of a socket — hosts that are fine would be marked Disconnected —
/// while calls go unanswered. The hard limit is the administrator's (systemd's
/// `LimitNOFILE`, 524,288 by default); a hard limit under [`OPEN_FILES_WANTED`] is warned about.
fn raise_open_files_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
            tracing::info!(
                before,
                now = lim.rlim_cur,
                "raised the open-files limit to its hard limit"
            );
        }
    }
    if lim.rlim_cur < OPEN_FILES_WANTED {
        tracing::warn!(
            limit = lim.rlim_cur,
            wanted = OPEN_FILES_WANTED,
            "few open files allowed: HTTP connections (rest.maxConnections), ping tries and SSH sessions share them; raise the hard limit (systemd: LimitNOFILE=; a shell: ulimit -Hn)"
        );
    }
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            "the address is in use (another hostplane?): stop that process, or choose another address with --listen".to_string()
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "no network interface of this machine has this address; use one it has, 0.0.0.0 or [::]".to_string()
        }
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need root (or CAP_NET_BIND_SERVICE); choose a port above 1023".to_string()
        }
        _ => e.to_string(),
    };
    anyhow::anyhow!("cannot listen on {addr}: {why}")
}

/// What the first start prints once: where the API is, where the data is, and how to change
/// the admin password. Never the password itself, unless it is ZStack's public default.
fn first_start_notice(cfg: &ServeConfig, listen: SocketAddr, data_dir: &std::path::Path) -> String {
    let local = if listen.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", listen.port())
    } else {
        format!("http://{listen}")
    };
    let login = if local == "http://127.0.0.1:8080" {
        "hostplane login".to_string()
    } else {
        format!("hostplane login --server {local}")
    };
    let url = if listen.ip().is_unspecified() {
        format!(
            "http://<this machine's address>:{port} (every network interface; e.g. http://127.0.0.1:{port} from here)",
            port = listen.port()
        )
    } else {
        format!("http://{listen}")
    };
    let data = if cfg.database_url.is_some() {
        "secret key and node id; the database is PostgreSQL"
    } else {
        "SQLite database, secret key, node id"
    };
    let admin = if cfg.admin_password.is_some() {
        "the account `admin`, with the password you gave at this start"
    } else {
        "the account `admin`, with ZStack's default password `password`: change it now"
    };
    format!(
        "\nhostplane: first start.\n  \
         API:    {url}\n  \
         data:   {} ({data})\n  \
         admin:  {admin}\n  \
         change the admin password:  {login} && hostplane account passwd\n\n",
        data_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        for (url, shown) in [
            (
                "postgres://hp:s3cret@db:5432/hostplane",
                "postgres://hp:***@db:5432/hostplane",
            ),
            (
                "postgres://hp:p@ss@db/hostplane?sslmode=require",
                "postgres://hp:***@db/hostplane?sslmode=require",
            ),
            (
                "postgresql://db/hostplane?user=hp&password=s3cret",
                "postgresql://db/hostplane?user=hp&password=***",
            ),
            ("postgres://hp@db/hostplane", "postgres://hp@db/hostplane"),
            (
                "sqlite:///var/lib/hostplane/hostplane.db",
                "sqlite:///var/lib/hostplane/hostplane.db",
            ),
            ("not a url s3cret", "(the URL given)"),
        ] {
            assert_eq!(without_password(url), shown, "{url}");
        }
    }
}
