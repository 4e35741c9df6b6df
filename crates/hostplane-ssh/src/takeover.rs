//! The takeover flag: a file on the host (ZStack: `/var/run/zstack/takeOver`) holding
//! `uuid:<hostUuid>`, whose mtime is refreshed on every ping by the managing server. A second
//! management server that finds a fresh flag refuses to add the host (zstack-host-semantics §6.4).
//!
//! This module only reads, writes, touches and removes that one file, each in one command. It
//! must never decide whether a host is taken over (the server compares the age with its ping
//! interval and the uuid with its database), and never touch any other path than the one given.

use std::time::Duration;

use crate::connect::Session;
use crate::error::SshError;
use crate::exec::sh_quote;

/// What a takeover flag says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeoverFlag {
    /// The uuid after `uuid:` in the file; `None` when the file holds something else (e.g. empty).
    pub host_uuid: Option<String>,
    /// Seconds since the file's mtime, by the host's own clock (0 when the mtime is in the future).
    pub age_secs: u64,
}

/// The path as a shell word: quoted, except that a leading `~/` means the login user's home.
fn path_expr(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", sh_quote(rest)),
        None => sh_quote(path),
    }
}

impl Session {
    /// Read the flag at `path`: `Ok(None)` when it does not exist. Content and age come from one
    /// command that prints the file, its mtime and the host's current time.
    pub async fn read_takeover_flag(&self, path: &str) -> Result<Option<TakeoverFlag>, SshError> {
        let cmd = format!(
            "f={f}; if [ ! -e \"$f\" ]; then echo absent=1; exit 0; fi; \
             [ -r \"$f\" ] || {{ echo \"cannot read $f as user $(id -un)\" >&2; exit 3; }}; \
             printf 'now=%s\\nmtime=%s\\ncontent=' \"$(date +%s)\" \"$(stat -c %Y \"$f\")\"; \
             head -c 512 \"$f\" | head -n 1; echo",
            f = path_expr(path)
        );
        let out = self.exec_checked("read takeover flag", &cmd).await?;
        parse_flag_output(&out.stdout).map_err(|why| SshError::Command {
            cmd_name: "read takeover flag",
            exit_status: out.exit_status,
            stderr_tail: why,
        })
    }

    /// Write `uuid:<host_uuid>` to `path`, creating its directory. Without write access the error
    /// says that the login user cannot write there.
    pub async fn write_takeover_flag(&self, path: &str, host_uuid: &str) -> Result<(), SshError> {
        let cmd = format!(
            "f={f}; d=$(dirname \"$f\"); mkdir -p \"$d\" 2>/dev/null; \
             if ! {{ printf 'uuid:%s\\n' {u} > \"$f\"; }} 2>/dev/null; then \
             echo \"cannot write $f as user $(id -un): no write access to $d (log in as root, or use a path this user can write)\" >&2; \
             exit 1; fi",
            f = path_expr(path),
            u = sh_quote(host_uuid)
        );
        self.exec_checked("write takeover flag", &cmd).await?;
        Ok(())
    }

    /// Refresh the flag's mtime (what ZStack's agent does on every ping). A missing flag is not
    /// created: that is an error (exit status 2) so the caller can write it again (e.g. after a
    /// reboot cleared `/var/run`).
    ///
    /// `ahead` > 0 sets the mtime that far in the host's future: a caller that logs in only
    /// every few pings keeps the flag looking fresh (younger than a ping interval, ZStack's
    /// takeover rule) until its next login. Zero: the host's current time (`touch -c`).
    pub async fn touch_takeover_flag(&self, path: &str, ahead: Duration) -> Result<(), SshError> {
        let cmd = format!(
            "f={f}; [ -e \"$f\" ] || {{ echo \"takeover flag $f does not exist\" >&2; exit 2; }}; \
             touch -c{when} \"$f\" 2>/dev/null || {{ echo \"cannot touch $f as user $(id -un): no write access\" >&2; exit 1; }}",
            f = path_expr(path),
            when = touch_time(ahead)
        );
        self.exec_checked("touch takeover flag", &cmd).await?;
        Ok(())
    }

    pub async fn remove_takeover_flag(&self, path: &str) -> Result<(), SshError> {
        let cmd = format!(
            "f={f}; [ -e \"$f\" ] || exit 0; rm -f \"$f\" 2>/dev/null || \
             {{ echo \"cannot remove $f as user $(id -un): no write access to its directory\" >&2; exit 1; }}",
            f = path_expr(path)
        );
        self.exec_checked("remove takeover flag", &cmd).await?;
        Ok(())
    }
}

/// Parse the read command's output (pure, for tests).
/// The `-d` option of `touch` for an mtime `ahead` in the host's future (empty: now).
fn touch_time(ahead: Duration) -> String {
    match ahead.as_secs() {
        0 => String::new(),
        n => format!(" -d \"@$(( $(date +%s) + {n} ))\""),
    }
}

fn parse_flag_output(stdout: &str) -> Result<Option<TakeoverFlag>, String> {
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
    fn touch_ahead_sets_a_future_mtime() {
        assert_eq!(touch_time(Duration::ZERO), "");
        assert_eq!(
            touch_time(Duration::from_secs(240)),
            " -d \"@$(( $(date +%s) + 240 ))\""
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
