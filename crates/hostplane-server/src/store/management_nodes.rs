//! Management nodes: one row per live node, with its heartbeat. Heartbeats and ages are the
//! database's clock (`db_now`), never a node's: nodes with skewed clocks still agree on who is
//! alive. A node declared dead loses its row (so QueryManagementNode lists the live ones).

use sqlx::Row;

use super::{Backend, Store};

/// A node as the others see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub uuid: String,
    /// The last heartbeat, database time (epoch ms).
    pub heart_beat: i64,
    /// Milliseconds since that heartbeat, by the database's clock.
    pub age_ms: i64,
}

fn db_now(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

impl Store {
    /// The SQL expression for the database's current time in epoch milliseconds.
    pub(crate) fn db_now(&self) -> &'static str {
        db_now(self.backend())
    }

    /// The database's clock, epoch milliseconds.
    pub async fn db_time_ms(&self) -> sqlx::Result<i64> {
        let sql = format!("SELECT {} AS now", self.db_now());
        sqlx::query(&sql)
            .fetch_one(self.pool())
            .await?
            .try_get("now")
    }

    /// Register (or register again) a node, with a heartbeat of now.
    pub async fn management_node_join(&self, uuid: &str, host_name: &str) -> sqlx::Result<()> {
        join(self.pool(), self.backend(), uuid, host_name).await
    }

    /// A heartbeat. False when the node has no row: the others declared it dead.
    pub async fn management_node_heartbeat(&self, uuid: &str) -> sqlx::Result<bool> {
        heartbeat(self.pool(), self.backend(), uuid).await
    }

    /// Every registered node with the age of its heartbeat.
    pub async fn management_nodes(&self) -> sqlx::Result<Vec<NodeRow>> {
        let sql = format!(
            "SELECT uuid, heart_beat, {} - heart_beat AS age FROM management_node ORDER BY uuid",
            self.db_now()
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(NodeRow {
                    uuid: r.try_get("uuid")?,
                    heart_beat: r.try_get("heart_beat")?,
                    age_ms: r.try_get("age")?,
                })
            })
            .collect()
    }

    /// Remove a dead node's row, unless it beat again since it was read (then it lives).
    pub async fn management_node_remove_dead(
        &self,
        uuid: &str,
        heart_beat: i64,
    ) -> sqlx::Result<bool> {
        let r = sqlx::query("DELETE FROM management_node WHERE uuid = $1 AND heart_beat = $2")
            .bind(uuid)
            .bind(heart_beat)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// A node that stops marks itself as long dead (heartbeat 0): the others then take its
    /// hosts and its cut-off work over exactly as for a crash, at their next check.
    pub async fn management_node_mark_gone(&self, uuid: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE management_node SET heart_beat = 0 WHERE uuid = $1")
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Remove a node's row (it leaves), or with `others`, every row but this node's.
    pub async fn management_node_remove(&self, uuid: &str, others: bool) -> sqlx::Result<u64> {
        let sql = if others {
            "DELETE FROM management_node WHERE uuid <> $1"
        } else {
            "DELETE FROM management_node WHERE uuid = $1"
        };
        let r = sqlx::query(sql).bind(uuid).execute(self.pool()).await?;
        Ok(r.rows_affected())
    }
}

/// A connection of its own for a node's heartbeat: a heartbeat must never wait for a pool
/// connection behind a burst of other work, or a busy node would be declared dead.
pub struct HeartbeatConn {
    conn: sqlx::AnyConnection,
    backend: Backend,
}

impl HeartbeatConn {
    pub async fn open(url: &str) -> sqlx::Result<HeartbeatConn> {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        sqlx::any::install_default_drivers();
        let opts = sqlx::any::AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        Ok(HeartbeatConn {
            conn: opts.connect().await?,
            backend,
        })
    }

    /// A heartbeat. False when the node has no row: the others declared it dead.
    pub async fn heartbeat(&mut self, uuid: &str) -> sqlx::Result<bool> {
        heartbeat(&mut self.conn, self.backend, uuid).await
    }

    /// Register the node again (after the others declared it dead).
    pub async fn join(&mut self, uuid: &str, host_name: &str) -> sqlx::Result<()> {
        join(&mut self.conn, self.backend, uuid, host_name).await
    }
}

/// Register (or register again) a node, on the pool or on a heartbeat connection.
async fn join<'e, E>(e: E, backend: Backend, uuid: &str, host_name: &str) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "INSERT INTO management_node (uuid, host_name, join_date, heart_beat) VALUES ($1, $2, {now}, {now}) \
         ON CONFLICT (uuid) DO UPDATE SET host_name = $2, join_date = {now}, heart_beat = {now}",
        now = db_now(backend)
    );
    sqlx::query(&sql)
        .bind(uuid)
        .bind(host_name)
        .execute(e)
        .await?;
    Ok(())
}

/// A heartbeat; false when the node has no row.
async fn heartbeat<'e, E>(e: E, backend: Backend, uuid: &str) -> sqlx::Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "UPDATE management_node SET heart_beat = {} WHERE uuid = $1",
        db_now(backend)
    );
    let r = sqlx::query(&sql).bind(uuid).execute(e).await?;
    Ok(r.rows_affected() > 0)
}
