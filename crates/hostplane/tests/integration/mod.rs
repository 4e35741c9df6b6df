#[macro_use]
pub mod common;

mod availability;
mod bulk;
mod cli;
mod faults;
mod hosts;
mod nodes;
mod observe;
mod protocol;
mod pty;
mod query;
mod readme;
mod security;
mod sim;
mod zones_clusters;
mod zstack_mcp;
