//! One simulated host: its address, login, facts, faults, host key, takeover flags and open
//! connections. Shared by its listener task, its connections and the control interface.
//!
//! A fault change is applied here ([`SimHost::apply`]): `down` and `drop` cut every open
//! connection at once (the socket is shut down, the peer sees the connection end), and every
//! waiter (the listener, hung commands) is woken through a watch channel.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey, PublicKey};
use russh::server;
use russh::{Disconnect, MethodKind};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::config::{FaultChange, Faults, HostSpec, SimFacts};
use crate::facts::{self, Identity};
use crate::shell::{self, Cmd, Output};

/// The key exchanges of OpenSSH 8.x-9.8 (RHEL 8/9, Ubuntu 22.04/24.04, Debian 12 — the
/// usual KVM hosts), minus sntrup761 which russh lacks: curve25519 first.
const CLASSIC_KEX: &[russh::kex::Name] = &[
    russh::kex::CURVE25519,
    russh::kex::CURVE25519_PRE_RFC_8731,
    russh::kex::ECDH_SHA2_NISTP256,
    russh::kex::DH_GEX_SHA256,
    russh::kex::DH_G16_SHA512,
    russh::kex::DH_G14_SHA256,
    russh::kex::EXTENSION_SUPPORT_AS_SERVER,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
];

/// OpenSSH 9.9+: the post-quantum hybrid ML-KEM first.
const PQ_KEX: &[russh::kex::Name] = &[
    russh::kex::MLKEM768X25519_SHA256,
    russh::kex::CURVE25519,
    russh::kex::CURVE25519_PRE_RFC_8731,
    russh::kex::EXTENSION_SUPPORT_AS_SERVER,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
];

/// A takeover flag file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub content: String,
    /// Seconds since the epoch.
    pub mtime: i64,
}

struct State {
    faults: Faults,
    /// The listening socket the listener task serves, to close the port at once when the host
    /// goes down.
    listener: Option<Arc<tokio::net::TcpListener>>,
    /// A socket bound when the host came up, for the listener task to take.
    listener_new: Option<std::net::TcpListener>,
    key_generation: u32,
    config: Arc<server::Config>,
    fingerprint: String,
    flags: HashMap<String, Flag>,
}

/// An open connection, as a fault cuts it.
pub(crate) enum Conn {
    /// An SSH session: told to disconnect.
    Session(server::Handle),
    /// A connection held without SSH (a hanging host): let go.
    Held(Arc<tokio::sync::Notify>),
}

/// Counters of one host (all hosts' are summed by [`crate::Sim::stats`]).
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub logins: AtomicU64,
    pub rejected_logins: AtomicU64,
    pub commands: AtomicU64,
}

/// What one client address did to a host since the simulator started (or the last
/// [`SimHost::reset_peers`]): which management node pinged a host, and how often.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerStats {
    /// TCP connections accepted (logins, probes and port checks alike).
    pub connections: u64,
    /// Successful logins.
    pub logins: u64,
    /// The first and last connection or login, milliseconds since the epoch.
    pub first_ms: i64,
    pub last_ms: i64,
}

pub struct SimHost {
    pub index: usize,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub username: String,
    password: String,
    authorized: Vec<PublicKey>,
    pub facts: Arc<SimFacts>,
    hostname: String,
    machine_id: String,
    serial: String,
    key_seed: Arc<str>,
    auth_rejection: Duration,
    post_quantum_kex: bool,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    conns: Mutex<HashMap<u64, Conn>>,
    rt: tokio::runtime::Handle,
    next_conn: AtomicU64,
    pub counters: Counters,
    /// This host, for the task that drives a flap (set by [`crate::Sim::start`]).
    pub(crate) me: OnceLock<Weak<SimHost>>,
    /// Bumped by every flap change: a flap task whose generation is stale stops.
    flap_generation: AtomicU64,
    peers: Mutex<HashMap<IpAddr, PeerStats>>,
}

/// What the control interface shows of a host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostView {
    pub index: usize,
    pub address: String,
    pub ip: String,
    pub port: u16,
    pub username: String,
    pub faults: Faults,
    pub key_generation: u32,
    pub host_key_fingerprint: String,
    pub connections: usize,
    pub flags: usize,
}

