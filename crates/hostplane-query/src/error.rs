//! The crate's two error types: [`ParseError`] for a REST `q=` string that is not a condition,
//! and [`QueryError`] for a query that cannot be compiled against a catalogue.
//!
//! Each variant's `Display` is the text the server puts in ZStack's error body (ZStack's own
//! wording where ZStack has one). [`QueryError::kind`] says which ZStack code it maps to.
//! This module must never mention HTTP status codes or ZStack error-code strings in types:
//! mapping to the wire is the server's job, done in one place there.
//!
//! Values quoted in messages are clipped (see `clip`), so a 64 KiB value cannot blow up a log
//! line or an error body.

use crate::catalogue::FieldType;
use crate::op::Op;

/// A REST `q=` value that is not a condition. The server answers HTTP 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// None of the REST operators occurs in the string.
    #[error(
        "Invalid query parameter. The '{cond}' in the parameter[q] doesn't contain any query operator. \
         Valid query operators are [!=, >=, <=, !?=, !~=, ~=, ?=, =, >, <, is null, not null]"
    )]
    NoOperator {
        /// The whole `q` value (clipped).
        cond: String,
    },
    /// The operator has nothing before it (ZStack's `splitByWholeSeparator` then yields a
    /// single token), e.g. `=abc`.
    #[error("Invalid query parameter. The '{cond}' in parameter[q] is not a key-value pair split by {op}")]
    NotKeyValuePair {
        /// The whole `q` value (clipped).
        cond: String,
        /// The operator's RPC name, as ZStack prints it (`=`, `in`, `like`, …).
        op: &'static str,
    },
}

/// Which ZStack error a [`QueryError`] maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// ZStack `SYS.1007` (invalid argument): the client sent a bad operator, value or limit.
    InvalidArgument,
    /// ZStack `SYS.1000` (internal error): ZStack raises a runtime exception for unknown
    /// fields and expansions, so hostplane answers with the same code. Also used when the
    /// catalogue itself is inconsistent (a server bug).
    Internal,
}

