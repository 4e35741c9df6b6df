//! hostplane: a management server for KVM hosts that speaks ZStack's API.
//!
//! An operator points hostplane at Linux machines (an IP, an SSH user and password or key);
//! it logs in over SSH, checks the machine can run KVM, collects its facts, keeps its state
//! and connection status, pings it, reconnects it, and serves all of this through ZStack's
//! REST API (`/zstack/v1/...`) and its legacy RPC endpoint (`/zstack/api`), so ZStack's own
//! clients work against it unmodified.
//!
//! # Layout
//!
//! Calls flow one way: [`http`] → [`domain`] → [`store`] (and the SSH connector crate).
//!
//! - [`http`]: the HTTP face — REST v1 routes, the RPC endpoint, job polling, wire encoding.
//! - [`domain`]: what hostplane does — the API catalogue, validation, identity, zones,
//!   clusters, hosts (add, connect, state machines, delete, ping tracking), global configs,
//!   jobs. Knows nothing of HTTP.
//! - [`store`]: SQLite or PostgreSQL through one sqlx pool; one file per table. Knows
//!   nothing of HTTP or SSH.
//! - [`error`]: the one domain error type and ZStack's error-code table.
//! - [`server`]: start-up — open the port, open the store, settle what the last stop left,
//!   serve, take hosts back in the background; [`shutdown`]: the graceful stop.
//!
//! Other crates of the workspace: `hostplane-query` (the query language: parser, catalogue
//! types, SQL generation), `hostplane-ssh` (the SSH host connector and fact collection),
//! `hostplane-testkit` (real sshd test hosts, PostgreSQL, server processes for tests).

pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod time;
