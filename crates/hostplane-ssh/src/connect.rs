//! Connecting: wait for the ssh port, handshake, check the host key against the pin, authenticate.
//!
//! This module owns the [`Session`] type (one authenticated connection, cheap to clone, used by
//! many commands at once) and [`fetch_host_key`] (handshake only, no login).
//!
//! A password login's password stays in the session, only to answer sudo's prompt on a command's
//! stdin ([`crate::sudo`]); a key's passphrase is never used for sudo.
//!
//! It must never: log or return a password, private key or passphrase (only the user name travels
//! into errors and logs); send credentials before the host key passed the pin; retry a rejected
//! login (a wrong password must not lock the account out); or block longer than the bounds in
//! [`ConnectOptions`].

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{self, HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{Disconnect, MethodKind};
use tokio::net::TcpStream;

use crate::error::{SshError, Unreachable};

/// Interval between two TCP attempts while waiting for the ssh port (ZStack: every 2 s).
const PORT_RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// How a user logs in. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Credential {
    Password(String),
    /// An OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`) or PEM/PKCS#8 private key, as text.
    PrivateKey {
        pem: String,
        passphrase: Option<String>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Password(<redacted>)"),
            Credential::PrivateKey { passphrase, .. } => f
                .debug_struct("PrivateKey")
                .field("pem", &"<redacted>")
                .field(
                    "passphrase",
                    &passphrase.as_ref().map(|_| "<redacted>").unwrap_or("None"),
                )
                .finish(),
        }
    }
}

/// Bounds for one connection. [`ConnectOptions::default`] uses ZStack's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Keep trying TCP to `host:port` every 2 s until this elapses (ZStack
    /// `kvm.testSshPortOpenTimeout`, 300 s), then [`SshError::PortClosed`]. One attempt is always made.
    pub port_wait: Duration,
    /// Bound of each TCP attempt (ZStack `kvm.testSshPortOnConnectTimeout`, 2 s).
    pub tcp_connect_timeout: Duration,
    /// Bound of handshake + authentication together.
    pub auth_timeout: Duration,
    /// Bound of each command (fact collection, ping, takeover flag).
    pub command_timeout: Duration,
    /// End the wait at once with [`SshError::Unreachable`] when the network answers that
    /// nothing can be reached (connection refused, no route, the name does not resolve). For a
    /// new host such an answer means a wrong address or port; only a silent network (no answer
    /// within `tcp_connect_timeout`) is waited out. Off (ZStack's behaviour, for a host that is
    /// rebooting): every failed attempt is retried until `port_wait` elapses.
    pub fail_fast: bool,
    /// Pinned `"SHA256:<base64>"` fingerprint. A different key gives
    /// [`SshError::HostKeyMismatch`] before any credential is sent. `None`: trust on first use
    /// (read the key with [`Session::host_key_fingerprint`] and store it).
    pub expected_host_key: Option<String>,
    /// The local address outgoing connections are bound to (`None`: the system picks). A
    /// management node with several addresses uses it so that hosts and firewalls see one.
    pub source_address: Option<IpAddr>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            port_wait: Duration::from_secs(300),
            tcp_connect_timeout: Duration::from_secs(2),
            auth_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(60),
            fail_fast: false,
            expected_host_key: None,
            source_address: None,
        }
    }
}

/// One authenticated SSH connection to a host. Clones share the connection; commands may run
/// concurrently on it (one SSH channel each). Dropping the last clone closes the connection.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) handle: client::Handle<KeyCheck>,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) username: String,
    pub(crate) fingerprint: String,
    pub(crate) openssh: String,
    pub(crate) command_timeout: Duration,
    /// The login password, for sudo's `-S` (see [`crate::sudo`]); `None` for a key login.
    /// Never logged, never on a command line.
    pub(crate) sudo_password: Option<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.inner.host)
            .field("port", &self.inner.port)
            .field("username", &self.inner.username)
            .field("host_key", &self.inner.fingerprint)
            .finish()
    }
}

