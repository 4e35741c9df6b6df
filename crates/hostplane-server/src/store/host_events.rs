//! Host events: one row per change of a host (status, state, add, delete, reconnect, re-pinned
//! host key), kept for the retention the domain sweeps by, and queried through the query
//! language (`HostEvent` in `domain::catalogue`). Rows outlive their host.

use sqlx::Row;

use super::Store;

/// An event to record. The host's name and IP are copied from its row, if it still has one.
#[derive(Debug, Clone)]
pub struct NewHostEvent<'a> {
    pub host_uuid: &'a str,
    pub kind: &'a str,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub cause: &'a str,
    pub reason: Option<&'a str>,
    pub job_uuid: Option<&'a str>,
    pub management_node_uuid: &'a str,
    pub now: i64,
}

/// A statement on the `Any` driver, with its bound values.
pub(super) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl<'a> NewHostEvent<'a> {
    /// Bind the event's nine values, in the order of the insert's columns (the host's name and
    /// IP aside: the insert reads them from the host row).
    pub(super) fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q>
    where
        'a: 'q,
    {
        q.bind(self.host_uuid)
            .bind(self.kind)
            .bind(self.from)
            .bind(self.to)
            .bind(self.cause)
            .bind(self.reason)
            .bind(self.job_uuid)
            .bind(self.management_node_uuid)
            .bind(self.now)
    }

    /// The event as stored, from the row an insert returned (`id`, `host_name`,
    /// `management_ip`).
    pub(super) fn stored(&self, r: &sqlx::any::AnyRow) -> sqlx::Result<HostEventRow> {
        Ok(HostEventRow {
            id: r.try_get("id")?,
            host_uuid: self.host_uuid.to_string(),
            host_name: r.try_get("host_name")?,
            management_ip: r.try_get("management_ip")?,
            kind: self.kind.to_string(),
            from: self.from.map(str::to_string),
            to: self.to.map(str::to_string),
            cause: self.cause.to_string(),
            reason: self.reason.map(str::to_string),
            job_uuid: self.job_uuid.map(str::to_string),
            management_node_uuid: Some(self.management_node_uuid.to_string()),
            create_date: self.now,
        })
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEventRow {
    pub id: i64,
    pub host_uuid: String,
    pub host_name: Option<String>,
    pub management_ip: Option<String>,
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cause: String,
    pub reason: Option<String>,
    pub job_uuid: Option<String>,
    pub management_node_uuid: Option<String>,
    pub create_date: i64,
}

impl Store {
    /// Record an event; returns it as stored (with its id and the host's name and IP).
    pub async fn host_event_insert(&self, e: &NewHostEvent<'_>) -> sqlx::Result<HostEventRow> {
        let insert = sqlx::query(
            "INSERT INTO host_event (host_uuid, host_name, management_ip, type, from_value, to_value, cause, reason, \
             job_uuid, management_node_uuid, create_date) \
             VALUES ($1, (SELECT name FROM host WHERE uuid = $1), (SELECT management_ip FROM host WHERE uuid = $1), \
             $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id, host_name, management_ip",
        );
        let r = e.bind(insert).fetch_one(self.pool()).await?;
        e.stored(&r)
    }

    /// Remove events older than `before` (epoch ms), and all but the newest `keep` events.
    /// Returns how many went.
    pub async fn host_events_sweep(&self, before: i64, keep: i64) -> sqlx::Result<u64> {
        let old = sqlx::query("DELETE FROM host_event WHERE create_date < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected();
        // The id of the oldest event to keep: everything below it goes.
        let cut: Option<i64> =
            sqlx::query("SELECT id FROM host_event ORDER BY id DESC LIMIT 1 OFFSET $1")
                .bind(keep.max(0))
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
        let over = match cut {
            Some(id) => sqlx::query("DELETE FROM host_event WHERE id <= $1")
                .bind(id)
                .execute(self.pool())
                .await?
                .rows_affected(),
            None => 0,
        };
        Ok(old + over)
    }
}
