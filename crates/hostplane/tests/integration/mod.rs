#[macro_use]
pub mod common;

mod cli;
mod hosts;
mod protocol;
mod query;
mod security;
mod zones_clusters;
