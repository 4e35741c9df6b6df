//! The REST `q=` parser: one string in, one [`Condition`] out, with ZStack's quirks
//! (operators found by substring in a fixed order, field trimmed, value kept verbatim).
//! Also the RPC form (`{"name", "op", "value"}`) via [`Condition::from_rpc`].
//!
//! This module must never look at a catalogue: whether a field exists, or a value fits its
//! type, is checked later (`resolve`). It must never percent-decode either; the HTTP layer
//! hands over decoded text.

use std::fmt;

use crate::error::{clip, ParseError, QueryError};
use crate::op::Op;

/// One query condition: `field op value`. Conditions in a query are ANDed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    /// A field path: `name`, `cluster.name`, `cluster.zone.name`, `__systemTag__`, …
    pub field: String,
    /// The operator.
    pub op: Op,
    /// The value, verbatim. `None` for `is null` / `is not null` (and for an RPC condition
    /// that sent no value, which compiles to [`QueryError::MissingValue`]).
    pub value: Option<String>,
}

impl Condition {
    /// A condition with a value.
    pub fn new(field: impl Into<String>, op: Op, value: impl Into<String>) -> Self {
        Condition {
            field: field.into(),
            op,
            value: Some(value.into()),
        }
    }

    /// An RPC condition (`{"name": …, "op": …, "value": …}`): `op` must be an exact
    /// [`Op::rpc_name`], otherwise [`QueryError::UnknownOp`] (ZStack `SYS.1007`). A missing
    /// value is accepted here and rejected by [`crate::compile`] for ops that need one.
    pub fn from_rpc(name: &str, op: &str, value: Option<&str>) -> Result<Self, QueryError> {
        let op = Op::from_rpc(op).ok_or_else(|| QueryError::UnknownOp { op: clip(op) })?;
        Ok(Condition {
            field: name.to_owned(),
            op,
            value: value.map(str::to_owned),
        })
    }
}

/// Parses one REST `q=` value.
///
/// ```text
/// condition ::= field rest-op value        ; value: the rest of the string, verbatim
///             | field null-op [ignored]    ; null-op: "is null" | "not null"
/// rest-op   ::= the first of  != >= <= !?= !~= ~= ?= = > <  that occurs ANYWHERE in the string
/// ```
///
/// The string is split at the first occurrence of the chosen operator. The field is
/// trimmed, the value is not (`name= a ` has the value `" a "`). Consequence (as in ZStack):
/// `name=a!=b` is the condition `name=a` `!=` `b`.
///
/// Errors (HTTP 400 in ZStack): no operator at all; or, for an operator that takes a value,
/// nothing before it (`=abc`, which ZStack's `splitByWholeSeparator` turns into one token).
/// Text after `is null` / `not null` is ignored, as in ZStack.
pub fn parse_condition(q: &str) -> Result<Condition, ParseError> {
    let (op, at) = Op::REST_ORDER
        .iter()
        .find_map(|&op| q.find(op.rest_delimiter()).map(|at| (op, at)))
        .ok_or_else(|| ParseError::NoOperator { cond: clip(q) })?;
    let field = q[..at].trim();
    if !op.takes_value() {
        return Ok(Condition {
            field: field.to_owned(),
            op,
            value: None,
        });
    }
    if at == 0 {
        return Err(ParseError::NotKeyValuePair {
            cond: clip(q),
            op: op.rpc_name(),
        });
    }
    let value = &q[at + op.rest_delimiter().len()..];
    Ok(Condition {
        field: field.to_owned(),
        op,
        value: Some(value.to_owned()),
    })
}

