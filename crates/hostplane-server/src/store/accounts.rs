//! Accounts: who may log in. Passwords are kept only as argon2 hashes (made by the domain).

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub uuid: String,
    pub name: String,
    #[sqlx(rename = "type")]
    pub account_type: String,
    pub password_hash: String,
    pub description: Option<String>,
    pub create_date: i64,
    pub last_op_date: i64,
}

/// What UpdateAccount changes; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub password_hash: Option<String>,
}

const COLUMNS: &str = "uuid, name, type, password_hash, description, create_date, last_op_date";

impl Store {
    pub async fn account_by_name(&self, name: &str) -> sqlx::Result<Option<AccountRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM account WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn account_by_uuid(&self, uuid: &str) -> sqlx::Result<Option<AccountRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM account WHERE uuid = $1"))
            .bind(uuid)
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

    /// Change the given columns of one account (one statement); false when there is none.
    pub async fn account_update(
        &self,
        uuid: &str,
        u: &AccountUpdate,
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE account SET name = COALESCE($2, name), description = COALESCE($3, description), \
             password_hash = COALESCE($4, password_hash), last_op_date = $5 WHERE uuid = $1",
        )
        .bind(uuid)
        .bind(u.name.as_deref())
        .bind(u.description.as_deref())
        .bind(u.password_hash.as_deref())
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
