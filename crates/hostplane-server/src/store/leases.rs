//! Leases: named locks in the database, for serialising work on one host across management
//! nodes. A lease belongs to one token (one holder) of one node until it is released or its
//! expiry — database time — passes; [`Store::lease_acquire`] takes a free or expired lease
//! in one statement, so two nodes can never both get it.

use super::Store;

impl Store {
    /// Take the lease `name` for `ttl_ms` if it is free or expired. True when taken.
    pub async fn lease_acquire(
        &self,
        name: &str,
        node: &str,
        token: &str,
        ttl_ms: i64,
    ) -> sqlx::Result<bool> {
        let sql = format!(
            "INSERT INTO lease (name, node_uuid, token, expires) VALUES ($1, $2, $3, {now} + $4) \
             ON CONFLICT (name) DO UPDATE SET node_uuid = excluded.node_uuid, token = excluded.token, \
             expires = excluded.expires WHERE lease.expires < {now}",
            now = self.db_now()
        );
        let r = sqlx::query(&sql)
            .bind(name)
            .bind(node)
            .bind(token)
            .bind(ttl_ms)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Extend a held lease by `ttl_ms` from now. False when it is no longer this holder's.
    pub async fn lease_renew(&self, name: &str, token: &str, ttl_ms: i64) -> sqlx::Result<bool> {
        let sql = format!(
            "UPDATE lease SET expires = {} + $3 WHERE name = $1 AND token = $2",
            self.db_now()
        );
        let r = sqlx::query(&sql)
            .bind(name)
            .bind(token)
            .bind(ttl_ms)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn lease_release(&self, name: &str, token: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM lease WHERE name = $1 AND token = $2")
            .bind(name)
            .bind(token)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drop every lease of a node (it died, or it starts again and its old holders are gone).
    pub async fn leases_drop_of_node(&self, node: &str) -> sqlx::Result<u64> {
        let r = sqlx::query("DELETE FROM lease WHERE node_uuid = $1")
            .bind(node)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
