//! The light liveness probe: connect to the ssh port, read the server's SSH identification line
//! (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`), answer with our own ([`IDENTIFICATION`]) and
//! hang up. No key exchange, no login.
//!
//! An SSH server sends its line first, before the client says anything (RFC 4253 §4.2), so the
//! probe proves what a ping must prove between two logins: the host is up, its network answers
//! and its sshd is alive and not hung. It costs a TCP handshake and one read — a tenth of the CPU
//! of a login on both sides, no sshd child process and no login in the host's auth log. A
//! different line than last time (sshd upgraded, or another machine on the address) tells the
//! caller to log in and check the host key now.
//!
//! Why it answers before hanging up: OpenSSH logs a client that leaves without an
//! identification as `kex_exchange_identification: Connection closed by remote host`, the mark
//! of a port scanner; with one it logs the ordinary `Connection closed by <ip> port <n>
//! [preauth]`. (fail2ban counts neither in its default `normal` mode; its `aggressive` and
//! `ddos` modes count both, see docs/hosts.md.)
//!
//! It must never: send anything but its identification line; read more than [`MAX_LINE`]
//! bytes; or wait past its bound.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::SshError;

/// What the probe says to sshd before it hangs up (visible in sshd's debug logs).
pub const IDENTIFICATION: &[u8] = b"SSH-2.0-hostplane_probe\r\n";

/// RFC 4253 allows 255 bytes for the identification line; lines before it are allowed too, but
/// the probe gives up after this many bytes in all.
pub const MAX_LINE: usize = 1024;

/// Connect to `host:port` and return the SSH identification line (without CR LF), all within
/// `bound`. Errors: [`SshError::PortClosed`] (refused, unreachable or no TCP within the
/// bound), [`SshError::Timeout`] with stage `"banner"` (TCP accepted but no line: a hung sshd),
/// [`SshError::Protocol`] (closed, or no `SSH-` line).
pub async fn read_banner(host: &str, port: u16, bound: Duration) -> Result<String, SshError> {
    read_banner_from(host, port, bound, None).await
}

/// [`read_banner`] from a given local address (see `ConnectOptions::source_address`).
pub async fn read_banner_from(
    host: &str,
    port: u16,
    bound: Duration,
    source: Option<IpAddr>,
) -> Result<String, SshError> {
    let started = tokio::time::Instant::now();
    let connect = crate::connect::tcp_connect(host, port, source);
    let mut stream = match tokio::time::timeout(bound, connect).await {
        Ok(Ok(s)) => s,
        r => {
            let lacking = match &r {
                Ok(Err(e)) => crate::error::local_cause(e),
                _ => None,
            };
            return Err(match lacking {
                Some(what) => SshError::Local {
                    host: host.to_string(),
                    what,
                },
                None => SshError::PortClosed {
                    host: host.to_string(),
                    port,
                    waited: started.elapsed(),
                },
            });
        }
    };
    let _ = stream.set_nodelay(true);
    let left = bound.saturating_sub(started.elapsed());
    let line = match tokio::time::timeout(left, read_identification(&mut stream)).await {
        Ok(r) => r?,
        Err(_) => return Err(SshError::Timeout { stage: "banner" }),
    };
    // Best effort: the answer is courtesy, the probe has its result. A fresh socket takes
    // these few bytes at once; the bound only guards against the impossible.
    let left = bound.saturating_sub(started.elapsed());
    let _ = tokio::time::timeout(left, stream.write_all(IDENTIFICATION)).await;
    Ok(line)
    // The stream drops here: the kernel closes the connection.
}

/// Read lines until one starts with `SSH-` (RFC 4253 lets a server send other lines first).
async fn read_identification(stream: &mut TcpStream) -> Result<String, SshError> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| SshError::Protocol(format!("reading the ssh identification: {e}")))?;
        if n == 0 {
            return Err(SshError::Protocol(
                "the host closed the connection before sending its ssh identification".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            if line.starts_with("SSH-") {
                return Ok(line.to_string());
            }
        }
        if buf.len() > MAX_LINE {
            return Err(SshError::Protocol(
                "the host sent no ssh identification line (is this port sshd?)".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(reply: &'static [u8], hold: Duration) -> u16 {
        serve_and_listen(reply, hold).await.0
    }

    /// A one-connection server; the receiver gets what the client sent before it hung up.
    async fn serve_and_listen(
        reply: &'static [u8],
        hold: Duration,
    ) -> (u16, tokio::sync::oneshot::Receiver<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(reply).await.unwrap();
            let mut got = Vec::new();
            let _ = tokio::time::timeout(hold, s.read_to_end(&mut got)).await;
            let _ = tx.send(got);
        });
        (port, rx)
    }

    #[tokio::test]
    async fn reads_the_identification_after_other_lines_and_answers() {
        let (port, sent) = serve_and_listen(
            b"Welcome\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\nbinary",
            Duration::from_secs(2),
        )
        .await;
        let line = read_banner("127.0.0.1", port, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(line, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
        assert_eq!(
            sent.await.unwrap(),
            IDENTIFICATION,
            "our line, then the close"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_a_closed_port_is_closed() {
        let port = serve_once(b"", Duration::from_secs(3)).await;
        let e = read_banner("127.0.0.1", port, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(e, SshError::Timeout { stage: "banner" });

        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let e = read_banner("127.0.0.1", port, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(e, SshError::PortClosed { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn not_ssh_is_a_protocol_error() {
        let port = serve_once(b"HTTP/1.1 400 Bad Request\r\n\r\n", Duration::ZERO).await;
        let e = read_banner("127.0.0.1", port, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(e, SshError::Protocol(_)), "{e:?}");
    }
}
