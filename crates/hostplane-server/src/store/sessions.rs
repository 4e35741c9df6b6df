//! Login sessions: a session is valid until its `expired_date`.
//!
//! The token a client holds is never stored: the row is keyed by the token's SHA-256
//! (`token_sha256`, lower-case hex), so a copy of the database is not a set of live sessions.
//! The domain ([`crate::domain::identity`]) hashes; this file only keeps rows.

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// SHA-256 of the session token, hex.
    pub token_sha256: String,
    pub account_uuid: String,
    pub user_uuid: String,
    pub user_type: String,
    pub create_date: i64,
    pub expired_date: i64,
}

impl Store {
    pub async fn session_insert(&self, s: &SessionRow) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO session (token_sha256, account_uuid, user_uuid, user_type, create_date, expired_date) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.token_sha256)
        .bind(&s.account_uuid)
        .bind(&s.user_uuid)
        .bind(&s.user_type)
        .bind(s.create_date)
        .bind(s.expired_date)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn session_get(&self, token_sha256: &str) -> sqlx::Result<Option<SessionRow>> {
        sqlx::query_as(
            "SELECT token_sha256, account_uuid, user_uuid, user_type, create_date, expired_date \
             FROM session WHERE token_sha256 = $1",
        )
        .bind(token_sha256)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn session_delete(&self, token_sha256: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM session WHERE token_sha256 = $1")
            .bind(token_sha256)
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

    /// Sessions of an account that have not expired at `now`.
    pub async fn session_count_active(&self, account_uuid: &str, now: i64) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM session WHERE account_uuid = $1 AND expired_date > $2",
        )
        .bind(account_uuid)
        .bind(now)
        .fetch_one(self.pool())
        .await
    }
}
