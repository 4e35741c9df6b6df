//! This server as a ZStack management node: its identity, its heartbeat, and the version it
//! reports.

use std::sync::Arc;
use std::time::Duration;

use super::App;
use crate::time::now_ms;

/// The version GetVersion reports. ZStack clients compare it with their own; hostplane speaks
/// ZStack 5.2's API, so it answers as 5.2.0 (its own version is in the logs and `--version`).
pub const VERSION: &str = "5.2.0";
const HEARTBEAT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Node {
    pub uuid: String,
    pub host_name: String,
}

impl Node {
    /// A node identity kept across restarts in the data directory (or made fresh).
    pub fn new(uuid: String) -> Node {
        let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        Node { uuid, host_name }
    }
}

/// Register this node and keep its heartbeat fresh.
pub async fn join_and_beat(app: Arc<App>) -> anyhow::Result<()> {
    app.store
        .management_node_join(&app.node.uuid, &app.node.host_name, now_ms())
        .await?;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if let Err(e) = app
                .store
                .management_node_heartbeat(&app.node.uuid, now_ms())
                .await
            {
                tracing::warn!(error = %e, "management node heartbeat failed");
            }
        }
    });
    Ok(())
}
