//! The one error type of the domain, and the table of ZStack error codes.
//!
//! Every operation in [`crate::domain`] fails with an [`Error`]: a [`Code`] from ZStack's
//! catalogue (`SYS.1007`, `SYS.1003`, `ID.1001`, `HOST.1002`, ...), the details a user reads,
//! an optional cause (ZStack nests errors through `cause`), and an optional `opaque` map for
//! machine-readable extras (the failed step of a host connect, its hint, the host's stderr).
//!
//! The [`Code`] table is the only place that knows a code's string and description. The HTTP
//! face turns an `Error` into ZStack's `ErrorCode` JSON with [`Error::to_error_code`]; it never
//! builds error JSON by hand. This module must never know about HTTP statuses beyond what the
//! protocol fixes for every API error (503), nor hold a password in any message.
//!
//! Internal failures (database, I/O, a crashed task) never put their own text into a reply:
//! [`Error::internal_logged`] writes the text to the log under a fresh error id and the reply
//! carries a stable sentence with that id (also as `opaque.errorId`), so an operator can find
//! the cause and a caller learns nothing about the database.

use serde_json::{Map, Value};

/// Declares [`Code`] and its table in one list, so a code cannot exist without its string.
macro_rules! codes {
    ($($variant:ident = ($code:literal, $description:literal)),* $(,)?) => {
        /// ZStack's error codes, with the description text from `conf/errorCodes/*.xml`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($variant),*
        }

        impl Code {
            /// Every code.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code string and its fixed description.
            pub fn parts(self) -> (&'static str, &'static str) {
                match self {
                    $(Code::$variant => ($code, $description)),*
                }
            }
        }
    };
}

codes! {
    Internal = ("SYS.1000", "An internal error happened in system"),
    Timeout = ("SYS.1001", "A message or a operation timeout"),
    ResourceNotFound = ("SYS.1003", "A resource can not be found"),
    DeleteResourceError = ("SYS.1004", "Unable to delete a resource"),
    ChangeResourceStateError = ("SYS.1005", "Unable to change resource state"),
    OperationError = ("SYS.1006", "An operation failed"),
    InvalidArgument = ("SYS.1007", "One or more API argument is invalid"),
    UnableToEnterMaintenanceMode = ("HOST.1001", "Unable to put host to maintenance mode"),
    UnableToReconnectHost = ("HOST.1002", "Unable to reconnect host"),
    HostConnectionError = ("HOST.1003", "An error happened when connecting to host"),
    HostPasswordChanged = ("HOST.1012", "The host password has been changed"),
    AuthenticationError = ("ID.1000", "Unable to authenticate a user"),
    InvalidSession = (
        "ID.1001",
        "The session is invalid, either wrong session id or the session has been expired"
    ),
    PermissionDenied = ("ID.1002", "Permission denied"),
    MaxConcurrentSessionExceeded = (
        "ID.1006",
        "The number of concurrent sessions has reached its limit"
    ),
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.parts().0
    }
}