impl Session {
    /// Wait for the port, handshake, check the host key against `opts.expected_host_key`, and log in.
    ///
    /// A private key is parsed before any network traffic ([`SshError::BadKey`]). With a password,
    /// if the server does not offer `password` but offers `keyboard-interactive`, the password
    /// answers its prompts (PAM-only hosts). A rejected login is not retried.
    pub async fn connect(
        host: &str,
        port: u16,
        username: &str,
        cred: &Credential,
        opts: &ConnectOptions,
    ) -> Result<Session, SshError> {
        let key = match cred {
            Credential::PrivateKey { pem, passphrase } => {
                Some(parse_private_key(pem, passphrase.as_deref())?)
            }
            Credential::Password(_) => None,
        };

        let started = Instant::now();
        let stream = wait_for_port(host, port, opts).await?;
        let auth_started = Instant::now();
        let (mut handle, seen) =
            handshake(stream, opts.expected_host_key.clone(), opts.auth_timeout).await?;

        let left = opts.auth_timeout.saturating_sub(auth_started.elapsed());
        let authenticated = tokio::time::timeout(left, async {
            match (cred, key) {
                (Credential::Password(pw), _) => auth_password(&mut handle, username, pw).await,
                (Credential::PrivateKey { .. }, Some(key)) => {
                    auth_key(&mut handle, username, key).await
                }
                (Credential::PrivateKey { .. }, None) => unreachable!("key parsed above"),
            }
        })
        .await
        .map_err(|_| SshError::Timeout {
            stage: "authentication",
        })??;
        if !authenticated {
            // russh answers a connection that closed during authentication (a host going down,
            // a flaky link) as a rejection with no method left: that is not a wrong password,
            // and must not read as one (a reconnect would conclude the password changed).
            for _ in 0..10 {
                if handle.is_closed() {
                    return Err(SshError::Protocol(
                        "the connection closed during authentication".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = handle
                .disconnect(Disconnect::ByApplication, "authentication failed", "en")
                .await;
            return Err(SshError::AuthFailed {
                username: username.to_string(),
            });
        }

        let (fingerprint, openssh) = seen;
        tracing::debug!(
            host,
            port,
            user = username,
            host_key = %fingerprint,
            duration_ms = started.elapsed().as_millis() as u64,
            "ssh session established"
        );
        Ok(Session {
            inner: Arc::new(Inner {
                handle,
                host: host.to_string(),
                port,
                username: username.to_string(),
                fingerprint,
                openssh,
                command_timeout: opts.command_timeout,
                sudo_password: match cred {
                    Credential::Password(pw) => Some(pw.clone()),
                    Credential::PrivateKey { .. } => None,
                },
            }),
        })
    }

    /// The host key's fingerprint, `"SHA256:<base64 without padding>"`, as `ssh-keygen -lf` prints it.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    /// The host's public key line, e.g. `"ssh-ed25519 AAAA..."`.
    pub fn host_key_openssh(&self) -> &str {
        &self.inner.openssh
    }

    /// The host this session is connected to, as given to [`Session::connect`].
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The user this session is logged in as.
    pub fn username(&self) -> &str {
        &self.inner.username
    }

    /// True once the connection is known to be gone (the peer closed it or a send failed).
    pub fn is_closed(&self) -> bool {
        self.inner.handle.is_closed()
    }

    /// Say goodbye to the server. Other clones of this session stop working too.
    pub async fn close(self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            self.inner
                .handle
                .disconnect(Disconnect::ByApplication, "", "en"),
        )
        .await;
    }
}

/// Read a host's key without logging in: wait for the port (same bounds as [`Session::connect`]),
/// handshake, return `(fingerprint, openssh line)`, disconnect. `opts.expected_host_key` is ignored.
pub async fn fetch_host_key(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
) -> Result<(String, String), SshError> {
    let stream = wait_for_port(host, port, opts).await?;
    let (handle, seen) = handshake(stream, None, opts.auth_timeout).await?;
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        handle.disconnect(Disconnect::ByApplication, "", "en"),
    )
    .await;
    Ok(seen)
}

/// Parse a private key; the error says why it is unusable, never what it is.
fn parse_private_key(pem: &str, passphrase: Option<&str>) -> Result<keys::PrivateKey, SshError> {
    match keys::decode_secret_key(pem, passphrase) {
        Ok(k) => Ok(k),
        Err(keys::Error::KeyIsEncrypted) => Err(SshError::BadKey(
            "the key is encrypted and no passphrase was given".into(),
        )),
        Err(e) => {
            let why = match &e {
                keys::Error::CouldNotReadKey => "not an OpenSSH, PEM or PKCS#8 private key".into(),
                // These errors are enum variants and format descriptions, never key material.
                other => format!("unreadable or wrongly passphrased key ({other})"),
            };
            Err(SshError::BadKey(crate::error::tail(&why, 200)))
        }
    }
}

/// Open a TCP connection to `host:port`, from `source` when given (an address of the same
/// family as the host's; addresses of the other family are tried without binding).
pub async fn tcp_connect(
    host: &str,
    port: u16,
    source: Option<IpAddr>,
) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match connect_addr(addr, source).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the host name resolves to no address",
        )
    }))
}

