//! Accounts: who may log in. Passwords are kept only as argon2 hashes (made by the domain).

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub uuid: String,
    pub name: String,
    #[sqlx(rename = "type")]
    pub account_type: String,
    pub password_hash: String,
}

impl Store {
    pub async fn account_by_name(&self, name: &str) -> sqlx::Result<Option<AccountRow>> {
        sqlx::query_as("SELECT uuid, name, type, password_hash FROM account WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
    }

    /// Insert the account unless one with that uuid exists; true when inserted.
    pub async fn account_insert_if_missing(&self, a: &AccountRow, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO account (uuid, name, type, password_hash, create_date, last_op_date) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (uuid) DO NOTHING",
        )
        .bind(&a.uuid)
        .bind(&a.name)
        .bind(&a.account_type)
        .bind(&a.password_hash)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
