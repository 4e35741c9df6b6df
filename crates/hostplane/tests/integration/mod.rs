#[macro_use]
pub mod common;

mod availability;
mod cli;
mod faults;
mod hosts;
mod protocol;
mod query;
mod zones_clusters;