/// One TCP attempt to one address, bound to `source` when its family matches.
async fn connect_addr(
    addr: std::net::SocketAddr,
    source: Option<IpAddr>,
) -> std::io::Result<TcpStream> {
    match source {
        Some(source) if addr.is_ipv4() == source.is_ipv4() => {
            socket_from(source)?.connect(addr).await
        }
        _ => TcpStream::connect(addr).await,
    }
}

/// A TCP socket bound to the address `source`, its port left to `connect`.
///
/// A plain `bind(source:0)` picks a local port there and then, unique across every
/// destination; a socket that `connect`s unbound gets one unique only per destination. Each
/// probe's socket stays in TIME_WAIT for a minute after it closes, so a node that probes tens
/// of thousands of hosts from one source address would run out of its ~28,000 ephemeral ports:
/// probes would fail and hosts that are fine be marked Disconnected. On Linux,
/// `IP_BIND_ADDRESS_NO_PORT` makes the port wait for `connect`, as for an unbound socket
/// (elsewhere, or on a kernel without it, the bind picks the port as before).
fn socket_from(source: IpAddr) -> std::io::Result<tokio::net::TcpSocket> {
    let socket = if source.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: setsockopt on a socket this function owns, with a c_int option value of
        // the size given; a failure (an old kernel) leaves the socket as it was.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    socket.bind(std::net::SocketAddr::new(source, 0))?;
    Ok(socket)
}

/// Try TCP every 2 s (each attempt bounded by `tcp_connect_timeout`) until `port_wait` elapses;
/// with `fail_fast`, a refusal, no route or an unresolvable name ends the wait at once.
async fn wait_for_port(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
) -> Result<TcpStream, SshError> {
    let started = Instant::now();
    loop {
        let attempt = Instant::now();
        match tokio::time::timeout(
            opts.tcp_connect_timeout,
            tcp_connect_sorted(host, port, opts.source_address),
        )
        .await
        {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(Failed::Answered(cause))) if opts.fail_fast => {
                return Err(SshError::Unreachable {
                    host: host.to_string(),
                    port,
                    cause,
                })
            }
            // Waiting would hide it: the next try lacks the same.
            Ok(Err(Failed::Local(what))) => {
                return Err(SshError::Local {
                    host: host.to_string(),
                    what,
                })
            }
            _ => {}
        }
        let waited = started.elapsed();
        if waited >= opts.port_wait {
            return Err(SshError::PortClosed {
                host: host.to_string(),
                port,
                waited,
            });
        }
        let next = PORT_RETRY_INTERVAL.saturating_sub(attempt.elapsed());
        tokio::time::sleep(next.min(opts.port_wait - waited)).await;
    }
}

/// Why a TCP attempt failed.
enum Failed {
    /// The network answered.
    Answered(Unreachable),
    /// This machine lacked something to even try ([`crate::error::local_cause`]).
    Local(&'static str),
    /// No answer, or another error.
    Other,
}

/// One TCP attempt to every address the name resolves to; on failure, the last one's why.
async fn tcp_connect_sorted(
    host: &str,
    port: u16,
    source: Option<IpAddr>,
) -> Result<TcpStream, Failed> {
    let addrs: Vec<_> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(_) => return Err(Failed::Answered(Unreachable::NameNotResolved)),
    };
    if addrs.is_empty() {
        return Err(Failed::Answered(Unreachable::NameNotResolved));
    }
    let mut why = Failed::Other;
    for a in addrs {
        match connect_addr(a, source).await {
            Ok(s) => return Ok(s),
            Err(e) => {
                why = match (e.kind(), crate::error::local_cause(&e)) {
                    (_, Some(what)) => Failed::Local(what),
                    (std::io::ErrorKind::ConnectionRefused, _) => {
                        Failed::Answered(Unreachable::Refused)
                    }
                    (
                        std::io::ErrorKind::HostUnreachable
                        | std::io::ErrorKind::NetworkUnreachable,
                        _,
                    ) => Failed::Answered(Unreachable::NoRoute),
                    _ => Failed::Other,
                }
            }
        }
    }
    Err(why)
}

