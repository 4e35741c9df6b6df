//! The counts `/metrics` shows: hosts by status and state, and the management nodes. One
//! grouped statement each (the host count is an index-only scan of `host(status, state)`).

use sqlx::Row;

use super::Store;

impl Store {
    /// (status, state, number of hosts) for every combination that has hosts.
    pub async fn host_counts(&self) -> sqlx::Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT status, state, COUNT(*) AS n FROM host GROUP BY status, state ORDER BY status, state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// How many management nodes have beaten within `max_age` ms, by the database's clock
    /// (as membership judges them).
    pub async fn management_node_count(&self, max_age_ms: i64) -> sqlx::Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM management_node WHERE {} - heart_beat < $1",
            self.db_now()
        );
        sqlx::query(&sql)
            .bind(max_age_ms)
            .fetch_one(self.pool())
            .await?
            .try_get("n")
    }
}
