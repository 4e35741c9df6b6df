#[macro_use]
pub mod common;

mod cli;
mod hosts;
mod protocol;
mod pty;
mod query;
mod readme;
mod zones_clusters;
