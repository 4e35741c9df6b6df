//! hostplane's integration tests: one binary, one module per area. Every test talks real HTTP
//! to a real `hostplane serve` process, on SQLite and on PostgreSQL, and hosts are real
//! OpenSSH sshd processes (see `hostplane-testkit`).

mod integration;