/// A failed operation, in ZStack's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub code: Code,
    pub details: String,
    pub cause: Option<Box<Error>>,
    pub opaque: Option<Map<String, Value>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: Code, details: impl Into<String>) -> Self {
        Error {
            code,
            details: truncate(details.into()),
            cause: None,
            opaque: None,
        }
    }
    /// SYS.1007: an API argument is invalid.
    pub fn invalid_argument(details: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, details)
    }
    /// SYS.1003: a resource named by the request does not exist.
    pub fn not_found(details: impl Into<String>) -> Self {
        Self::new(Code::ResourceNotFound, details)
    }
    /// SYS.1006: the operation was refused or failed.
    pub fn operation(details: impl Into<String>) -> Self {
        Self::new(Code::OperationError, details)
    }
    /// SYS.1000: a bug or an unexpected condition.
    pub fn internal(details: impl Into<String>) -> Self {
        Self::new(Code::Internal, details)
    }
    /// SYS.1000 for a failure whose own text must not reach the caller (a database or I/O
    /// error, a panic): `cause` goes to the log with a new error id; the reply says only
    /// `what` failed and names the id.
    pub fn internal_logged(what: &str, cause: impl std::fmt::Display) -> Self {
        let id = crate::ids::new_uuid()[..16].to_string();
        tracing::error!(error_id = %id, cause = %cause, "{what} failed");
        Self::internal(format!(
            "{what} failed; the server log has the cause under error id {id}"
        ))
        .with_opaque("errorId", id)
    }
    /// Wrap `cause` under `code`, as ZStack's `err(code, cause, ...)` does.
    pub fn wrap(code: Code, details: impl Into<String>, cause: Error) -> Self {
        Error {
            cause: Some(Box::new(cause)),
            ..Self::new(code, details)
        }
    }
    /// The fix for a failure of the store itself (unreachable, or its disk full), as opposed
    /// to a failure of the work: None for any other error.
    pub fn store_hint(&self) -> Option<&'static str> {
        match self.opaque.as_ref()?.get("reason")?.as_str()? {
            STORE_UNAVAILABLE => Some(STORE_UNAVAILABLE_HINT),
            STORE_FULL => Some(STORE_FULL_HINT),
            _ => None,
        }
    }
    pub fn with_opaque(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.opaque
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }
    /// The deepest cause: ZStack's "root cause".
    pub fn root_cause(&self) -> &Error {
        let mut e = self;
        while let Some(c) = &e.cause {
            e = c;
        }
        e
    }
    /// Whether `code` appears anywhere in the chain.
    pub fn has_code(&self, code: Code) -> bool {
        let mut e = Some(self);
        while let Some(x) = e {
            if x.code == code {
                return true;
            }
            e = x.cause.as_deref();
        }
        false
    }

    /// ZStack's `ErrorCode` JSON object (`code`, `description`, `details`, `cause`, `opaque`).
    pub fn to_error_code(&self) -> Value {
        let (code, description) = self.code.parts();
        let mut m = Map::new();
        m.insert("code".into(), code.into());
        m.insert("description".into(), description.into());
        m.insert("details".into(), self.details.clone().into());
        if let Some(c) = &self.cause {
            m.insert("cause".into(), c.to_error_code());
        }
        if let Some(o) = &self.opaque {
            m.insert("opaque".into(), Value::Object(o.clone()));
        }
        Value::Object(m)
    }

    /// Rebuild an error from its `ErrorCode` JSON (jobs keep failures as JSON in the store).
    pub fn from_error_code(v: &Value) -> Error {
        let code_str = v.get("code").and_then(Value::as_str).unwrap_or("SYS.1000");
        let code = Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == code_str)
            .unwrap_or(Code::Internal);
        Error {
            code,
            details: v
                .get("details")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            cause: v.get("cause").map(|c| Box::new(Error::from_error_code(c))),
            opaque: v.get("opaque").and_then(Value::as_object).cloned(),
        }
    }
}

