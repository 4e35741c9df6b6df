#[macro_use]
pub mod common;

mod cli;
mod hosts;
mod observe;
mod protocol;
mod query;
mod zones_clusters;
