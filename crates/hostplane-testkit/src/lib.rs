//! Test fixtures built from real parts, shared by every crate's integration tests.
//!
//! - [`api`]: a blocking client of hostplane's REST API, as the suites call it.
//! - [`sshd`]: OpenSSH `sshd` test hosts, each on its own 127.0.0.x address, with their own host
//!   keys, a test user with a password, and optionally their own facts (mount namespaces).
//! - [`pg`]: the PostgreSQL server the suites run against.
//! - [`server`]: a `hostplane serve` process on a free port, with its own data directory.
//! - [`webhook`]: an HTTP receiver that records the webhooks it gets.
//! - [`python`]: the Python (with `tests/e2e/requirements.txt`) the end-to-end tests drive.
//! - [`proxy`]: a TCP proxy a test can cut, to part a server from its database.
//! - [`webdriver`]: headless Chromium through chromedriver, for the console and `/docs`.
//!
//! Nothing here is a mock: a test that passes here talks to the same programs a user runs.

pub mod api;
pub mod pg;
pub mod proxy;
pub mod python;
pub mod server;
pub mod sshd;
pub mod webdriver;
pub mod webhook;
