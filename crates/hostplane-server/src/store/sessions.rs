//! Login sessions: a session id is valid until its `expired_date`.

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub uuid: String,
    pub account_uuid: String,
    pub user_uuid: String,
    pub user_type: String,
    pub create_date: i64,
    pub expired_date: i64,
}

impl Store {
    pub async fn session_insert(&self, s: &SessionRow) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO session (uuid, account_uuid, user_uuid, user_type, create_date, expired_date) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.uuid)
        .bind(&s.account_uuid)
        .bind(&s.user_uuid)
        .bind(&s.user_type)
        .bind(s.create_date)
        .bind(s.expired_date)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn session_get(&self, uuid: &str) -> sqlx::Result<Option<SessionRow>> {
        sqlx::query_as(
            "SELECT uuid, account_uuid, user_uuid, user_type, create_date, expired_date FROM session WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn session_delete(&self, uuid: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM session WHERE uuid = $1")
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn session_delete_expired(&self, now: i64) -> sqlx::Result<u64> {
        let r = sqlx::query("DELETE FROM session WHERE expired_date < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
