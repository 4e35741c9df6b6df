//! Running one command on an open [`Session`]: one SSH channel, stdout and stderr collected
//! separately, the exit status, everything bounded in time and size.
//!
//! The command runs under the login user's shell (`$SHELL -c`), without a PTY, with sshd's default
//! environment. This module must never: put secrets into a command line (they would show in the
//! host's `ps`); keep unbounded output in memory; or wait past `command_timeout`.

use std::time::Duration;

use russh::{ChannelMsg, Sig};

use crate::connect::Session;
use crate::error::{tail, SshError};

/// stdout beyond this is dropped (the head is kept).
pub const MAX_STDOUT: usize = 4 << 20;
/// stderr beyond this is dropped (the tail is kept).
pub const MAX_STDERR: usize = 64 << 10;

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// At most [`MAX_STDOUT`] bytes (the head), lossily decoded as UTF-8.
    pub stdout: String,
    /// At most [`MAX_STDERR`] bytes (the tail), lossily decoded as UTF-8.
    pub stderr: String,
    /// `None` when the command was killed by a signal.
    pub exit_status: Option<u32>,
}

impl ExecOutput {
    /// True when the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }
}

impl Session {
    /// Run `cmd` and collect its output, bounded by the session's `command_timeout`.
    ///
    /// A non-zero exit is not an error here (see [`ExecOutput::exit_status`]); a dropped
    /// connection is [`SshError::Protocol`], the bound is [`SshError::Timeout`] `"command"`.
    pub async fn exec(&self, cmd: &str) -> Result<ExecOutput, SshError> {
        self.exec_bounded(cmd, self.inner.command_timeout, "command")
            .await
    }

    /// [`Session::exec`] with an explicit bound and timeout stage name.
    pub async fn exec_bounded(
        &self,
        cmd: &str,
        bound: Duration,
        stage: &'static str,
    ) -> Result<ExecOutput, SshError> {
        let handle = &self.inner.handle;
        let deadline = tokio::time::Instant::now() + bound;
        let timeout = || SshError::Timeout { stage };
        let mut channel = tokio::time::timeout_at(deadline, async {
            let channel = handle
                .channel_open_session()
                .await
                .map_err(|e| lost("opening a channel", e))?;
            channel
                .exec(true, cmd)
                .await
                .map_err(|e| lost("starting the command", e))?;
            Ok::<_, SshError>(channel)
        })
        .await
        .map_err(|_| timeout())??;

        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut exit_status = None;
        let mut signalled = false;
        let mut closed = false;
        let collected = tokio::time::timeout_at(deadline, async {
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => push_head(&mut out, &data, MAX_STDOUT),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        push_tail(&mut err, &data, MAX_STDERR)
                    }
                    ChannelMsg::ExitStatus { exit_status: s } => exit_status = Some(s),
                    ChannelMsg::ExitSignal { .. } => signalled = true,
                    ChannelMsg::Failure => {
                        return Err(SshError::Protocol(
                            "the host refused to run the command".into(),
                        ))
                    }
                    ChannelMsg::Close => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await;
        if !matches!(collected, Ok(Ok(()))) {
            // Channels are not closed on drop: kill the command (best effort) and close ours, so
            // a hung command does not hold one of the host's MaxSessions slots.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                let _ = channel.signal(Sig::KILL).await;
                let _ = channel.close().await;
            })
            .await;
        }
        match collected {
            Err(_) => return Err(timeout()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(())) => {}
        }
        if !closed && exit_status.is_none() && !signalled {
            return Err(SshError::Protocol(
                "the connection was lost while the command ran".into(),
            ));
        }
        let _ = channel.close().await;
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
            exit_status,
        })
    }

    /// Run a helper command that must exit 0; otherwise [`SshError::Command`] with its stderr tail.
    pub(crate) async fn exec_checked(
        &self,
        cmd_name: &'static str,
        cmd: &str,
    ) -> Result<ExecOutput, SshError> {
        let out = self.exec(cmd).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(SshError::Command {
                cmd_name,
                exit_status: out.exit_status,
                stderr_tail: tail(&out.stderr, 512),
            })
        }
    }

    /// Cheap liveness check on this connection: runs `true`, bounded by `command_timeout`.
    /// A dead connection fails fast with [`SshError::Protocol`]; a hung host with
    /// [`SshError::Timeout`] `"ping"`.
    pub async fn ping(&self) -> Result<(), SshError> {
        if self.is_closed() {
            return Err(SshError::Protocol("the connection is closed".into()));
        }
        let out = self
            .exec_bounded("true", self.inner.command_timeout, "ping")
            .await?;
        if out.success() {
            Ok(())
        } else {
            Err(SshError::Command {
                cmd_name: "ping",
                exit_status: out.exit_status,
                stderr_tail: tail(&out.stderr, 512),
            })
        }
    }
}

fn lost(what: &str, e: russh::Error) -> SshError {
    SshError::Protocol(format!("{what} failed: {e}"))
}

fn push_head(buf: &mut Vec<u8>, data: &[u8], max: usize) {
    let room = max.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

fn push_tail(buf: &mut Vec<u8>, data: &[u8], max: usize) {
    buf.extend_from_slice(data);
    if buf.len() > max {
        let cut = buf.len() - max;
        buf.drain(..cut);
    }
}

/// Quote `s` for a POSIX shell: `'...'` with embedded quotes as `'\''`.
pub fn sh_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_buffers() {
        let mut b = Vec::new();
        push_head(&mut b, b"hello", 3);
        push_head(&mut b, b"world", 3);
        assert_eq!(b, b"hel");
        let mut t = Vec::new();
        push_tail(&mut t, b"hello", 3);
        push_tail(&mut t, b"!", 3);
        assert_eq!(t, b"lo!");
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}