fn client_config() -> Arc<client::Config> {
    Arc::new(client::Config {
        // Long-lived sessions (ping) notice a silently dead peer within ~2 minutes.
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        inactivity_timeout: None,
        ..Default::default()
    })
}

/// Key exchange bounded by `bound`; returns the handle and the presented key.
async fn handshake(
    stream: TcpStream,
    expected: Option<String>,
    bound: Duration,
) -> Result<(client::Handle<KeyCheck>, (String, String)), SshError> {
    let seen = Arc::new(Mutex::new(None));
    let handler = KeyCheck {
        expected: expected.clone(),
        seen: seen.clone(),
    };
    let result = tokio::time::timeout(
        bound,
        client::connect_stream(client_config(), stream, handler),
    )
    .await;
    let presented = seen.lock().expect("key lock").clone();
    match result {
        Err(_) => Err(SshError::Timeout { stage: "handshake" }),
        Ok(Err(e)) => match (expected, presented) {
            (Some(expected), Some((actual, _))) if !same_fingerprint(&expected, &actual) => {
                Err(SshError::HostKeyMismatch { expected, actual })
            }
            _ => Err(SshError::Protocol(format!("handshake failed: {e}"))),
        },
        Ok(Ok(handle)) => match presented {
            Some(seen) => Ok((handle, seen)),
            None => Err(SshError::Protocol(
                "handshake finished without a host key".into(),
            )),
        },
    }
}

/// Compare fingerprints, tolerating a missing `SHA256:` prefix and base64 padding.
fn same_fingerprint(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> &str {
        let s = s.trim();
        let s = s.strip_prefix("SHA256:").unwrap_or(s);
        s.trim_end_matches('=')
    }
    norm(a) == norm(b)
}

/// The russh client handler: records the presented host key and accepts it only if it matches the pin.
pub(crate) struct KeyCheck {
    expected: Option<String>,
    seen: Arc<Mutex<Option<(String, String)>>>,
}

impl client::Handler for KeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let (fingerprint, openssh) = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => (
                key.fingerprint(HashAlg::Sha256).to_string(),
                key.to_openssh().unwrap_or_default(),
            ),
            PublicKeyOrCertificate::Certificate(cert) => (
                cert.public_key().fingerprint(HashAlg::Sha256).to_string(),
                cert.to_openssh().unwrap_or_default(),
            ),
        };
        let ok = match &self.expected {
            Some(pin) => same_fingerprint(pin, &fingerprint),
            None => true,
        };
        *self.seen.lock().expect("key lock") = Some((fingerprint, openssh.trim().to_string()));
        Ok(ok)
    }
}

async fn auth_password(
    handle: &mut client::Handle<KeyCheck>,
    username: &str,
    password: &str,
) -> Result<bool, SshError> {
    let res = handle
        .authenticate_password(username, password)
        .await
        .map_err(|e| SshError::Protocol(format!("password authentication: {e}")))?;
    match res {
        AuthResult::Success => Ok(true),
        AuthResult::Failure {
            remaining_methods, ..
        } => {
            let methods: Vec<MethodKind> = remaining_methods.iter().copied().collect();
            if methods.contains(&MethodKind::Password)
                || !methods.contains(&MethodKind::KeyboardInteractive)
            {
                return Ok(false);
            }
            auth_keyboard_interactive(handle, username, password).await
        }
    }
}

/// Answer every keyboard-interactive prompt with the password (at most a few rounds).
async fn auth_keyboard_interactive(
    handle: &mut client::Handle<KeyCheck>,
    username: &str,
    password: &str,
) -> Result<bool, SshError> {
    let proto = |e: russh::Error| SshError::Protocol(format!("keyboard-interactive: {e}"));
    let mut reply = handle
        .authenticate_keyboard_interactive_start(username, None::<String>)
        .await
        .map_err(proto)?;
    for _ in 0..4 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| password.to_string()).collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(proto)?;
            }
        }
    }
    Ok(false)
}

