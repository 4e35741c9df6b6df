//! The one error type of the connector, [`SshError`], and the hint an operator gets for each variant.
//!
//! Every variant carries what an operator needs to act (host, port, user, the two fingerprints, the
//! tail of a helper's stderr). This module must never hold a password, a private key or a
//! passphrase: nothing that reaches an `SshError` is derived from a [`crate::Credential`] except the
//! user name, and [`SshError::BadKey`] describes *why* a key could not be read, never its text.
//!
//! `Display` texts are complete sentences without a source chain (code-style practice 5); the caller
//! logs the error once, at the boundary that handles it.

use std::time::Duration;

/// Why talking to a host over SSH failed. The server maps each variant to a failed step with
/// [`SshError::hint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    /// Nothing accepted a TCP connection on `host:port` within `waited` (ZStack
    /// `kvm.testSshPortOpenTimeout`), or the name did not resolve.
    #[error("the ssh port {port} of host {host} is not open after {} seconds", waited.as_secs())]
    PortClosed {
        host: String,
        port: u16,
        waited: Duration,
    },

    /// The network answered that nothing can be reached at `host:port`: the connection was
    /// refused, no route leads there, or the name does not resolve. Returned at once only with
    /// [`crate::ConnectOptions::fail_fast`] (a new host: a typo is an answer, not a reason to
    /// wait); otherwise these answers count as "not open yet" and the wait goes on.
    #[error("{}", unreachable_text(host, *port, *cause))]
    Unreachable {
        host: String,
        port: u16,
        cause: Unreachable,
    },

    /// This machine could not open the connection: out of open files, socket memory or local
    /// ports. The host had no part in it: nothing should be concluded about the host.
    #[error("this management server could not open a connection to {host}: it is out of {what}")]
    Local { host: String, what: &'static str },

    /// A bounded stage took too long: `"banner"`, `"handshake"`, `"authentication"`, `"command"`, `"ping"`.
    #[error("ssh {stage} timed out")]
    Timeout { stage: &'static str },

    /// The server rejected the credentials for `username` (or allows no method we can use with
    /// them, e.g. `PasswordAuthentication no` with a password).
    #[error("the host rejected the ssh credentials of user {username}")]
    AuthFailed { username: String },

    /// The host presented a key whose fingerprint is not the pinned one. No authentication was
    /// attempted, so no credential was sent to the impostor.
    #[error("the host key changed: expected {expected}, the host presented {actual}")]
    HostKeyMismatch { expected: String, actual: String },

    /// Handshake, key exchange or channel failure, or the connection dropped.
    #[error("ssh protocol error: {0}")]
    Protocol(String),

    /// The supplied private key cannot be used. The text says why, never what the key is.
    #[error("the private key cannot be used: {0}")]
    BadKey(String),

    /// The command needed root through sudo, and sudo did not run it. `detail` is the tail of
    /// sudo's own words (never the password: it only travels on the command's stdin).
    #[error("sudo for user {username} did not run hostplane's helper: {}{}", problem.describe(), fmt_detail(detail))]
    Sudo {
        problem: crate::sudo::SudoProblem,
        username: String,
        detail: String,
    },

    /// A helper command ran but failed (writing the takeover flag, collecting facts, ...).
    #[error("{cmd_name} failed (exit status {}): {stderr_tail}", fmt_status(*exit_status))]
    Command {
        cmd_name: &'static str,
        exit_status: Option<u32>,
        stderr_tail: String,
    },
}

/// Why a host is unreachable ([`SshError::Unreachable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// The host answered with a reset: nothing listens on the port.
    Refused,
    /// The network or the host is unreachable (no route, or no answer to ARP on the local
    /// network).
    NoRoute,
    /// The name does not resolve.
    NameNotResolved,
}

fn unreachable_text(host: &str, port: u16, cause: Unreachable) -> String {
    match cause {
        Unreachable::Refused => format!("nothing listens on {host}:{port} (connection refused)"),
        Unreachable::NoRoute => format!("no route to {host} (host or network unreachable)"),
        Unreachable::NameNotResolved => format!("the name {host} does not resolve"),
    }
}

fn fmt_detail(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" ({})", d.replace('\n', "; "))
    }
}

fn fmt_status(s: Option<u32>) -> String {
    match s {
        Some(s) => s.to_string(),
        None => "none".to_string(),
    }
}

