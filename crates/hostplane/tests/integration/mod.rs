#[macro_use]
pub mod common;

mod cli;
mod hosts;
mod nodes;
mod protocol;
mod query;
mod sim;
mod zones_clusters;
mod zstack_mcp;
