//! Integration tests of hostplane-query against a small catalogue.
//!
//! * `catalogue`: the test catalogue (zone, cluster, host; expansions; tags; KVM-only fields).
//! * `sql_text`: the generated SQL for a few queries, spelled out; hostile values stay out of
//!   the SQL text; error texts and kinds.
//! * `props`: property tests: REST round trip; no panic on arbitrary input.
//! * `executed`: the compiled statements run against SQLite (always) and PostgreSQL (when
//!   `HOSTPLANE_TEST_PG_URL` is set; required when `CI` is set).
mod catalogue;
mod executed;
mod props;
mod sql_text;
