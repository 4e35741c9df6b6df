//! Running one command on an open [`Session`]: one SSH channel, stdout and stderr collected
//! separately, the exit status, everything bounded in time and size.
//!
//! The command runs under the login user's shell (`$SHELL -c`), without a PTY, with sshd's default
//! environment. A `Dialogue` lets a command be answered on its stdin: a password once a prompt
//! shows on stderr (sudo's `-S`), then input once a ready line shows on stdout. This module must
//! never: put secrets into a command line (they would show in the host's `ps`); send a password
//! before its prompt, or more than once; keep unbounded output in memory; or wait past
//! `command_timeout`.

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
        self.run_channel(cmd, bound, stage, None).await
    }

    /// Run `cmd` and answer it on its stdin as `dialogue` says, bounded by `command_timeout`.
    /// The prompt is removed from the returned stderr; the dialogue records what was seen.
    pub(crate) async fn exec_dialogue(
        &self,
        cmd: &str,
        dialogue: &mut Dialogue<'_>,
    ) -> Result<ExecOutput, SshError> {
        let mut out = self
            .run_channel(cmd, self.inner.command_timeout, "command", Some(dialogue))
            .await?;
        out.stderr = out.stderr.replace(dialogue.prompt, "");
        // Whatever the host echoes, the password does not travel on in an output or error.
        if let Some(pw) = dialogue.password.filter(|p| !p.is_empty()) {
            out.stdout = out.stdout.replace(pw, "<redacted>");
            out.stderr = out.stderr.replace(pw, "<redacted>");
        }
        Ok(out)
    }

    async fn run_channel(
        &self,
        cmd: &str,
        bound: Duration,
        stage: &'static str,
        mut dialogue: Option<&mut Dialogue<'_>>,
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
                    ChannelMsg::Data { data } => {
                        push_head(&mut out, &data, MAX_STDOUT);
                        if let Some(d) = dialogue.as_deref_mut() {
                            d.on_stdout(&out, &channel).await?;
                        }
                    }
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        push_tail(&mut err, &data, MAX_STDERR);
                        if let Some(d) = dialogue.as_deref_mut() {
                            d.on_stderr(&data, &channel).await?;
                        }
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

/// How to answer a command on its stdin (see [`Session::exec_dialogue`]).
///
/// - The first time `prompt` shows on stderr, `password` and a newline are sent (or, without a
///   password, stdin is closed so the asker gives up at once). A second prompt means the
///   password was refused: stdin is closed, nothing more is sent, so one command costs at most
///   one failed attempt.
/// - When a line equal to `ready` shows on stdout, `input` is sent and stdin closed.
pub(crate) struct Dialogue<'a> {
    pub prompt: &'a str,
    pub password: Option<&'a str>,
    pub ready: &'a str,
    pub input: &'a str,
    /// How many times the prompt showed.
    pub prompts: usize,
    /// Whether the ready line showed.
    pub ready_seen: bool,
    /// The first line the command printed on stdout, once complete (kept even when the command
    /// then times out).
    pub first_line: Option<String>,
    stdin_closed: bool,
    /// The end of stderr not yet searched for the prompt (it may arrive in pieces).
    pending: Vec<u8>,
}

impl<'a> Dialogue<'a> {
    pub(crate) fn new(
        prompt: &'a str,
        password: Option<&'a str>,
        ready: &'a str,
        input: &'a str,
    ) -> Self {
        Dialogue {
            prompt,
            password,
            ready,
            input,
            prompts: 0,
            ready_seen: false,
            first_line: None,
            stdin_closed: false,
            pending: Vec::new(),
        }
    }

    async fn on_stderr(
        &mut self,
        data: &[u8],
        channel: &russh::Channel<russh::client::Msg>,
    ) -> Result<(), SshError> {
        if self.ready_seen || self.prompt.is_empty() {
            return Ok(());
        }
        self.pending.extend_from_slice(data);
        let p = self.prompt.as_bytes();
        while let Some(i) = find(&self.pending, p) {
            self.pending.drain(..i + p.len());
            self.prompts += 1;
            match (self.prompts, self.password) {
                (1, Some(pw)) if !self.stdin_closed => {
                    let line = format!("{pw}\n");
                    channel
                        .data(line.as_bytes())
                        .await
                        .map_err(|e| lost("answering a prompt", e))?;
                }
                _ => self.close_stdin(channel).await,
            }
        }
        // Keep only what could be the start of a prompt split across two packets.
        let keep = p.len().saturating_sub(1);
        if self.pending.len() > keep {
            let cut = self.pending.len() - keep;
            self.pending.drain(..cut);
        }
        Ok(())
    }

    async fn on_stdout(
        &mut self,
        out: &[u8],
        channel: &russh::Channel<russh::client::Msg>,
    ) -> Result<(), SshError> {
        if self.first_line.is_none() {
            if let Some(i) = out.iter().position(|b| *b == b'\n') {
                self.first_line = Some(String::from_utf8_lossy(&out[..i]).into_owned());
            }
        }
        if self.ready_seen {
            return Ok(());
        }
        let line = format!("{}\n", self.ready);
        let text = String::from_utf8_lossy(out);
        if !(text.starts_with(&line) || text.contains(&format!("\n{line}"))) {
            return Ok(());
        }
        self.ready_seen = true;
        if !self.stdin_closed {
            channel
                .data(self.input.as_bytes())
                .await
                .map_err(|e| lost("sending input", e))?;
            self.close_stdin(channel).await;
        }
        Ok(())
    }

    async fn close_stdin(&mut self, channel: &russh::Channel<russh::client::Msg>) {
        if !self.stdin_closed {
            self.stdin_closed = true;
            let _ = channel.eof().await;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
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
