//! The takeover flag: a file on the host (ZStack: `/var/run/zstack/takeOver`) holding
//! `uuid:<hostUuid>`, whose mtime is refreshed on every ping by the managing server. A second
//! management server that finds a fresh flag refuses to add the host (zstack-host-semantics §6.4).
//!
//! Each operation is one exec of the helper of [`crate::sudo`]: run directly when the login is
//! root or can write the flag's directory (or the path is under `~/`), else through sudo. This
//! module only reads, writes, touches and removes that one file. It must never decide whether a
//! host is taken over (the server compares the age with its ping interval and the uuid with its
//! database), and never touch any other path than the one given.

use std::time::Duration;

use crate::connect::Session;
use crate::error::SshError;
use crate::sudo::{checked, Op};

/// What a takeover flag says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeoverFlag {
    /// The uuid after `uuid:` in the file; `None` when the file holds something else (e.g. empty).
    pub host_uuid: Option<String>,
    /// Seconds since the file's mtime, by the host's own clock (0 when the mtime is in the future).
    pub age_secs: u64,
}

impl Session {
    /// Read the flag at `path`: `Ok(None)` when it does not exist. Content and age come from one
    /// command that prints the file, its mtime and the host's current time.
    /// [`Session::check_access`] does the same and also says how it ran.
    pub async fn read_takeover_flag(&self, path: &str) -> Result<Option<TakeoverFlag>, SshError> {
        self.check_access(path).await?.flag
    }

    /// Write `uuid:<host_uuid>` to `path` (atomically), creating its directory.
    pub async fn write_takeover_flag(&self, path: &str, host_uuid: &str) -> Result<(), SshError> {
        self.flag_op(path, Op::Write(host_uuid)).await.map(|_| ())
    }

    /// Refresh the flag's mtime (what ZStack's agent does on every ping). A missing flag is not
    /// created: that is an error (exit status 2) so the caller can write it again (e.g. after a
    /// reboot cleared `/var/run`).
    ///
    /// `ahead` > 0 sets the mtime that far in the host's future: a caller that logs in only
    /// every few pings keeps the flag looking fresh (younger than a ping interval, ZStack's
    /// takeover rule) until its next login. Zero: the host's current time.
    pub async fn touch_takeover_flag(&self, path: &str, ahead: Duration) -> Result<(), SshError> {
        self.flag_op(path, Op::Touch(ahead.as_secs()))
            .await
            .map(|_| ())
    }

    /// Remove the flag if it names `host_uuid` (another manager's flag is never touched).
    /// `Ok(true)` when it was removed, `Ok(false)` when it was absent or names something else.
    pub async fn remove_takeover_flag(
        &self,
        path: &str,
        host_uuid: &str,
    ) -> Result<bool, SshError> {
        let out = self.flag_op(path, Op::Remove(host_uuid)).await?;
        Ok(out.stdout.lines().any(|l| l.trim() == "removed"))
    }

    async fn flag_op(&self, path: &str, op: Op<'_>) -> Result<crate::ExecOutput, SshError> {
        let run = self.run_helper(path, op, false).await?;
        checked(op, &run.out)
    }
}

/// Parse the read operation's output (pure, for tests).
pub(crate) fn parse_flag_output(stdout: &str) -> Result<Option<TakeoverFlag>, String> {
    let mut now = None;
    let mut mtime = None;
    let mut content = None;
    for line in stdout.lines() {
        if line.starts_with("absent=") {
            return Ok(None);
        } else if let Some(v) = line.strip_prefix("now=") {
            now = v.trim().parse::<i64>().ok();
        } else if let Some(v) = line.strip_prefix("mtime=") {
            mtime = v.trim().parse::<i64>().ok();
        } else if let Some(v) = line.strip_prefix("content=") {
            content = Some(v.trim().to_string());
        }
    }
    let (Some(now), Some(mtime)) = (now, mtime) else {
        return Err(format!(
            "unexpected output: {}",
            crate::error::tail(stdout, 200)
        ));
    };
    let host_uuid = content
        .as_deref()
        .and_then(|c| c.strip_prefix("uuid:"))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    Ok(Some(TakeoverFlag {
        host_uuid,
        age_secs: now.saturating_sub(mtime).max(0) as u64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_relative_paths_expand() {
        use crate::sudo::path_expr;
        assert_eq!(
            path_expr("~/.hostplane/takeOver"),
            "\"$HOME\"/'.hostplane/takeOver'"
        );
        assert_eq!(
            path_expr("/var/run/zstack/takeOver"),
            "'/var/run/zstack/takeOver'"
        );
    }

    #[test]
    fn parses_flag() {
        assert_eq!(parse_flag_output("absent=1\n"), Ok(None));
        assert_eq!(
            parse_flag_output("now=1000\nmtime=990\ncontent=uuid:abc-123\n\n"),
            Ok(Some(TakeoverFlag {
                host_uuid: Some("abc-123".into()),
                age_secs: 10
            }))
        );
        // mtime in the future (clock skew) → age 0; foreign content → no uuid.
        assert_eq!(
            parse_flag_output("now=1000\nmtime=1005\ncontent=hello\n"),
            Ok(Some(TakeoverFlag {
                host_uuid: None,
                age_secs: 0
            }))
        );
        assert_eq!(
            parse_flag_output("now=5\nmtime=5\ncontent=\n"),
            Ok(Some(TakeoverFlag {
                host_uuid: None,
                age_secs: 0
            }))
        );
        assert!(parse_flag_output("garbage").is_err());
    }
}
