#[macro_use]
pub mod common;

mod cli;
mod hosts;
mod protocol;
mod zones_clusters;
mod query;
