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
//! Dependencies point down: [`http`] → [`domain`] → [`store`] (and the domain → the SSH
//! connector crate). See `docs/ARCHITECTURE.md` for the path of one call.
//!
//! - [`http`]: the HTTP face — REST v1 routes, the RPC endpoint, job polling, wire encoding.
//! - [`domain`]: what hostplane does — the API catalogue, validation, identity, zones,
//!   clusters, hosts (add, connect, state machines, delete, ping tracking), global configs,
//!   jobs. Knows nothing of HTTP.
//! - [`store`]: SQLite or PostgreSQL through one sqlx pool; one file per table. Knows
//!   nothing of HTTP, SSH or the domain.
//! - [`ids`], [`time`]: uuids and timestamps, shared by the domain and the store.
//! - [`error`]: the one domain error type and ZStack's error-code table.
//! - [`metrics`]: what `GET /metrics` shows (Prometheus text), counted where things happen.
//! - [`webhook_target`]: which URLs a webhook may be sent to.
//! - [`server`]: start-up — open the port, open the store, settle what the last stop left,
//!   serve, take hosts back in the background; [`shutdown`]: the graceful stop.
//! - [`netrules`]: allow/refuse rules for the addresses callers may make the server connect to.
//!
//! Other crates of the workspace: `hostplane-query` (the query language: parser, catalogue
//! types, SQL generation), `hostplane-ssh` (the SSH host connector and fact collection),
//! `hostplane-cli` (the command line), `hostplane` (the binary), `hostplane-testkit` (real
//! sshd test hosts, PostgreSQL, server processes for tests).

pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod netrules;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod time;
pub mod webhook_target;