/// What this machine lacks, when a connection could not even be attempted for want of it.
pub(crate) fn local_cause(e: &std::io::Error) -> Option<&'static str> {
    match e.raw_os_error()? {
        libc::EMFILE | libc::ENFILE => Some("open files"),
        libc::ENOBUFS | libc::ENOMEM => Some("memory for sockets"),
        libc::EADDRNOTAVAIL => Some("local ports (or its source address)"),
        _ => None,
    }
}

impl SshError {
    /// What an operator should check or do, in one sentence, for each variant.
    pub fn hint(&self) -> &'static str {
        match self {
            SshError::Local { .. } => {
                "the management server's own trouble, not the host's: raise its open-files limit (systemd LimitNOFILE), or lower rest.maxConnections and host.ping.parallelismDegree; then reconnect the host"
            }
            SshError::PortClosed { .. } => {
                "check that the management IP is right, the host is up, sshd is running and the ssh port is not blocked by a firewall"
            }
            SshError::Unreachable {
                cause: Unreachable::Refused,
                ..
            } => "check managementIp and sshPort, and that sshd runs on the host",
            SshError::Unreachable {
                cause: Unreachable::NoRoute,
                ..
            } => "check managementIp, that the host is up, and the route from the management server to it",
            SshError::Unreachable {
                cause: Unreachable::NameNotResolved,
                ..
            } => "check managementIp (a typo?) and the DNS configuration of the management server",
            SshError::Timeout { stage: "handshake" } => {
                "something accepts TCP on the ssh port but does not complete an SSH handshake; check that it is sshd and that the host is not overloaded"
            }
            SshError::Timeout { stage: "banner" } => {
                "the ssh port accepts connections but sshd sends nothing; sshd or the host is hung or overloaded: check it on the console"
            }
            SshError::Timeout { stage: "authentication" } => {
                "sshd did not answer the login in time; check the host's load, PAM and DNS settings (UseDNS) on the host"
            }
            SshError::Timeout { .. } => {
                "the host did not finish the command in time; check the host's load and that the filesystems it reads are not hung"
            }
            SshError::AuthFailed { .. } => {
                "check the username and password or key; also check that sshd allows this login method (PasswordAuthentication, PermitRootLogin, AllowUsers)"
            }
            SshError::HostKeyMismatch { .. } => {
                "the host's SSH key is not the one recorded when it was added: if the host was reinstalled or its key regenerated, re-pin the new fingerprint; otherwise another machine may be answering on this IP"
            }
            SshError::Protocol(_) => {
                "the SSH connection failed or dropped; check that sshd on the host is healthy and supports modern algorithms (ed25519/ecdsa/rsa-sha2, curve25519)"
            }
            SshError::BadKey(_) => {
                "supply an unencrypted (or correctly passphrased) private key in OpenSSH or PEM format"
            }
            SshError::Sudo { problem, .. } => problem.hint(),
            SshError::Command { .. } => {
                "a command run on the host failed; its stderr is shown; check the login user's permissions (some steps need root)"
            }
        }
    }
}

/// The last `max` bytes of `s`, cut on a char boundary, trimmed.
pub(crate) fn tail(s: &str, max: usize) -> String {
    let s = s.trim_end();
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].trim_start().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_cuts_on_char_boundary() {
        assert_eq!(tail("abc\n", 10), "abc");
        assert_eq!(tail("0123456789", 3), "789");
        assert_eq!(tail("ééé", 3), "é");
    }

    #[test]
    fn display_and_hint() {
        let e = SshError::PortClosed {
            host: "10.0.0.1".into(),
            port: 22,
            waited: Duration::from_secs(300),
        };
        assert_eq!(
            e.to_string(),
            "the ssh port 22 of host 10.0.0.1 is not open after 300 seconds"
        );
        assert!(e.hint().contains("firewall"));
        let e = SshError::Command {
            cmd_name: "write takeover flag",
            exit_status: Some(1),
            stderr_tail: "no write access".into(),
        };
        assert_eq!(
            e.to_string(),
            "write takeover flag failed (exit status 1): no write access"
        );
        assert!(SshError::Timeout { stage: "handshake" }
            .hint()
            .contains("handshake"));
        assert!(SshError::Timeout { stage: "command" }
            .hint()
            .contains("in time"));
        let e = SshError::Unreachable {
            host: "10.0.0.5".into(),
            port: 22,
            cause: Unreachable::Refused,
        };
        assert_eq!(
            e.to_string(),
            "nothing listens on 10.0.0.5:22 (connection refused)"
        );
        assert!(e.hint().contains("managementIp and sshPort"));
    }
}
