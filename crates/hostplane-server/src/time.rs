//! Time as hostplane keeps it (epoch milliseconds) and as ZStack shows it.
//!
//! The store keeps every timestamp as a BIGINT of epoch milliseconds, the same on SQLite and
//! PostgreSQL. On the wire ZStack's Gson prints `java.sql.Timestamp` as `Jan 6, 2017 3:51:16 AM`
//! in the server's local time zone; [`format_date`] is the only place that format lives.

use chrono::{Local, TimeZone};

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `Jan 6, 2017 3:51:16 AM` (Gson's default on Java 8), in the local time zone.
pub fn format_date(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%b %-d, %Y %-I:%M:%S %p").to_string()
        }
        chrono::LocalResult::None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gson_format() {
        let s = super::format_date(1_483_674_676_000);
        // "Jan 6, 2017 3:51:16 AM" in UTC; the hour shifts with the local zone.
        assert!(
            s.starts_with("Jan ")
                && s.contains(", 2017 ")
                && (s.ends_with(" AM") || s.ends_with(" PM")),
            "{s}"
        );
    }
}
