//! Jobs: the durable record of every asynchronous API call.
//!
//! A job row is written before the 202 goes out (`Running`), finished with its result
//! (`Succeeded`/`Failed`, the result as JSON text), swept after the retention period, and
//! failed at start-up if the server stopped while it ran.

use super::{is_unique_violation, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub uuid: String,
    pub api: String,
    pub state: String,
    pub result: Option<String>,
    pub create_date: i64,
    pub finished_date: Option<i64>,
}

pub const RUNNING: &str = "Running";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";

/// The job uuid was used before.
#[derive(Debug)]
pub struct DuplicateJob;

impl Store {
    pub async fn job_insert(
        &self,
        uuid: &str,
        api: &str,
        node: &str,
        now: i64,
    ) -> Result<(), Result<DuplicateJob, sqlx::Error>> {
        sqlx::query(
            "INSERT INTO job (uuid, api, state, create_date, node_uuid) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid)
        .bind(api)
        .bind(RUNNING)
        .bind(now)
        .bind(node)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Ok(DuplicateJob)
                } else {
                    Err(e)
                }
            })
    }

    pub async fn job_finish(
        &self,
        uuid: &str,
        state: &str,
        result: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE job SET state = $1, result = $2, finished_date = $3 WHERE uuid = $4 AND state = $5",
        )
        .bind(state)
        .bind(result)
        .bind(now)
        .bind(uuid)
        .bind(RUNNING)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn job_get(&self, uuid: &str) -> sqlx::Result<Option<JobRow>> {
        sqlx::query_as(
            "SELECT uuid, api, state, result, create_date, finished_date FROM job WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(self.pool())
        .await
    }

    /// End the `Running` jobs `which` names as failed with `result`; one statement, however
    /// many there are.
    pub async fn jobs_fail_running(
        &self,
        which: RunningJobs<'_>,
        result: &str,
        now: i64,
    ) -> sqlx::Result<u64> {
        let (of, node) = match which {
            RunningJobs::All => ("", None),
            RunningJobs::OfNode(n) => (" AND node_uuid = $5", Some(n)),
            RunningJobs::OfNodeOrNone(n) => (" AND (node_uuid = $5 OR node_uuid IS NULL)", Some(n)),
        };
        let sql = format!(
            "UPDATE job SET state = $1, result = $2, finished_date = $3 WHERE state = $4{of}"
        );
        let mut q = sqlx::query(&sql)
            .bind(FAILED)
            .bind(result)
            .bind(now)
            .bind(RUNNING);
        if let Some(n) = node {
            q = q.bind(n);
        }
        Ok(q.execute(self.pool()).await?.rows_affected())
    }

    /// The nodes that have running jobs but no row in `management_node` (declared dead and
    /// removed while a job of theirs was still being written).
    pub async fn jobs_orphan_nodes(&self) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT node_uuid FROM job WHERE state = $1 AND node_uuid IS NOT NULL \
             AND node_uuid NOT IN (SELECT uuid FROM management_node)",
        )
        .bind(RUNNING)
        .fetch_all(self.pool())
        .await
    }

    /// Delete finished jobs older than `before`.
    pub async fn jobs_sweep(&self, before: i64) -> sqlx::Result<u64> {
        let r =
            sqlx::query("DELETE FROM job WHERE finished_date IS NOT NULL AND finished_date < $1")
                .bind(before)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected())
    }
}

/// Which running jobs [`Store::jobs_fail_running`] ends.
#[derive(Debug, Clone, Copy)]
pub enum RunningJobs<'a> {
    /// Every one (a restart of the one node of SQLite).
    All,
    /// Those of a node (it was declared dead).
    OfNode(&'a str),
    /// Those of a node and those that name none, written before jobs did (its restart).
    OfNodeOrNone(&'a str),
}