/// A query that cannot be compiled. See [`QueryError::kind`] for the ZStack code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// An RPC condition's `op` is not one of the twelve query ops (lookup is exact).
    #[error("unknown QueryOp type[{op}]")]
    UnknownOp {
        /// The op as sent (clipped).
        op: String,
    },
    /// A condition other than `is null` / `is not null` has no value.
    #[error("'value' of query condition {{\"name\":\"{field}\",\"op\":\"{op}\"}} cannot be null")]
    MissingValue {
        /// The condition's field, JSON-escaped and clipped.
        field: String,
        /// The op's RPC name.
        op: &'static str,
    },
    /// A value that does not fit the field's type (e.g. `cpuNum=abc`).
    #[error("invalid value[{value}] for field[{field}]: expected {expected}")]
    InvalidValue {
        /// The condition's field path (clipped).
        field: String,
        /// The offending value or list item (clipped).
        value: String,
        /// What the field accepts.
        expected: &'static str,
    },
    /// An operator the field's type cannot use (`like` on a number, date or boolean).
    #[error("the operator[{op}] cannot be used on field[{field}] of type {ty}")]
    UnsupportedOp {
        /// The condition's field path (clipped).
        field: String,
        /// The operator's RPC name.
        op: &'static str,
        /// The field's type.
        ty: FieldType,
    },
    /// A field name that the resource (or an expanded resource) does not have; also used for
    /// an unknown `sort` or `fields` name. ZStack's text prints the Java class (`class x.y.Z`).
    #[error("inventory class[class {class}] has no field[{field}]")]
    UnknownField {
        /// The inventory class of the resource that was searched.
        class: &'static str,
        /// The unknown name (clipped).
        field: String,
    },
    /// A field that exists only on a subtype (e.g. KVM hosts) used without the type switch
    /// condition `<type field>=<type>`.
    #[error(
        "inventory class[class {class}] has no field[{field}]; it can be queried only with the condition {type_field}={type_value}"
    )]
    TypeOnlyField {
        /// The inventory class of the resource.
        class: &'static str,
        /// The field's JSON name.
        field: String,
        /// The resource's type field, e.g. `hypervisorType`.
        type_field: &'static str,
        /// The type the field belongs to, e.g. `KVM`.
        type_value: &'static str,
    },
    /// `<x>.<field>` where `x` is not an expansion of the resource.
    #[error("no expand query[{expansion}] found on class {class}")]
    UnknownExpansion {
        /// The inventory class of the resource that was searched.
        class: &'static str,
        /// The unknown expansion name (clipped).
        expansion: String,
    },
    /// More conditions than [`crate::limits::MAX_CONDITIONS`].
    #[error("too many query conditions: {count}, at most {max} are allowed")]
    TooManyConditions {
        /// How many distinct conditions the query had.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An expansion chain longer than [`crate::limits::MAX_EXPANSION_DEPTH`].
    #[error("the field[{field}] expands more than {max} levels")]
    ExpansionTooDeep {
        /// The condition's field path (clipped).
        field: String,
        /// The limit.
        max: usize,
    },
    /// A value longer than [`crate::limits::MAX_VALUE_LEN`] bytes.
    #[error("the value of field[{field}] is {len} bytes long, at most {max} are allowed")]
    ValueTooLong {
        /// The condition's field path (clipped).
        field: String,
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An `in` / `not in` list longer than [`crate::limits::MAX_LIST_ITEMS`], or a query
    /// binding more than [`crate::limits::MAX_BOUND_VALUES`] values in total.
    #[error("too many values in the query: {count}, at most {max} are allowed")]
    TooManyValues {
        /// How many values there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A negative `limit` or `start`.
    #[error("{name} must not be negative, got {value}")]
    NegativeParameter {
        /// `limit` or `start`.
        name: &'static str,
        /// The value sent.
        value: i64,
    },
    /// A `filterName` that is not `type:condition(s)`.
    #[error("filterName must be formatted as [filterType:condition(s)]")]
    InvalidFilterName {
        /// The filter name sent (clipped).
        filter_name: String,
    },
    /// The catalogue the server supplied is inconsistent (e.g. an expansion names a resource
    /// that is not in it). A server bug, never the client's fault.
    #[error("query catalogue error: {message}")]
    Catalogue {
        /// What is wrong.
        message: String,
    },
}

impl QueryError {
    /// Which ZStack error this maps to: `SYS.1007` ([`ErrorKind::InvalidArgument`]) or
    /// `SYS.1000` ([`ErrorKind::Internal`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::UnknownField { .. }
            | QueryError::TypeOnlyField { .. }
            | QueryError::UnknownExpansion { .. }
            | QueryError::Catalogue { .. } => ErrorKind::Internal,
            QueryError::UnknownOp { .. }
            | QueryError::MissingValue { .. }
            | QueryError::InvalidValue { .. }
            | QueryError::UnsupportedOp { .. }
            | QueryError::TooManyConditions { .. }
            | QueryError::ExpansionTooDeep { .. }
            | QueryError::ValueTooLong { .. }
            | QueryError::TooManyValues { .. }
            | QueryError::NegativeParameter { .. }
            | QueryError::InvalidFilterName { .. } => ErrorKind::InvalidArgument,
        }
    }

    /// True for errors ZStack reports as `SYS.1007` (invalid argument).
    pub fn is_invalid_argument(&self) -> bool {
        self.kind() == ErrorKind::InvalidArgument
    }

    pub(crate) fn missing_value(field: &str, op: Op) -> Self {
        QueryError::MissingValue {
            field: json_escape(&clip(field)),
            op: op.rpc_name(),
        }
    }
}

/// Longest user text quoted in an error message, in characters.
const CLIP_CHARS: usize = 200;

/// Shortens user text for an error message: at most [`CLIP_CHARS`] characters, then `…`.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(CLIP_CHARS) {
        None => s.to_owned(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

/// Escapes text for the inside of a JSON string literal.
fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("abc"), "abc");
        let long = "é".repeat(300);
        let c = clip(&long);
        assert_eq!(c.chars().count(), CLIP_CHARS + 1);
        assert!(c.ends_with('…'));
    }

    #[test]
    fn missing_value_text_is_zstacks() {
        let e = QueryError::missing_value("na\"me", Op::Eq);
        assert_eq!(
            e.to_string(),
            r#"'value' of query condition {"name":"na\"me","op":"="} cannot be null"#
        );
        assert!(e.is_invalid_argument());
    }

    #[test]
    fn kinds() {
        let e = QueryError::UnknownField {
            class: "org.zstack.header.zone.ZoneInventory",
            field: "x".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(
            e.to_string(),
            "inventory class[class org.zstack.header.zone.ZoneInventory] has no field[x]"
        );
        let e = QueryError::UnknownExpansion {
            class: "org.zstack.header.zone.ZoneInventory",
            expansion: "x".into(),
        };
        assert_eq!(
            e.to_string(),
            "no expand query[x] found on class org.zstack.header.zone.ZoneInventory"
        );
        assert!(!e.is_invalid_argument());
    }
}