async fn auth_key(
    handle: &mut client::Handle<KeyCheck>,
    username: &str,
    key: keys::PrivateKey,
) -> Result<bool, SshError> {
    let proto = |e: russh::Error| SshError::Protocol(format!("public key authentication: {e}"));
    let hash = if key.algorithm().is_rsa() {
        handle
            .best_supported_rsa_hash()
            .await
            .map_err(proto)?
            .flatten()
    } else {
        None
    };
    let res = handle
        .authenticate_publickey(username, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(proto)?;
    Ok(matches!(res, AuthResult::Success))
}

#[cfg(test)]
mod tests {
    /// Bound to a source address, a socket has no port until it connects, and then connects
    /// from that address.
    #[tokio::test]
    async fn a_source_address_leaves_the_port_to_connect() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        let source: std::net::IpAddr = "127.0.0.77".parse().unwrap();
        let socket = super::socket_from(source).unwrap();
        assert_eq!(socket.local_addr().unwrap().port(), 0);
        let accept = tokio::spawn(async move { listener.accept().await.unwrap().1 });
        let stream = super::connect_addr(target, Some(source)).await.unwrap();
        let local = stream.local_addr().unwrap();
        assert_eq!(local.ip(), source);
        assert_ne!(local.port(), 0);
        assert_eq!(accept.await.unwrap(), local);
    }

    use super::*;

    #[test]
    fn credential_debug_redacts() {
        let p = format!("{:?}", Credential::Password("hunter2".into()));
        assert!(!p.contains("hunter2"), "{p}");
        let k = format!(
            "{:?}",
            Credential::PrivateKey {
                pem: "-----BEGIN SECRET-----".into(),
                passphrase: Some("pass-phrase".into())
            }
        );
        assert!(!k.contains("SECRET") && !k.contains("pass-phrase"), "{k}");
    }

    #[test]
    fn fingerprints_compare_loosely() {
        assert!(same_fingerprint("SHA256:abc", "SHA256:abc"));
        assert!(same_fingerprint("abc=", "SHA256:abc"));
        assert!(!same_fingerprint("SHA256:abc", "SHA256:abd"));
        assert!(!same_fingerprint("SHA256:abc", "SHA256:ABC"));
    }

    #[test]
    fn bad_key_never_echoes_the_key() {
        let secret = "not a key but a secret 0123456789";
        let e = parse_private_key(secret, None).unwrap_err();
        assert!(matches!(e, SshError::BadKey(_)));
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[tokio::test]
    async fn silent_listener_is_a_handshake_timeout() {
        // Something accepts TCP but never speaks SSH.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(sock);
        });
        let opts = ConnectOptions {
            auth_timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let t = Instant::now();
        let e = Session::connect(
            "127.0.0.1",
            port,
            "root",
            &Credential::Password("x".into()),
            &opts,
        )
        .await
        .unwrap_err();
        assert_eq!(e, SshError::Timeout { stage: "handshake" });
        assert!(t.elapsed() < Duration::from_secs(2));
        holder.abort();
    }

    #[tokio::test]
    async fn fail_fast_ends_at_a_refusal_and_an_unknown_name() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = ConnectOptions {
            port_wait: Duration::from_secs(60),
            fail_fast: true,
            ..Default::default()
        };
        let t = Instant::now();
        let e = fetch_host_key("127.0.0.1", port, &opts).await.unwrap_err();
        assert_eq!(
            e,
            SshError::Unreachable {
                host: "127.0.0.1".into(),
                port,
                cause: Unreachable::Refused
            }
        );
        let e = fetch_host_key("no-such-host.invalid", 22, &opts)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                SshError::Unreachable {
                    cause: Unreachable::NameNotResolved,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn closed_port_is_reported_after_port_wait() {
        // Bind and drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = ConnectOptions {
            port_wait: Duration::from_millis(300),
            ..Default::default()
        };
        let t = Instant::now();
        let e = fetch_host_key("127.0.0.1", port, &opts).await.unwrap_err();
        assert!(
            matches!(e, SshError::PortClosed { port: p, .. } if p == port),
            "{e:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(2));
    }
}
