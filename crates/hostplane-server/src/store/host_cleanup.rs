//! Takeover flags still to remove from hosts that are gone: written with the host's deletion
//! ([`Store::host_delete_with_cleanup`]), read and ended by `domain::host::cleanup`.

use sqlx::Row;

use super::Store;

/// What it takes to reach a gone host and remove its flag.
#[derive(Debug, Clone)]
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

fn row(r: &sqlx::any::AnyRow) -> sqlx::Result<CleanupRow> {
    Ok(CleanupRow {
        uuid: r.try_get("uuid")?,
        management_ip: r.try_get("management_ip")?,
        ssh_port: r.try_get("ssh_port")?,
        username: r.try_get("username")?,
        credential: r.try_get("credential")?,
        host_key_fingerprint: r.try_get("host_key_fingerprint")?,
        create_date: r.try_get("create_date")?,
        attempts: r.try_get("attempts")?,
    })
}

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
        sqlx::query(&sql)
            .bind(uuid)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(row)
            .transpose()
    }

    /// Every pending removal, oldest first.
    pub async fn cleanups_pending(&self) -> sqlx::Result<Vec<CleanupRow>> {
        let sql = format!("SELECT {COLUMNS} FROM host_cleanup ORDER BY create_date");
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(row)
            .collect()
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
