#[macro_use]
pub mod common;

mod bulk;
mod cli;
mod hosts;
mod protocol;
mod query;
mod sim;
mod zones_clusters;
mod zstack_mcp;
