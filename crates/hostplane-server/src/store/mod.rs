//! The store: hostplane's durable state in SQLite (the embedded default) or PostgreSQL.
//!
//! One [`Store`] wraps an sqlx `AnyPool`, so every statement is written once and runs on both
//! databases: placeholders are `$1..$N` (SQLite accepts them), timestamps are BIGINT epoch
//! milliseconds, booleans are 0/1 integers, and PostgreSQL text columns use the "C" collation so
//! ordering and LIKE match SQLite's. Migrations live in `migrations/sqlite` and
//! `migrations/postgres` and run at start-up; later changes come only as new migrations.
//!
//! Each file below holds one table's statements (`zones.rs`, `hosts.rs`, ...), and `query.rs`
//! runs the statements the query language compiles. The store knows nothing of HTTP, SSH or
//! ZStack's wire format; every value is bound, never spliced into SQL text.
//!
//! Rows are read with `#[derive(sqlx::FromRow)]` structs (`query_as`) or `query_scalar`; the two
//! adapters below, [`IntBool`] and [`TextOrEmpty`], cover the columns whose stored form is not
//! the field's type.

pub mod accounts;
pub mod clusters;
pub mod global_configs;
pub mod host_cleanup;
pub mod host_event_subscriptions;
pub mod host_events;
pub mod host_status_group;
pub mod hosts;
pub mod jobs;
pub mod leases;
pub mod login_failures;
pub mod management_nodes;
pub mod metrics;
pub mod query;
pub mod sessions;
pub mod tags;
pub mod zones;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyPool, ConnectOptions, Decode, Executor, Type};

pub use hostplane_query::Backend;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a statement waits for a connection. While the database is down (a PostgreSQL
/// restart) calls fail after this with a clear error instead of hanging for sqlx's default 30 s;
/// the pool reconnects by itself when the database is back.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Open the embedded SQLite database `hostplane.db` under `data_dir`, creating both.
    pub async fn open_sqlite(data_dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("hostplane.db");
        Self::open(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Open a database by URL (`sqlite://...` or `postgres://...`) and run its migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://... or postgres://...)");
        };
        let opts = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let pool = match backend {
            Backend::Sqlite => {
                // SQLite has one writer at a time; WAL lets readers go on while it writes.
                // LIKE is made case-sensitive to mean what it means on PostgreSQL.
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA case_sensitive_like = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(opts)
                    .await?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// A 0/1 integer column read into a `bool` field: `#[sqlx(try_from = "IntBool")]`. Booleans
/// are integers in both schemas, and `Any` decodes a `bool` only from a boolean value.
pub struct IntBool(i64);

impl Type<Any> for IntBool {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for IntBool {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<Any>>::decode(value).map(IntBool)
    }
}

impl From<IntBool> for bool {
    fn from(v: IntBool) -> bool {
        v.0 != 0
    }
}

/// A nullable text column read into a `String` field, NULL as "":
/// `#[sqlx(try_from = "TextOrEmpty")]`.
pub struct TextOrEmpty(Option<String>);

impl Type<Any> for TextOrEmpty {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for TextOrEmpty {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <Option<String> as Decode<Any>>::decode(value).map(TextOrEmpty)
    }
}

impl From<TextOrEmpty> for String {
    fn from(v: TextOrEmpty) -> String {
        v.0.unwrap_or_default()
    }
}

/// Whether a database error is a unique-constraint violation (works on both drivers).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Whether a row with this uuid exists in `table` (a name from the code, never from input).
    pub async fn exists(&self, table: &'static str, uuid: &str) -> sqlx::Result<bool> {
        let sql = match table {
            "zone" => "SELECT 1 FROM zone WHERE uuid = $1",
            "cluster" => "SELECT 1 FROM cluster WHERE uuid = $1",
            "host" => "SELECT 1 FROM host WHERE uuid = $1",
            _ => unreachable!("exists() on an unknown table"),
        };
        Ok(sqlx::query(sql)
            .bind(uuid)
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }
}
