//! Wrong-password counts per (account name, source address), shared by every management node
//! on the database. The rule (how many failures lock, for how long, within which window) is the
//! domain's ([`crate::domain::identity`]); this file keeps the counts, in the database's clock,
//! and never more than a given number of rows.

use super::Store;

/// One (account, address) pair's count as the database holds it after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginFailureRow {
    pub failures: i64,
    /// Refused until then (database epoch ms); None while under the limit.
    pub locked_until: Option<i64>,
}

/// The rule a count follows, times in ms.
#[derive(Debug, Clone, Copy)]
pub struct FailureRule {
    pub max_failures: i64,
    pub window_ms: i64,
    pub lock_ms: i64,
    /// At most this many rows; a new pair past it is not counted here.
    pub max_rows: i64,
}

impl Store {
    /// The lock on a pair while it lasts: `Some` with its count and end when locked now.
    pub async fn login_failure_lock(
        &self,
        account: &str,
        address: &str,
    ) -> sqlx::Result<Option<LoginFailureRow>> {
        let sql = format!(
            "SELECT failures, locked_until FROM login_failure \
             WHERE account_name = $1 AND address = $2 AND locked_until > {}",
            self.db_now()
        );
        sqlx::query_as(&sql)
            .bind(account)
            .bind(address)
            .fetch_optional(self.pool())
            .await
    }

    /// Count one wrong password in one statement (two nodes counting at once both count).
    /// A pair whose window or lock has passed starts again at one; reaching the limit locks
    /// it from now. None when the table is full and the pair is new: it was not counted.
    pub async fn login_failure_count(
        &self,
        account: &str,
        address: &str,
        rule: FailureRule,
    ) -> sqlx::Result<Option<LoginFailureRow>> {
        // $3 max failures, $4 window, $5 lock length, $6 row bound.
        let sql = format!(
            "INSERT INTO login_failure (account_name, address, failures, since, locked_until) \
             SELECT $1, $2, 1, {now}, CASE WHEN 1 >= $3 THEN {now} + $5 ELSE NULL END \
             WHERE (SELECT COUNT(*) FROM login_failure) < $6 \
                OR EXISTS (SELECT 1 FROM login_failure WHERE account_name = $1 AND address = $2) \
             ON CONFLICT (account_name, address) DO UPDATE SET \
               failures = CASE WHEN {over} THEN 1 ELSE login_failure.failures + 1 END, \
               since = CASE WHEN {over} THEN {now} ELSE login_failure.since END, \
               locked_until = CASE \
                 WHEN {over} THEN (CASE WHEN 1 >= $3 THEN {now} + $5 ELSE NULL END) \
                 WHEN login_failure.locked_until IS NOT NULL THEN login_failure.locked_until \
                 WHEN login_failure.failures + 1 >= $3 THEN {now} + $5 \
                 ELSE NULL END \
             RETURNING failures, locked_until",
            now = self.db_now(),
            // The pair's last count is over: its lock has ended, or (never locked) its window.
            over = format_args!(
                "(login_failure.locked_until < {now} \
                  OR (login_failure.locked_until IS NULL AND login_failure.since < {now} - $4))",
                now = self.db_now()
            ),
        );
        sqlx::query_as(&sql)
            .bind(account)
            .bind(address)
            .bind(rule.max_failures)
            .bind(rule.window_ms)
            .bind(rule.lock_ms)
            .bind(rule.max_rows)
            .fetch_optional(self.pool())
            .await
    }

    /// Forget a pair (a successful login).
    pub async fn login_failure_clear(&self, account: &str, address: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM login_failure WHERE account_name = $1 AND address = $2")
            .bind(account)
            .bind(address)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drop the pairs whose lock has ended, or whose window has passed without a lock.
    pub async fn login_failure_sweep(&self, window_ms: i64) -> sqlx::Result<u64> {
        let sql = format!(
            "DELETE FROM login_failure WHERE locked_until < {now} \
             OR (locked_until IS NULL AND since < {now} - $1)",
            now = self.db_now()
        );
        let r = sqlx::query(&sql)
            .bind(window_ms)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