impl SimHost {
    pub fn new(
        spec: &HostSpec,
        key_seed: Arc<str>,
        auth_rejection: Duration,
        post_quantum_kex: bool,
    ) -> SimHost {
        let digest = hex(&Sha256::digest(format!(
            "{key_seed}|id|{}:{}",
            spec.ip, spec.port
        )));
        let hostname = spec.facts.hostname.clone().unwrap_or_else(|| {
            format!(
                "sim-{}-{}",
                spec.ip.to_string().replace('.', "-"),
                spec.port
            )
        });
        let authorized = spec
            .authorized_keys
            .iter()
            .filter_map(|l| PublicKey::from_openssh(l.trim()).ok())
            .collect();
        let host = SimHost {
            index: spec.index,
            ip: spec.ip,
            port: spec.port,
            username: spec.username.clone(),
            password: spec.password.clone(),
            authorized,
            facts: spec.facts.clone(),
            hostname,
            machine_id: digest[..32].to_string(),
            serial: format!("SIM{:08}", spec.index),
            key_seed,
            auth_rejection,
            post_quantum_kex,
            state: Mutex::new(State {
                faults: spec.faults.clone(),
                listener: None,
                listener_new: None,
                key_generation: 0,
                config: Arc::new(server::Config::default()),
                fingerprint: String::new(),
                flags: HashMap::new(),
            }),
            changed: watch::channel(0).0,
            conns: Mutex::new(HashMap::new()),
            rt: tokio::runtime::Handle::current(),
            next_conn: AtomicU64::new(0),
            counters: Counters::default(),
            me: OnceLock::new(),
            flap_generation: AtomicU64::new(0),
            peers: Mutex::new(HashMap::new()),
        };
        host.set_key_generation(0);
        host
    }

