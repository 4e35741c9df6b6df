//! The twelve query operators ([`Op`]) and their three spellings: the REST `q=` token, the RPC
//! op string (ZStack's `QueryOp`), and the order in which the REST parser looks for them.
//!
//! This module only names operators; it must never decide what an operator means for a
//! field type or how it becomes SQL (that is `resolve` and `compile`).

use std::fmt;

/// A query operator. ZStack's `QueryOp` constants, one variant each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `=` (REST `=`).
    Eq,
    /// `!=` (REST `!=`).
    NotEq,
    /// `>` (REST `>`).
    Gt,
    /// `>=` (REST `>=`).
    Ge,
    /// `<` (REST `<`).
    Lt,
    /// `<=` (REST `<=`).
    Le,
    /// `in` (REST `?=`, the value is a comma-separated list).
    In,
    /// `not in` (REST `!?=`).
    NotIn,
    /// `like` (REST `~=`, the client supplies `%` / `_` wildcards).
    Like,
    /// `not like` (REST `!~=`).
    NotLike,
    /// `is null` (REST `<field> is null`, no value).
    IsNull,
    /// `is not null` (REST `<field> not null`, no value).
    NotNull,
}

impl Op {
    /// Every operator, in declaration order.
    pub const ALL: [Op; 12] = [
        Op::Eq,
        Op::NotEq,
        Op::Gt,
        Op::Ge,
        Op::Lt,
        Op::Le,
        Op::In,
        Op::NotIn,
        Op::Like,
        Op::NotLike,
        Op::IsNull,
        Op::NotNull,
    ];

    /// The order in which the REST parser looks for operators (ZStack's
    /// `RestServer.QUERY_OP_MAPPING`): the first one that occurs anywhere in the string wins.
    /// An operator contained in another (`=` in `!=`) comes after it.
    pub const REST_ORDER: [Op; 12] = [
        Op::NotEq,
        Op::Ge,
        Op::Le,
        Op::NotIn,
        Op::NotLike,
        Op::Like,
        Op::In,
        Op::Eq,
        Op::Gt,
        Op::Lt,
        Op::IsNull,
        Op::NotNull,
    ];

    /// How [`crate::Condition`]'s `Display` writes the operator between field and value.
    /// The null operators carry a leading space: `name is null`.
    pub fn rest_token(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::In => "?=",
            Op::NotIn => "!?=",
            Op::Like => "~=",
            Op::NotLike => "!~=",
            Op::IsNull => " is null",
            Op::NotNull => " not null",
        }
    }

    /// The substring the REST parser searches for (the token without the null operators'
    /// leading space, as in ZStack).
    pub(crate) fn rest_delimiter(self) -> &'static str {
        match self {
            Op::IsNull => "is null",
            Op::NotNull => "not null",
            other => other.rest_token(),
        }
    }

    /// The RPC op string (ZStack's `QueryOp.toString()`).
    pub fn rpc_name(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Like => "like",
            Op::NotLike => "not like",
            Op::IsNull => "is null",
            Op::NotNull => "is not null",
        }
    }

    /// Looks up an RPC op string. Exact and case-sensitive, like ZStack's `QueryOp.valueOf`
    /// (`"IN"`, `"?="` and `" in"` are all unknown).
    pub fn from_rpc(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.rpc_name() == s)
    }

    /// False for `is null` / `is not null`, which take no value.
    pub fn takes_value(self) -> bool {
        !matches!(self, Op::IsNull | Op::NotNull)
    }

    /// For the negative operators `!=`, `not in`, `not like`: the positive form. Tag
    /// conditions use it ("has no tag matching the positive form").
    pub fn positive(self) -> Option<Op> {
        match self {
            Op::NotEq => Some(Op::Eq),
            Op::NotIn => Some(Op::In),
            Op::NotLike => Some(Op::Like),
            _ => None,
        }
    }
}

/// Prints the RPC name.
impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rpc_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_names_round_trip_and_are_case_sensitive() {
        for op in Op::ALL {
            assert_eq!(Op::from_rpc(op.rpc_name()), Some(op));
        }
        for bad in [
            "IN", "In", " in", "?=", "~=", "not null", "is  null", "", "==",
        ] {
            assert_eq!(Op::from_rpc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens() {
        let rest: Vec<_> = Op::ALL.iter().map(|o| o.rest_token()).collect();
        assert_eq!(
            rest,
            [
                "=",
                "!=",
                ">",
                ">=",
                "<",
                "<=",
                "?=",
                "!?=",
                "~=",
                "!~=",
                " is null",
                " not null"
            ]
        );
        let rpc: Vec<_> = Op::ALL.iter().map(|o| o.rpc_name()).collect();
        assert_eq!(
            rpc,
            [
                "=",
                "!=",
                ">",
                ">=",
                "<",
                "<=",
                "in",
                "not in",
                "like",
                "not like",
                "is null",
                "is not null"
            ]
        );
    }

    #[test]
    fn rest_order_puts_containing_tokens_first() {
        for (i, a) in Op::REST_ORDER.iter().enumerate() {
            for b in &Op::REST_ORDER[i + 1..] {
                assert!(
                    !b.rest_delimiter().contains(a.rest_delimiter()),
                    "{a:?} is contained in the later {b:?}"
                );
            }
        }
        let mut sorted = Op::REST_ORDER;
        sorted.sort();
        assert_eq!(sorted, Op::ALL);
    }
}