/// The REST form: `field` + [`Op::rest_token`] + value (`name=a`, `cpuNum>=4`,
/// `name is null`). `parse_condition(&c.to_string()) == c` whenever the field is trimmed,
/// non-empty and free of operators, and the value contains no operator that comes earlier
/// in [`Op::REST_ORDER`] than `c.op`.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.field)?;
        f.write_str(self.op.rest_token())?;
        if self.op.takes_value() {
            if let Some(v) = &self.value {
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> (String, Op, Option<String>) {
        let c = parse_condition(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        (c.field, c.op, c.value)
    }

    fn v(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn every_operator() {
        let table: &[(&str, &str, Op, Option<&str>)] = &[
            ("name=a", "name", Op::Eq, Some("a")),
            ("name!=a", "name", Op::NotEq, Some("a")),
            ("cpuNum>4", "cpuNum", Op::Gt, Some("4")),
            ("cpuNum>=4", "cpuNum", Op::Ge, Some("4")),
            ("cpuNum<4", "cpuNum", Op::Lt, Some("4")),
            ("cpuNum<=4", "cpuNum", Op::Le, Some("4")),
            ("uuid?=a,b", "uuid", Op::In, Some("a,b")),
            ("uuid!?=a,b", "uuid", Op::NotIn, Some("a,b")),
            ("name~=%web%", "name", Op::Like, Some("%web%")),
            ("name!~=web_", "name", Op::NotLike, Some("web_")),
            ("description is null", "description", Op::IsNull, None),
            ("description not null", "description", Op::NotNull, None),
            (
                "cluster.zone.name=z1",
                "cluster.zone.name",
                Op::Eq,
                Some("z1"),
            ),
            (
                "__systemTag__~=os::%",
                "__systemTag__",
                Op::Like,
                Some("os::%"),
            ),
        ];
        for &(q, field, op, value) in table {
            assert_eq!(
                p(q),
                (field.to_owned(), op, value.map(str::to_owned)),
                "{q}"
            );
        }
    }

    #[test]
    fn zstack_quirks() {
        // The first operator in REST order that occurs anywhere wins.
        assert_eq!(p("name=a!=b"), ("name=a".into(), Op::NotEq, v("b")));
        assert_eq!(p("name=a>=b"), ("name=a".into(), Op::Ge, v("b")));
        assert_eq!(p("name=a?=b"), ("name=a".into(), Op::In, v("b")));
        // `=` before `>`: the value keeps the `>`.
        assert_eq!(p("name=>x"), ("name".into(), Op::Eq, v(">x")));
        // Split at the first occurrence; the rest is the value.
        assert_eq!(p("name=a=b"), ("name".into(), Op::Eq, v("a=b")));
        assert_eq!(p("name==b"), ("name".into(), Op::Eq, v("=b")));
        // Field trimmed, value not.
        assert_eq!(p("  name  =  a b  "), ("name".into(), Op::Eq, v("  a b  ")));
        assert_eq!(p("name="), ("name".into(), Op::Eq, v("")));
        // Blank field names survive parsing (the catalogue rejects them later).
        assert_eq!(p(" =a"), ("".into(), Op::Eq, v("a")));
        // Null ops: text after them is ignored; the field may be anything before them.
        assert_eq!(p("name is null"), ("name".into(), Op::IsNull, None));
        assert_eq!(p("nameis nullxyz"), ("name".into(), Op::IsNull, None));
        assert_eq!(p("is null"), ("".into(), Op::IsNull, None));
        // `is null` inside a value of an earlier operator is just text.
        assert_eq!(p("name=is null"), ("name".into(), Op::Eq, v("is null")));
        // Unicode and control characters pass through.
        assert_eq!(p("name=зона\t1"), ("name".into(), Op::Eq, v("зона\t1")));
    }

    #[test]
    fn errors() {
        let e = parse_condition("nameabc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid query parameter. The 'nameabc' in the parameter[q] doesn't contain any query \
             operator. Valid query operators are [!=, >=, <=, !?=, !~=, ~=, ?=, =, >, <, is null, not null]"
        );
        assert!(matches!(
            parse_condition(""),
            Err(ParseError::NoOperator { .. })
        ));
        // `IS NULL` is not `is null`.
        assert!(matches!(
            parse_condition("a IS NULL"),
            Err(ParseError::NoOperator { .. })
        ));
        let e = parse_condition("=abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid query parameter. The '=abc' in parameter[q] is not a key-value pair split by ="
        );
        let e = parse_condition("?=a,b").unwrap_err();
        assert_eq!(
            e,
            ParseError::NotKeyValuePair {
                cond: "?=a,b".into(),
                op: "in"
            }
        );
    }

    #[test]
    fn display() {
        assert_eq!(
            Condition::new("name", Op::Eq, " a ").to_string(),
            "name= a "
        );
        assert_eq!(
            Condition::new("uuid", Op::NotIn, "a,b").to_string(),
            "uuid!?=a,b"
        );
        let c = Condition {
            field: "description".into(),
            op: Op::NotNull,
            value: None,
        };
        assert_eq!(c.to_string(), "description not null");
        assert_eq!(parse_condition(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn rpc() {
        let c = Condition::from_rpc("cluster.name", "not in", Some("a,b")).unwrap();
        assert_eq!(c, Condition::new("cluster.name", Op::NotIn, "a,b"));
        let e = Condition::from_rpc("name", "?=", Some("a")).unwrap_err();
        assert_eq!(e.to_string(), "unknown QueryOp type[?=]");
        assert!(e.is_invalid_argument());
        let c = Condition::from_rpc("name", "is not null", None).unwrap();
        assert_eq!(c.op, Op::NotNull);
    }
}
