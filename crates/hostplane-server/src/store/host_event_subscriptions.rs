//! Webhook subscriptions to host events. The secret that signs deliveries arrives sealed by
//! the domain and is read back only to sign; queries never select it.

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    /// Only this host's events (None: every host's).
    pub host_uuid: Option<String>,
    /// Only these event types, comma-separated (None: every type).
    pub event_types: Option<String>,
    /// Sealed (see `domain::host::crypto`).
    pub secret: Option<String>,
    pub create_date: i64,
}

impl Store {
    pub async fn subscription_insert(&self, s: &SubscriptionRow) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO host_event_subscription (uuid, name, description, url, host_uuid, event_types, secret, create_date, last_op_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&s.uuid)
        .bind(&s.name)
        .bind(&s.description)
        .bind(&s.url)
        .bind(&s.host_uuid)
        .bind(&s.event_types)
        .bind(&s.secret)
        .bind(s.create_date)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every subscription (there are few: the delivery side caches them briefly).
    pub async fn subscriptions_all(&self) -> sqlx::Result<Vec<SubscriptionRow>> {
        sqlx::query_as(
            "SELECT uuid, name, description, url, host_uuid, event_types, secret, create_date \
             FROM host_event_subscription ORDER BY create_date, uuid",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Delete a subscription; false when there was none.
    pub async fn subscription_delete(&self, uuid: &str) -> sqlx::Result<bool> {
        Ok(
            sqlx::query("DELETE FROM host_event_subscription WHERE uuid = $1")
                .bind(uuid)
                .execute(self.pool())
                .await?
                .rows_affected()
                > 0,
        )
    }
}
