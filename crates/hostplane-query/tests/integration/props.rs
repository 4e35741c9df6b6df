//! Property tests: the REST form round-trips, and no input makes the parser or the compiler
//! panic.

use hostplane_query::{compile, parse_condition, Backend, Condition, Op, Query};
use proptest::prelude::*;

use super::catalogue::{CAT, CLUSTER, HOST, ZONE};

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(Op::ALL.to_vec())
}

/// Does `value` contain an operator that the REST parser tries before `op`?
fn has_earlier_operator(value: &str, op: Op) -> bool {
    Op::REST_ORDER
        .iter()
        .take_while(|o| **o != op)
        .any(|o| value.contains(o.rest_token().trim_start()))
}

/// Conditions whose REST form must parse back to themselves: a plain field path, and a
/// value without an operator that comes earlier than its own.
fn printable_condition() -> impl Strategy<Value = Condition> {
    let field = "[a-zA-Z_][a-zA-Z0-9_]{0,10}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,10}){0,2}";
    let value = prop_oneof![any::<String>(), "[ a-z0-9%_,=!<>?~\\\\'\"]{0,12}"];
    (field, op(), value)
        .prop_filter("value holds an earlier operator", |(_, op, v)| {
            !op.takes_value() || !has_earlier_operator(v, *op)
        })
        .prop_map(|(field, op, v)| Condition {
            field,
            op,
            value: op.takes_value().then_some(v),
        })
}

/// Strings built from the language's own pieces, to reach deep into the compiler.
fn query_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "name",
        "uuid",
        "cluster",
        "zone",
        "host",
        ".",
        "=",
        "!=",
        "?=",
        "!?=",
        "~=",
        "!~=",
        ">",
        "<",
        ">=",
        "<=",
        "is null",
        " not null",
        "__systemTag__",
        "__userTag__",
        "hypervisorType",
        "KVM",
        "sshPort",
        "username",
        "cpuNum",
        "enabled",
        "createDate",
        "2.5",
        "1e400",
        "-1",
        "99999999999999999999999",
        ",",
        "%",
        "_",
        "\\",
        "'",
        " ",
        "true",
        "2017-01-06",
        "Jan 6, 2017 3:51:16 AM",
        "\u{0}",
        "ü",
    ]);
    prop_oneof![
        any::<String>(),
        prop::collection::vec(piece, 0..10).prop_map(|p| p.concat()),
    ]
}

/// SQL with the one literal the compiler writes (the LIKE escape character) removed.
fn without_escape_literal(sql: &str) -> String {
    sql.replace(r"ESCAPE E'\\'", "").replace(r"ESCAPE '\'", "")
}

proptest! {
    #[test]
    fn rest_form_round_trips(c in printable_condition()) {
        let text = c.to_string();
        prop_assert_eq!(parse_condition(&text), Ok(c), "text {:?}", text);
    }

    #[test]
    fn nothing_panics(
        texts in prop::collection::vec(query_text(), 0..4),
        limit in prop::option::of(any::<i64>()),
        start in prop::option::of(any::<i64>()),
        sort in prop::option::of(query_text()),
        fields in prop::option::of(prop::collection::vec(query_text(), 0..3)),
        flags in any::<(bool, bool, bool)>(),
        filter_name in prop::option::of(query_text()),
    ) {
        let conditions: Vec<Condition> =
            texts.iter().filter_map(|t| parse_condition(t).ok()).collect();
        let query = Query {
            conditions,
            limit,
            start,
            count: flags.0,
            reply_with_count: flags.1,
            sort_by: sort,
            sort_desc: flags.2,
            fields,
            group_by: None,
            filter_name,
        };
        for resource in [&HOST, &CLUSTER, &ZONE] {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                if let Ok(c) = compile(&CAT, resource, &query, backend) {
                    let sqls = c.select.iter().chain(c.count.iter()).map(|s| without_escape_literal(&s.sql));
                    for sql in sqls {
                        for cond in &query.conditions {
                            if let Some(v) = &cond.value {
                                if v.contains('\'') && v.len() >= 2 {
                                    prop_assert!(!sql.contains(v.as_str()), "{:?} in {}", v, sql);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn round_trip_examples() {
    for c in [
        Condition::new("name", Op::Eq, " a=b "),
        Condition::new("cluster.name", Op::NotEq, "x!y"),
        Condition::new("uuid", Op::In, ",,,,,"),
        Condition::new("name", Op::Like, "%100\\%%"),
        Condition::new("cpuNum", Op::Gt, "<"),
        Condition {
            field: "description".into(),
            op: Op::IsNull,
            value: None,
        },
    ] {
        assert_eq!(parse_condition(&c.to_string()), Ok(c));
    }
    // An earlier operator in the value changes the parse, as in ZStack.
    let c = Condition::new("name", Op::Eq, "a!=b");
    assert_ne!(parse_condition(&c.to_string()), Ok(c));
}