/// ZStack truncates `details` to 4096 characters.
fn truncate(mut s: String) -> String {
    if s.len() > 4096 {
        let mut cut = 4096;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.details)?;
        if let Some(c) = &self.cause {
            write!(f, " (cause: {c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The `opaque.reason` of a call that failed because the database cannot be reached.
pub const STORE_UNAVAILABLE: &str = "STORE.UNAVAILABLE";
/// Its fix.
pub const STORE_UNAVAILABLE_HINT: &str = "hostplane reconnects to the database by itself: check that the database server runs and is reachable from the management server, then call the API again";

/// The reason of a store failure that means the database's disk is full.
pub const STORE_FULL: &str = "STORE.FULL";
/// Its fix.
pub const STORE_FULL_HINT: &str = "the disk that holds the database is full (SQLite: the file system of the data directory; PostgreSQL: the database server's data directory): free space there; hostplane goes on by itself, then call the API again";

/// Whether a store error means the database's disk is full: SQLite's SQLITE_FULL (13, in the
/// low byte of an extended code; SQLite's codes have at most 4 digits), PostgreSQL's
/// `disk_full` (53100; its codes have 5 characters).
pub fn store_full(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    d.code().is_some_and(|c| {
        c == "53100" || (c.len() < 5 && c.parse::<i32>().is_ok_and(|n| n & 0xff == 13))
    })
}

/// Whether a store error means the database cannot be reached (down, restarting, the network
/// gone, every connection busy), as opposed to a statement that failed.
pub fn store_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08), operator intervention such as a shutdown
        // (57P01-57P03), "the database system is starting up" (57P03), and every connection
        // slot taken (53300 too_many_connections: other clients, or too many nodes for
        // max_connections).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

impl From<sqlx::Error> for Error {
    /// A store failure is an internal error whose text goes to the log only; one that means
    /// the database cannot be reached says so, with a stable reason and a fix, so a caller can
    /// tell it from a bug.
    fn from(e: sqlx::Error) -> Self {
        if store_unavailable(&e) {
            Error::internal_logged("reaching the database", e)
                .with_opaque("reason", STORE_UNAVAILABLE)
                .with_opaque("hint", STORE_UNAVAILABLE_HINT)
        } else if store_full(&e) {
            Error::internal_logged("writing to the database (its disk is full)", e)
                .with_opaque("reason", STORE_FULL)
                .with_opaque("hint", STORE_FULL_HINT)
        } else {
            Error::internal_logged("a database operation", e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error with this code, as a driver reports it.
    #[derive(Debug)]
    struct Db(&'static str);

    impl std::fmt::Display for Db {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database error {}", self.0)
        }
    }

    impl std::error::Error for Db {}

    impl sqlx::error::DatabaseError for Db {
        fn message(&self) -> &str {
            "test"
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn store_failures_get_their_reason_and_fix() {
        let reason = |code: &'static str| {
            let e: Error = sqlx::Error::Database(Box::new(Db(code))).into();
            assert_eq!(e.code, Code::Internal);
            let r = e.opaque.as_ref().and_then(|o| o.get("reason")).cloned();
            assert_eq!(e.store_hint().is_some(), r.is_some(), "{code}");
            r.and_then(|r| r.as_str().map(str::to_string))
        };
        // SQLite: SQLITE_FULL, plain and in an extended code's low byte; SQLITE_BUSY is not.
        assert_eq!(reason("13").as_deref(), Some(STORE_FULL));
        assert_eq!(reason("269").as_deref(), Some(STORE_FULL));
        assert_eq!(reason("5"), None);
        // PostgreSQL: disk_full; connection trouble, a shutdown, every connection slot taken.
        assert_eq!(reason("53100").as_deref(), Some(STORE_FULL));
        for code in ["08006", "57P01", "57P03", "53300"] {
            assert_eq!(reason(code).as_deref(), Some(STORE_UNAVAILABLE), "{code}");
        }
        // A statement that failed for its own reasons is a plain internal error (22541 has
        // SQLITE_FULL's low byte: a PostgreSQL code is never read as SQLite's).
        assert_eq!(reason("23505"), None);
        assert_eq!(reason("22541"), None);
        assert_eq!(reason("42P01"), None);
    }

    #[test]
    fn error_code_json_round_trips() {
        let e = Error::wrap(
            Code::UnableToReconnectHost,
            "reconnect failed",
            Error::operation("ssh port closed"),
        )
        .with_opaque("step", "wait-for-ssh-port");
        let v = e.to_error_code();
        assert_eq!(v["code"], "HOST.1002");
        assert_eq!(v["cause"]["code"], "SYS.1006");
        assert_eq!(v["opaque"]["step"], "wait-for-ssh-port");
        assert_eq!(Error::from_error_code(&v), e);
        assert_eq!(e.root_cause().details, "ssh port closed");
    }

    #[test]
    fn database_text_stays_in_the_log() {
        let e: Error = sqlx::Error::Protocol("relation \"host\" does not exist".into()).into();
        assert_eq!(e.code, Code::Internal);
        assert!(!e.details.contains("relation"), "{}", e.details);
        let id = e.opaque.as_ref().unwrap()["errorId"].as_str().unwrap();
        assert!(e.details.contains(id));
    }
}
