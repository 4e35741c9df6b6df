//! Global configuration values (`category.name` → value text).

use super::{Store, TextOrEmpty};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GlobalConfigRow {
    pub id: i64,
    pub category: String,
    pub name: String,
    /// NULL in the table reads as "".
    #[sqlx(try_from = "TextOrEmpty")]
    pub description: String,
    pub default_value: String,
    pub value: String,
}

impl Store {
    /// Make sure a config row exists (keeps the stored value; refreshes description/default).
    pub async fn global_config_ensure(
        &self,
        category: &str,
        name: &str,
        description: &str,
        default_value: &str,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO global_config (category, name, description, default_value, value) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (category, name) DO UPDATE SET description = $3, default_value = $4",
        )
        .bind(category)
        .bind(name)
        .bind(description)
        .bind(default_value)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn global_configs_all(&self) -> sqlx::Result<Vec<GlobalConfigRow>> {
        sqlx::query_as("SELECT id, category, name, description, default_value, value FROM global_config ORDER BY id")
            .fetch_all(self.pool())
            .await
    }

    pub async fn global_config_set(
        &self,
        category: &str,
        name: &str,
        value: &str,
    ) -> sqlx::Result<()> {
        sqlx::query("UPDATE global_config SET value = $1 WHERE category = $2 AND name = $3")
            .bind(value)
            .bind(category)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
