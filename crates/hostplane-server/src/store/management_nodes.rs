//! Management nodes: this server, with its heartbeat.

use super::Store;

impl Store {
    pub async fn management_node_join(
        &self,
        uuid: &str,
        host_name: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO management_node (uuid, host_name, join_date, heart_beat) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (uuid) DO UPDATE SET host_name = $2, join_date = $3, heart_beat = $3",
        )
        .bind(uuid)
        .bind(host_name)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn management_node_heartbeat(&self, uuid: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE management_node SET heart_beat = $1 WHERE uuid = $2")
            .bind(now)
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
