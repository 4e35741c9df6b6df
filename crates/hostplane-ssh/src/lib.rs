//! hostplane-ssh: the SSH host connector. Agentless: it logs in to a KVM host over SSH, pins the
//! host key, collects facts and hardware statuses with one script in one exec, pings (over a session, or
//! with a login-free probe of sshd), and manages ZStack's takeover flag. What needs root runs through
//! one fixed helper: directly as root, through sudo for any other user ([`sudo`]).
//!
//! This crate knows nothing of HTTP, the store or ZStack's wire format; the server maps
//! [`Facts`] to inventories and [`SshError`] to failed steps (with [`SshError::hint`]). It never
//! logs or returns a password or private key, and every network wait is bounded by
//! [`ConnectOptions`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), hostplane_ssh::SshError> {
//! use hostplane_ssh::{ConnectOptions, Credential, Session};
//! let opts = ConnectOptions::default();
//! let s = Session::connect("10.0.0.5", 22, "root", &Credential::Password("pw".into()), &opts).await?;
//! let pin = s.host_key_fingerprint().to_string(); // store it; pass it as expected_host_key next time
//! let access = s.check_access("/var/run/zstack/takeOver").await?; // root, user or sudo; writes nothing
//! let facts = s.collect_facts_with(&access).await?;
//! s.ping().await?;
//! s.write_takeover_flag("/var/run/zstack/takeOver", "host-uuid").await?;
//! s.close().await;
//! # let _ = (pin, facts); Ok(()) }
//! ```
//!
//! Modules: [`connect`] (port wait, handshake, pin, auth), [`exec`] (one bounded command),
//! [`facts`] (the fact script and its parser), [`hw`] (hardware status rules), [`probe`] (the
//! light ping: read sshd's identification line, no login), [`takeover`] (the takeover flag),
//! [`sudo`] (the root helper, sudo, the sudoers rule), [`error`].

pub mod connect;
pub mod error;
pub mod exec;
pub mod facts;
pub mod hw;
pub mod probe;
pub mod sudo;
pub mod takeover;

pub use connect::{fetch_host_key, tcp_connect, ConnectOptions, Credential, Session};
pub use error::{SshError, Unreachable};
pub use exec::{sh_quote, ExecOutput};
pub use facts::{parse_facts, Facts, FACT_SCRIPT, FACT_SCRIPT_MARKER};
pub use hw::{HwCheck, HwStatus, HwStatuses};
pub use probe::{read_banner, read_banner_from};
pub use sudo::{helper_script, sudoers_rule, Access, Privilege, SudoProblem};
pub use takeover::TakeoverFlag;
