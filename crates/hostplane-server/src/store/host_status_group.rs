//! Many hosts' status changed in one transaction: the host rows, the system tags that go with
//! the old status, and the hosts' events. The domain gathers the group
//! (`domain::host::disconnect`); this file writes it with three statements whatever its size,
//! where one host at a time took three statements each.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::host_events::{HostEventRow, NewHostEvent};
use super::Store;

/// `$from, $from+1, ..., $from+n-1`.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a group write did.
#[derive(Debug, Default)]
pub struct GroupWritten {
    /// The hosts whose status changed (the others had it already, or are gone).
    pub changed: HashSet<String>,
    /// The events recorded, by host: only hosts that changed get theirs.
    pub events: HashMap<String, HostEventRow>,
}

impl Store {
    /// Set `status` on each host of `uuids` that has another, drop those hosts' system tags
    /// that start with `tag_prefix`, and record the `events` of those hosts (at most one per
    /// host) — all or nothing.
    pub async fn hosts_change_status_together(
        &self,
        uuids: &[&str],
        status: &str,
        tag_prefix: &str,
        events: &[NewHostEvent<'_>],
        now: i64,
    ) -> sqlx::Result<GroupWritten> {
        let mut out = GroupWritten::default();
        if uuids.is_empty() {
            return Ok(out);
        }
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "UPDATE host SET status = $1, last_op_date = $2 WHERE status <> $1 AND uuid IN ({}) \
             RETURNING uuid",
            placeholders(3, uuids.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql).bind(status).bind(now);
        for u in uuids {
            q = q.bind(*u);
        }
        out.changed = q.fetch_all(&mut *tx).await?.into_iter().collect();
        if out.changed.is_empty() {
            tx.commit().await?;
            return Ok(out);
        }
        let changed: Vec<&String> = out.changed.iter().collect();

        // substr instead of LIKE: the prefix is data, not a pattern.
        let sql = format!(
            "DELETE FROM system_tag WHERE substr(tag, 1, CAST($1 AS INTEGER)) = $2 \
             AND resource_uuid IN ({})",
            placeholders(3, changed.len())
        );
        let mut q = sqlx::query(&sql)
            .bind(tag_prefix.chars().count() as i64)
            .bind(tag_prefix);
        for u in &changed {
            q = q.bind(u.as_str());
        }
        q.execute(&mut *tx).await?;

        let mut seen = HashSet::new();
        let events: Vec<&NewHostEvent> = events
            .iter()
            .filter(|e| out.changed.contains(e.host_uuid) && seen.insert(e.host_uuid))
            .collect();
        if !events.is_empty() {
            const COLUMNS: usize = 9;
            let rows: Vec<String> = (0..events.len())
                .map(|i| {
                    let p = |k: usize| format!("${}", i * COLUMNS + k);
                    format!(
                        "({h}, (SELECT name FROM host WHERE uuid = {h}), \
                         (SELECT management_ip FROM host WHERE uuid = {h}), {}, {}, {}, {}, {}, {}, {}, {})",
                        p(2),
                        p(3),
                        p(4),
                        p(5),
                        p(6),
                        p(7),
                        p(8),
                        p(9),
                        h = p(1),
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO host_event (host_uuid, host_name, management_ip, type, from_value, \
                 to_value, cause, reason, job_uuid, management_node_uuid, create_date) VALUES {} \
                 RETURNING id, host_uuid, host_name, management_ip",
                rows.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for e in &events {
                q = e.bind(q);
            }
            let by_host: HashMap<&str, &&NewHostEvent> =
                events.iter().map(|e| (e.host_uuid, e)).collect();
            for r in q.fetch_all(&mut *tx).await? {
                let host: String = r.try_get("host_uuid")?;
                if let Some(e) = by_host.get(host.as_str()) {
                    out.events.insert(host, e.stored(&r)?);
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}
