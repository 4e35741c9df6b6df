//! hostplane-query: ZStack's query language, parsed, checked against a catalogue of
//! resources, and compiled to one parameterised SQL statement (plus one COUNT) through
//! sea-query, for SQLite or PostgreSQL.
//!
//! It knows nothing of HTTP, database pools or the server: the server decodes the request
//! into a [`Query`], supplies a static [`Catalogue`], runs the [`Compiled`] statements and
//! maps a [`QueryError`] to ZStack's error codes with [`QueryError::kind`].
//!
//! # Grammar
//!
//! ```text
//! query       ::= condition* option*                 ; conditions are ANDed, duplicates count once
//!
//! ; REST: one `q=` parameter per condition (parse_condition); RPC: {"name","op","value"}
//! condition   ::= path rest-op value                  ; split at the FIRST occurrence of rest-op
//!               | path null-op                        ; anything after null-op is ignored
//! rest-op     ::= the first of these, in this order, that occurs ANYWHERE in the string:
//!                 "!=" | ">=" | "<=" | "!?=" | "!~=" | "~=" | "?=" | "=" | ">" | "<"
//! null-op     ::= "is null" | "not null"
//! path        ::= (expansion ".")* leaf              ; trimmed; at most 5 expansions
//! leaf        ::= field | "__systemTag__" | "__userTag__"
//! value       ::= any text, NOT trimmed              ; at most 64 KiB, no NUL
//!               ; "?=" / "!?=": a comma list, split like Java's split(","), at most 1000 items
//!               ; "~=" / "!~=": a LIKE pattern, "%" and "_" wildcards, "\" escapes
//!
//! RPC op      ::= "=" | "!=" | ">" | ">=" | "<" | "<=" | "in" | "not in"
//!               | "like" | "not like" | "is null" | "is not null"     ; exact, case-sensitive
//!
//! option      ::= limit | start | count | replyWithCount | sort | fields | groupBy | filterName
//! limit       ::= integer >= 0                       ; default 1000
//! start       ::= integer >= 0
//! sort        ::= ["+" | "-"] field                  ; top-level field; key is the tiebreak
//! fields      ::= field ("," field)*                 ; top-level fields; projection
//! filterName  ::= text ":" text                      ; checked, otherwise ignored
//! groupBy     ::= text                               ; ignored
//! ```
//!
//! Meaning, in short (the README has the full account and the differences from ZStack):
//!
//! * A field is compared by its catalogue type: text as text (case-sensitive, `LIKE`
//!   too: SQLite connections must run `PRAGMA case_sensitive_like=ON`), numbers as numbers,
//!   booleans as 1/0, dates as epoch milliseconds.
//! * `a.b.f` follows expansions: `local IN (SELECT target FROM t WHERE …)`, nested.
//! * `__systemTag__` / `__userTag__` test the tag tables; `!=`, `not in`, `not like` mean
//!   "has no tag matching the positive form".
//! * A field with [`Field::only_for_type`] needs the top-level condition
//!   `<type_field>=<type>` (ZStack's type switch, e.g. `hypervisorType=KVM`).
//!
//! # Layout
//!
//! * `op`: [`Op`], the twelve operators and their REST / RPC spellings.
//! * `condition`: [`Condition`] and [`parse_condition`], the REST `q=` parser.
//! * `query`: [`Query`] and the REST `sort` / `fields` readers.
//! * `catalogue`: [`Catalogue`], [`Resource`], [`Field`], [`Expansion`]: what the server
//!   describes.
//! * `value`: [`Value`] (bound values) and the readers for numbers, booleans and dates.
//! * `resolve`: checks a query against the catalogue and types its values (a private plan).
//! * `compile`: [`compile`], the plan to sea-query to SQL for a [`Backend`].
//! * `error`: [`ParseError`], [`QueryError`], [`ErrorKind`].
//! * [`limits`]: the size limits.
//!
//! Flow: `parse_condition` (REST) or `Condition::from_rpc` (RPC) → [`Query`] →
//! [`compile`] = `resolve::plan` + `compile` → [`Compiled`].

mod catalogue;
mod compile;
mod condition;
mod error;
mod op;
mod query;
mod resolve;
mod value;

pub use catalogue::{Catalogue, Expansion, Field, FieldType, Resource};
pub use compile::{compile, Backend, Compiled, Statement};
pub use condition::{parse_condition, Condition};
pub use error::{ErrorKind, ParseError, QueryError};
pub use op::Op;
pub use query::{parse_fields, parse_sort, Query, DEFAULT_LIMIT};
pub use resolve::{SYSTEM_TAG_FIELD, SYSTEM_TAG_TABLE, USER_TAG_FIELD, USER_TAG_TABLE};
pub use value::Value;

/// Size limits. Exceeding one is an invalid-argument error ([`ErrorKind::InvalidArgument`]).
pub mod limits {
    /// Distinct conditions in one query.
    pub const MAX_CONDITIONS: usize = 64;
    /// Expansions in one field path (`a.b.c.d.e.field` is 5).
    pub const MAX_EXPANSION_DEPTH: usize = 5;
    /// Bytes in one value.
    pub const MAX_VALUE_LEN: usize = 64 * 1024;
    /// Items in one `in` / `not in` list.
    pub const MAX_LIST_ITEMS: usize = 1000;
    /// Values bound by one statement (SQLite allows 32766, PostgreSQL 65535).
    pub const MAX_BOUND_VALUES: usize = 10_000;
}