    /// `ip:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn faults(&self) -> Faults {
        self.state.lock().expect("host state").faults.clone()
    }

    /// The SHA256 fingerprint of the key the host presents now.
    pub fn host_key_fingerprint(&self) -> String {
        self.state.lock().expect("host state").fingerprint.clone()
    }

    pub fn is_root(&self) -> bool {
        self.username == "root"
    }

    /// The login user's home, what `~/` and `$HOME` mean.
    pub fn home(&self) -> String {
        if self.is_root() {
            "/root".into()
        } else {
            format!("/home/{}", self.username)
        }
    }

    /// The flag at `path` (absolute, after `~` expansion).
    pub fn flag(&self, path: &str) -> Option<Flag> {
        self.state
            .lock()
            .expect("host state")
            .flags
            .get(path)
            .cloned()
    }

    /// Set a flag as if written `age_secs` ago (for tests of the takeover check).
    pub fn put_flag(&self, path: &str, content: &str, age_secs: i64) {
        self.state.lock().expect("host state").flags.insert(
            path.to_string(),
            Flag {
                content: content.to_string(),
                mtime: now_secs() - age_secs,
            },
        );
    }

    /// Count a connection (`login` false) or a login from `peer`.
    pub(crate) fn saw(&self, peer: IpAddr, login: bool) {
        let now = now_ms();
        let mut peers = self.peers.lock().expect("peers");
        let p = peers.entry(peer).or_insert_with(|| PeerStats {
            first_ms: now,
            ..Default::default()
        });
        if login {
            p.logins += 1;
        } else {
            p.connections += 1;
        }
        p.last_ms = now;
    }

    /// Which client addresses connected or logged in, and how often.
    pub fn peers(&self) -> HashMap<IpAddr, PeerStats> {
        self.peers.lock().expect("peers").clone()
    }

    /// Forget the per-address counts (the totals in [`Counters`] stay).
    pub fn reset_peers(&self) {
        self.peers.lock().expect("peers").clear();
    }

    pub fn connections(&self) -> usize {
        self.conns.lock().expect("conns").len()
    }

    pub fn view(&self) -> HostView {
        let s = self.state.lock().expect("host state");
        HostView {
            index: self.index,
            address: self.address(),
            ip: self.ip.to_string(),
            port: self.port,
            username: self.username.clone(),
            faults: s.faults.clone(),
            key_generation: s.key_generation,
            host_key_fingerprint: s.fingerprint.clone(),
            connections: self.connections(),
            flags: s.flags.len(),
        }
    }

    /// Apply a fault change (see [`FaultChange`]). Going down closes the port before this
    /// returns; coming up listens again before this returns (if the port can be bound).
    pub fn apply(&self, c: &FaultChange) {
        if let Some(ms) = c.flap_ms {
            self.flap(ms);
        }
        let cut = {
            let mut s = self.state.lock().expect("host state");
            let was = s.faults.clone();
            if let Some(v) = c.down {
                s.faults.down = v;
            }
            if let Some(v) = c.refuse_auth {
                s.faults.refuse_auth = v;
            }
            if let Some(v) = c.hang {
                s.faults.hang = v;
            }
            if let Some(v) = c.drop {
                s.faults.drop = v;
            }
            if let Some(v) = c.slow_ms {
                s.faults.slow_ms = v;
            }
            if c.clear_flags {
                s.flags.clear();
            }
            if s.faults.down && !was.down {
                if let Some(l) = s.listener.take() {
                    close_listener(&l);
                }
                s.listener_new = None;
            }
            if !s.faults.down && was.down {
                match bind_std(self.ip, self.port) {
                    Ok(l) => s.listener_new = Some(l),
                    Err(e) => {
                        tracing::warn!(host = %self.address(), error = %e, "cannot listen again yet")
                    }
                }
            }
            (s.faults.down && !was.down) || (s.faults.drop && !was.drop)
        };
        if c.rotate_key {
            let next = self.state.lock().expect("host state").key_generation + 1;
            self.set_key_generation(next);
        }
        if cut {
            self.cut_connections();
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Start flapping every `ms` milliseconds, or stop (0: the host comes up and stays up).
    fn flap(&self, ms: u64) {
        let generation = self.flap_generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.state.lock().expect("host state").faults.flap_ms = ms;
        if ms == 0 {
            self.apply(&FaultChange {
                down: Some(false),
                ..Default::default()
            });
            return;
        }
        let Some(me) = self.me.get().cloned() else {
            return;
        };
        self.rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let Some(host) = me.upgrade() else { return };
                if host.flap_generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                let down = host.faults().down;
                host.apply(&FaultChange {
                    down: Some(!down),
                    ..Default::default()
                });
            }
        });
    }

    /// The socket bound by the last "up", if the listener task has not taken it yet.
    pub(crate) fn take_new_listener(&self) -> Option<std::net::TcpListener> {
        self.state.lock().expect("host state").listener_new.take()
    }

    /// Share the listening socket the task serves (to close it on "down").
    pub(crate) fn set_listener(&self, l: Option<Arc<tokio::net::TcpListener>>) {
        self.state.lock().expect("host state").listener = l;
    }

    /// Shorthand for `apply` with only `down`.
    pub fn set_down(&self, down: bool) {
        self.apply(&FaultChange {
            down: Some(down),
            ..Default::default()
        });
    }

    /// Present the key of generation `g` from now on; open connections keep theirs.
    pub fn set_key_generation(&self, g: u32) {
        let seed: [u8; 32] = Sha256::digest(format!(
            "{}|hostkey|{}:{}|{g}",
            self.key_seed, self.ip, self.port
        ))
        .into();
        let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();
        let mut methods = russh::MethodSet::empty();
        methods.push(MethodKind::Password);
        if !self.authorized.is_empty() {
            methods.push(MethodKind::PublicKey);
        }
        let kex: &'static [russh::kex::Name] = if self.post_quantum_kex {
            PQ_KEX
        } else {
            CLASSIC_KEX
        };
        let config = server::Config {
            server_id: russh::SshId::Standard("SSH-2.0-OpenSSH_9.2p1 hostplane-sim".into()),
            methods,
            preferred: russh::Preferred {
                kex: kex.into(),
                ..russh::Preferred::DEFAULT
            },
            auth_rejection_time: self.auth_rejection,
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![key],
            inactivity_timeout: Some(Duration::from_secs(3600)),
            keepalive_interval: None,
            nodelay: true,
            ..Default::default()
        };
        let mut s = self.state.lock().expect("host state");
        s.key_generation = g;
        s.config = Arc::new(config);
        s.fingerprint = fingerprint;
    }

    pub(crate) fn server_config(&self) -> Arc<server::Config> {
        self.state.lock().expect("host state").config.clone()
    }

    /// A receiver that sees a new value after every fault change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Wait while the host hangs (at most `bound`).
    pub(crate) async fn wait_while_hung(&self, bound: Duration) {
        let mut rx = self.subscribe();
        let _ = tokio::time::timeout(bound, async {
            loop {
                rx.borrow_and_update();
                if !self.faults().hang {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }

    /// Remember an open connection so a fault can cut it.
    pub(crate) fn register(&self, conn: Conn) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        self.conns.lock().expect("conns").insert(id, conn);
        id
    }

    pub(crate) fn unregister(&self, id: u64) {
        self.conns.lock().expect("conns").remove(&id);
    }

    /// Close the port and cut every connection (the simulator stops).
    pub(crate) fn stop(&self) {
        {
            let mut s = self.state.lock().expect("host state");
            if let Some(l) = s.listener.take() {
                close_listener(&l);
            }
            s.listener_new = None;
        }
        self.cut_connections();
    }

    /// End every open connection: SSH sessions are disconnected, held connections let go.
    pub fn cut_connections(&self) {
        let conns: Vec<_> = self.conns.lock().expect("conns").drain().collect();
        for (_, c) in conns {
            match c {
                Conn::Session(h) => {
                    self.rt.spawn(async move {
                        let _ = h
                            .disconnect(
                                Disconnect::ByApplication,
                                "host went away".into(),
                                String::new(),
                            )
                            .await;
                    });
                }
                Conn::Held(n) => n.notify_one(),
            }
        }
    }

    pub(crate) fn check_password(&self, user: &str, password: &str) -> bool {
        !self.faults().refuse_auth && user == self.username && password == self.password
    }

    pub(crate) fn check_key(&self, user: &str, key: &PublicKey) -> bool {
        !self.faults().refuse_auth
            && user == self.username
            && self
                .authorized
                .iter()
                .any(|k| k.key_data() == key.key_data())
    }

    /// Run one command (see [`crate::shell`]).
    pub fn run(&self, cmd: &str) -> Output {
        self.counters.commands.fetch_add(1, Ordering::Relaxed);
        let home = self.home();
        let root = self.is_root();
        match shell::classify(cmd, &home) {
            Cmd::Facts => Output::ok(facts::render(
                &self.facts,
                &Identity {
                    is_root: root,
                    hostname: &self.hostname,
                    machine_id: &self.machine_id,
                    serial: &self.serial,
                },
            )),
            Cmd::True => Output::ok(""),
            Cmd::ReadFlag(path) => self.helper(root, &home, &path, || match self.flag(&path) {
                None => Output::ok("absent=1\n"),
                Some(f) => {
                    let first = f.content.lines().next().unwrap_or("");
                    Output::ok(format!(
                        "now={}\nmtime={}\ncontent={first}\n",
                        now_secs(),
                        f.mtime
                    ))
                }
            }),
            Cmd::WriteFlag(path, uuid) => self.helper(root, &home, &path.clone(), || {
                self.state.lock().expect("host state").flags.insert(
                    path,
                    Flag {
                        content: format!("uuid:{uuid}\n"),
                        mtime: now_secs(),
                    },
                );
                Output::ok("")
            }),
            Cmd::TouchFlag(path, ahead) => self.helper(root, &home, &path, || {
                let mut s = self.state.lock().expect("host state");
                match s.flags.get_mut(&path) {
                    None => Output::fail(2, format!("takeover flag {path} does not exist\n")),
                    Some(f) => {
                        f.mtime = now_secs() + ahead;
                        Output::ok("")
                    }
                }
            }),
            Cmd::RemoveFlag(path, uuid) => self.helper(root, &home, &path, || {
                let mut s = self.state.lock().expect("host state");
                let names = s
                    .flags
                    .get(&path)
                    .is_some_and(|f| f.content.lines().next() == Some(&format!("uuid:{uuid}")));
                if names {
                    s.flags.remove(&path);
                    Output::ok("removed\n")
                } else {
                    Output::ok("kept\n")
                }
            }),
            // Asked for only through sudo, which a simulated host does not have.
            Cmd::RootFacts => self.helper(root, &home, "/", || Output::ok("root.facts=1\n")),
            Cmd::Unknown => {
                let shown: String = cmd.trim().chars().take(80).collect();
                Output::fail(
                    127,
                    format!("hostplane-sim: command not supported by the simulator: {shown}\n"),
                )
            }
        }
    }
}

impl SimHost {
    /// What the connector's helper wrapper prints: root, or a login that may write `path`, runs
    /// the operation (`hostplane-mode=root|user`, the ready line, its output); anyone else would
    /// need sudo, which a simulated host does not have.
    fn helper(&self, root: bool, home: &str, path: &str, op: impl FnOnce() -> Output) -> Output {
        use hostplane_ssh::sudo::{HELPER_READY, MODE_PREFIX};
        let mode = if root {
            "root"
        } else if path != "/" && shell::writable(false, home, path) {
            "user"
        } else {
            return Output {
                stdout: format!("{MODE_PREFIX}sudo\n"),
                stderr: "sudo: command not found\n".into(),
                status: 127,
            };
        };
        let mut out = op();
        out.stdout = format!("{MODE_PREFIX}{mode}\n{HELPER_READY}\n{}", out.stdout);
        out
    }
}

/// Bind a listening socket (non-blocking, for tokio).
pub(crate) fn bind_std(ip: Ipv4Addr, port: u16) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind((ip, port))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Stop listening now: on Linux, shutting a listening socket down moves it out of LISTEN, so
/// new connections are refused and a pending accept on it fails; the listener task then drops
/// its reference and the socket is closed.
pub(crate) fn close_listener(l: &tokio::net::TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: shutdown(2) on a descriptor that stays open while `l` is borrowed.
    unsafe {
        libc::shutdown(l.as_raw_fd(), libc::SHUT_RDWR);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
