//! Takeover flags still to remove from hosts that are gone: written with the host's deletion
//! ([`Store::host_delete_with_cleanup`]), read and ended by `domain::host::cleanup`.

use super::Store;

/// What it takes to reach a gone host and remove its flag.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CleanupRow {
    pub uuid: String,
    pub management_ip: String,
    pub ssh_port: Option<i64>,
    pub username: Option<String>,
    /// Sealed, bound to `uuid`, as it was in the host row.
    pub credential: Option<String>,
    pub host_key_fingerprint: Option<String>,
    pub create_date: i64,
    pub attempts: i64,
}

const COLUMNS: &str =
    "uuid, management_ip, ssh_port, username, credential, host_key_fingerprint, create_date, attempts";

impl Store {
    /// Delete a host row and its tags, and remember in the same transaction that its takeover
    /// flag is still to be removed.
    pub async fn host_delete_with_cleanup(&self, uuid: &str, now: i64) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO host_cleanup (uuid, management_ip, ssh_port, username, credential, host_key_fingerprint, create_date, attempts) \
             SELECT uuid, management_ip, ssh_port, username, credential, host_key_fingerprint, $2, 0 FROM host WHERE uuid = $1 \
             ON CONFLICT (uuid) DO NOTHING",
        )
        .bind(uuid)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        super::hosts::delete_host_in(&mut tx, uuid).await?;
        tx.commit().await
    }

    pub async fn cleanup_get(&self, uuid: &str) -> sqlx::Result<Option<CleanupRow>> {
        let sql = format!("SELECT {COLUMNS} FROM host_cleanup WHERE uuid = $1");
        sqlx::query_as(&sql)
            .bind(uuid)
            .fetch_optional(self.pool())
            .await
    }

    /// Every pending removal, oldest first.
    pub async fn cleanups_pending(&self) -> sqlx::Result<Vec<CleanupRow>> {
        let sql = format!("SELECT {COLUMNS} FROM host_cleanup ORDER BY create_date");
        sqlx::query_as(&sql).fetch_all(self.pool()).await
    }

    pub async fn cleanup_tried(&self, uuid: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE host_cleanup SET attempts = attempts + 1 WHERE uuid = $1")
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn cleanup_done(&self, uuid: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM host_cleanup WHERE uuid = $1")
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
