//! The crate's integration tests, one binary: `integration/` holds a test catalogue
//! (zones, clusters, hosts with a type switch and tags) and the tests that use it.
mod integration;
