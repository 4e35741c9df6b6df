//! The generated SQL, spelled out for a few queries on both backends; hostile values never
//! appear in SQL text; error texts and kinds.

use hostplane_query::{
    compile, limits, parse_condition, Backend, Compiled, Condition, ErrorKind, Op, Query,
    QueryError, Value,
};

use super::catalogue::{BROKEN, CAT, CONFIG, HOST, ZONE};

fn q(conds: &[&str]) -> Query {
    Query {
        conditions: conds.iter().map(|c| parse_condition(c).unwrap()).collect(),
        ..Query::default()
    }
}

fn on(backend: Backend, query: &Query) -> Compiled {
    compile(&CAT, &HOST, query, backend).unwrap()
}

/// The SELECT's SQL and values for SQLite.
fn sqlite(query: &Query) -> (String, Vec<Value>) {
    let s = on(Backend::Sqlite, query).select.unwrap();
    (s.sql, s.values)
}

/// The SELECT's SQL and values for PostgreSQL.
fn pg(query: &Query) -> (String, Vec<Value>) {
    let s = on(Backend::Postgres, query).select.unwrap();
    (s.sql, s.values)
}

fn err(query: &Query) -> QueryError {
    compile(&CAT, &HOST, query, Backend::Sqlite).unwrap_err()
}

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

const ALL_COLUMNS: &str = r#"SELECT "uuid", "name", "zone_uuid", "cluster_uuid", "hypervisor_type", "cpu_num", "enabled", "create_date", "username", "ssh_port" FROM "host""#;

#[test]
fn equality_on_both_backends() {
    let query = q(&["name=web-1"]);
    assert_eq!(
        sqlite(&query),
        (
            format!(r#"{ALL_COLUMNS} WHERE "name" = ? ORDER BY "uuid" ASC LIMIT ?"#),
            vec![t("web-1"), Value::Int(1000)]
        )
    );
    assert_eq!(
        pg(&query),
        (
            format!(r#"{ALL_COLUMNS} WHERE "name" = $1 ORDER BY "uuid" ASC LIMIT $2"#),
            vec![t("web-1"), Value::Int(1000)]
        )
    );
}

#[test]
fn expansion_chain_nests_subqueries_with_aliases() {
    let (sql, values) = sqlite(&q(&["cluster.zone.name=z1", "cpuNum>=4"]));
    assert_eq!(
        sql,
        format!(
            r#"{ALL_COLUMNS} WHERE "cluster_uuid" IN (SELECT "e1"."uuid" FROM "cluster" AS "e1" WHERE "e1"."zone_uuid" IN (SELECT "e2"."uuid" FROM "zone" AS "e2" WHERE "e2"."name" = ?)) AND "cpu_num" >= ? ORDER BY "uuid" ASC LIMIT ?"#
        )
    );
    assert_eq!(values, [t("z1"), Value::Int(4), Value::Int(1000)]);
}

#[test]
fn tags_positive_and_negative() {
    let (sql, values) = pg(&q(&["__systemTag__~=os::%", "__userTag__!?=a,b"]));
    assert_eq!(
        sql,
        format!(
            r#"{ALL_COLUMNS} WHERE "uuid" IN (SELECT "e1"."resource_uuid" FROM "system_tag" AS "e1" WHERE "e1"."resource_type" = $1 AND "e1"."tag" LIKE $2 ESCAPE E'\\') AND "uuid" NOT IN (SELECT "e1"."resource_uuid" FROM "user_tag" AS "e1" WHERE "e1"."resource_type" = $3 AND "e1"."tag" IN ($4, $5)) ORDER BY "uuid" ASC LIMIT $6"#
        )
    );
    assert_eq!(
        values,
        [
            t("HostVO"),
            t("os::%"),
            t("HostVO"),
            t("a"),
            t("b"),
            Value::Int(1000)
        ]
    );
    // A tag after an expansion: the cluster's tags.
    let (sql, _) = sqlite(&q(&["cluster.__systemTag__=ha"]));
    assert!(
        sql.contains(r#"WHERE "cluster_uuid" IN (SELECT "e1"."uuid" FROM "cluster" AS "e1" WHERE "e1"."uuid" IN (SELECT "e2"."resource_uuid" FROM "system_tag" AS "e2" WHERE "e2"."resource_type" = ? AND "e2"."tag" = ?))"#),
        "{sql}"
    );
}

#[test]
fn like_always_escapes_with_backslash() {
    let query = q(&["name~=100\\%%"]);
    let (sql, values) = sqlite(&query);
    assert!(sql.contains(r#""name" LIKE ? ESCAPE '\'"#), "{sql}");
    assert_eq!(values[0], t("100\\%%"));
    let (sql, _) = pg(&q(&["name!~=a_"]));
    assert!(sql.contains(r#""name" NOT LIKE $1 ESCAPE E'\\'"#), "{sql}");
}

#[test]
fn dates_compare_as_epoch_millisecond_spans() {
    let (sql, values) = sqlite(&q(&["createDate!?=2017-01-06T03:51:16Z,5"]));
    assert_eq!(
        sql,
        format!(
            r#"{ALL_COLUMNS} WHERE NOT (("create_date" >= ? AND "create_date" <= ?) OR "create_date" = ?) ORDER BY "uuid" ASC LIMIT ?"#
        )
    );
    let s = 1_483_674_676_000;
    assert_eq!(
        values,
        [
            Value::Int(s),
            Value::Int(s + 999),
            Value::Int(5),
            Value::Int(1000)
        ]
    );
    // Booleans bind 1/0; a number no row can equal compiles to a bound `1 = 0`.
    let (sql, values) = sqlite(&q(&["enabled=TRUE", "cpuNum=2.5"]));
    assert!(
        sql.contains(r#"WHERE "enabled" = ? AND ? = ? ORDER"#),
        "{sql}"
    );
    assert_eq!(values[..3], [Value::Int(1), Value::Int(1), Value::Int(0)]);
}

#[test]
fn sort_projection_paging_and_count() {
    let mut query = q(&["name!=a"]);
    query.sort_by = Some("name".into());
    query.sort_desc = true;
    query.limit = Some(10);
    query.start = Some(20);
    query.fields = Some(vec!["name".into(), "uuid".into(), "name".into()]);
    query.reply_with_count = true;
    let c = on(Backend::Postgres, &query);
    let select = c.select.unwrap();
    assert_eq!(
        select.sql,
        r#"SELECT "uuid", "name" FROM "host" WHERE "name" <> $1 ORDER BY "name" DESC NULLS LAST, "uuid" ASC LIMIT $2 OFFSET $3"#
    );
    assert_eq!(select.values, [t("a"), Value::Int(10), Value::Int(20)]);
    let names: Vec<_> = c.fields.iter().map(|f| f.name).collect();
    assert_eq!(names, ["uuid", "name"]);
    let count = c.count.unwrap();
    assert_eq!(
        count.sql,
        r#"SELECT COUNT(*) FROM "host" WHERE "name" <> $1"#
    );
    assert_eq!(count.values, [t("a")]);

    query.sort_desc = false;
    query.count = true;
    let c = on(Backend::Sqlite, &query);
    assert!(c.select.is_none());
    assert_eq!(
        c.count.unwrap().sql,
        r#"SELECT COUNT(*) FROM "host" WHERE "name" <> ?"#
    );
    query.count = false;
    let sql = on(Backend::Sqlite, &query).select.unwrap().sql;
    assert!(
        sql.contains(r#"ORDER BY "name" ASC NULLS FIRST, "uuid" ASC LIMIT ? OFFSET ?"#),
        "{sql}"
    );
    // Sorting by the key needs no tiebreak.
    query.sort_by = Some("uuid".into());
    let sql = on(Backend::Sqlite, &query).select.unwrap().sql;
    assert!(
        sql.ends_with(r#"ORDER BY "uuid" ASC NULLS FIRST LIMIT ? OFFSET ?"#),
        "{sql}"
    );
}

#[test]
fn type_switch_unlocks_kvm_fields() {
    let e = err(&q(&["sshPort=22"]));
    assert_eq!(
        e.to_string(),
        "inventory class[class org.zstack.header.host.HostInventory] has no field[sshPort]; \
         it can be queried only with the condition hypervisorType=KVM"
    );
    assert_eq!(e.kind(), ErrorKind::Internal);
    let (sql, _) = sqlite(&q(&["hypervisorType=KVM", "sshPort=22", "username=root"]));
    assert!(
        sql.contains(r#""ssh_port" = ? AND "username" = ?"#),
        "{sql}"
    );
    // Only `=` switches; `?=` does not.
    assert!(matches!(
        err(&q(&["hypervisorType?=KVM", "sshPort=22"])),
        QueryError::TypeOnlyField { .. }
    ));
    // Sort and projection follow the same rule.
    let mut query = q(&[]);
    query.sort_by = Some("sshPort".into());
    assert!(matches!(err(&query), QueryError::TypeOnlyField { .. }));
    query
        .conditions
        .push(parse_condition("hypervisorType=KVM").unwrap());
    query.fields = Some(vec!["sshPort".into()]);
    assert_eq!(on(Backend::Sqlite, &query).fields.len(), 1);
    // Without a projection the SELECT has every field, KVM-only ones included.
    assert_eq!(on(Backend::Sqlite, &q(&[])).fields.len(), HOST.fields.len());
    // Through an expansion the switch does not apply.
    let e = compile(&CAT, &ZONE, &q(&["host.sshPort=22"]), Backend::Sqlite).unwrap_err();
    assert!(matches!(e, QueryError::UnknownField { .. }), "{e}");
}

/// Values a client could use to break out of a string literal or a LIKE pattern. None may
/// appear in SQL text, whatever the operator or place.
pub const HOSTILE: &[&str] = &[
    "O'Brien",
    "'; DROP TABLE host; --",
    "\"; DROP TABLE host; --",
    "100%_sure\\",
    "a\\'b",
    "$1 OR 1=1",
    "? OR 1=1",
    "ünïcødé 名前 🚀",
    "line\nbreak\ttab",
    "x' OR 'x'='x",
];

#[test]
fn hostile_values_are_bound_never_spliced() {
    let fields = [
        "name",
        "cluster.name",
        "cluster.zone.name",
        "__systemTag__",
        "__userTag__",
    ];
    let ops = [
        Op::Eq,
        Op::NotEq,
        Op::Gt,
        Op::Le,
        Op::In,
        Op::NotIn,
        Op::Like,
        Op::NotLike,
    ];
    for v in HOSTILE {
        for field in fields {
            for op in ops {
                let query = Query {
                    conditions: vec![Condition::new(field, op, *v)],
                    sort_by: Some("name".into()),
                    ..Query::default()
                };
                for backend in [Backend::Sqlite, Backend::Postgres] {
                    let c = compile(&CAT, &HOST, &query, backend).unwrap();
                    let s = c.select.unwrap();
                    assert!(!s.sql.contains(v), "{v:?} spliced into {}", s.sql);
                    // Bound whole, as list items, or (LIKE) with a trailing `\` doubled.
                    let bound = s.values.iter().any(|b| match b {
                        Value::Text(x) => x.contains(v) || v.contains(x.as_str()),
                        Value::Int(_) => false,
                    });
                    assert!(bound, "{v:?} not bound for {field} {op}: {:?}", s.values);
                }
            }
        }
    }
}

#[test]
fn error_texts_and_kinds() {
    let cases: Vec<(QueryError, &str, ErrorKind)> = vec![
        (
            err(&q(&["nope=1"])),
            "inventory class[class org.zstack.header.host.HostInventory] has no field[nope]",
            ErrorKind::Internal,
        ),
        (
            err(&q(&["cluster.nope=1"])),
            "inventory class[class org.zstack.header.cluster.ClusterInventory] has no field[nope]",
            ErrorKind::Internal,
        ),
        (
            err(&q(&["rack.name=1"])),
            "no expand query[rack] found on class org.zstack.header.host.HostInventory",
            ErrorKind::Internal,
        ),
        (
            err(&q(&["cluster=1"])),
            "inventory class[class org.zstack.header.host.HostInventory] has no field[cluster]",
            ErrorKind::Internal,
        ),
        (
            err(&q(&[" =1"])),
            "inventory class[class org.zstack.header.host.HostInventory] has no field[]",
            ErrorKind::Internal,
        ),
        (
            err(&Query {
                conditions: vec![Condition {
                    field: "name".into(),
                    op: Op::Eq,
                    value: None,
                }],
                ..Query::default()
            }),
            r#"'value' of query condition {"name":"name","op":"="} cannot be null"#,
            ErrorKind::InvalidArgument,
        ),
        (
            err(&q(&["cpuNum>four"])),
            "invalid value[four] for field[cpuNum]: expected a number, e.g. 42",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&q(&["enabled=yes"])),
            "invalid value[yes] for field[enabled]: expected true or false",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&q(&["cpuNum?=1,x"])),
            "invalid value[x] for field[cpuNum]: expected a number, e.g. 42",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&q(&["createDate~=2017%"])),
            "the operator[like] cannot be used on field[createDate] of type date",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&q(&["name=a\0b"])),
            "invalid value[a\0b] for field[name]: expected text without NUL characters",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&Query {
                limit: Some(-1),
                ..Query::default()
            }),
            "limit must not be negative, got -1",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&Query {
                start: Some(-5),
                ..Query::default()
            }),
            "start must not be negative, got -5",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&Query {
                filter_name: Some("nocolon".into()),
                ..Query::default()
            }),
            "filterName must be formatted as [filterType:condition(s)]",
            ErrorKind::InvalidArgument,
        ),
        (
            err(&Query {
                sort_by: Some("nope".into()),
                ..Query::default()
            }),
            "inventory class[class org.zstack.header.host.HostInventory] has no field[nope]",
            ErrorKind::Internal,
        ),
        (
            err(&Query {
                fields: Some(vec!["uuid".into(), "".into()]),
                ..Query::default()
            }),
            "inventory class[class org.zstack.header.host.HostInventory] has no field[]",
            ErrorKind::Internal,
        ),
        (
            err(&q(&["cluster.zone.cluster.zone.cluster.zone.name=x"])),
            "the field[cluster.zone.cluster.zone.cluster.zone.name] expands more than 5 levels",
            ErrorKind::InvalidArgument,
        ),
        (
            compile(&BROKEN, &CONFIG, &q(&["nowhere.uuid=1"]), Backend::Sqlite).unwrap_err(),
            "query catalogue error: expansion nowhere of GlobalConfig targets unknown resource Missing",
            ErrorKind::Internal,
        ),
        (
            compile(&BROKEN, &CONFIG, &q(&["__systemTag__=a"]), Backend::Sqlite).unwrap_err(),
            "inventory class[class org.zstack.core.config.GlobalConfigInventory] has no field[__systemTag__]",
            ErrorKind::Internal,
        ),
    ];
    for (e, text, kind) in cases {
        assert_eq!(e.to_string(), text);
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(e.is_invalid_argument(), kind == ErrorKind::InvalidArgument);
    }
    // The op and value checks come before name checks, as in ZStack's interceptor.
    let e = err(&Query {
        conditions: vec![
            parse_condition("nope=1").unwrap(),
            Condition {
                field: "name".into(),
                op: Op::Like,
                value: None,
            },
        ],
        ..Query::default()
    });
    assert!(matches!(e, QueryError::MissingValue { .. }), "{e}");
    // Five expansions are fine.
    compile(
        &CAT,
        &HOST,
        &q(&["cluster.zone.cluster.zone.cluster.name=x"]),
        Backend::Sqlite,
    )
    .unwrap();
}

#[test]
fn size_limits() {
    let many: Vec<String> = (0..=limits::MAX_CONDITIONS)
        .map(|i| format!("name!={i}"))
        .collect();
    let conds: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(matches!(
        err(&q(&conds)),
        QueryError::TooManyConditions { count: 65, max: 64 }
    ));
    // Identical conditions count once.
    let same = vec!["name=a"; 200];
    compile(&CAT, &HOST, &q(&same), Backend::Sqlite).unwrap();

    let long = "x".repeat(limits::MAX_VALUE_LEN + 1);
    let e = err(&Query {
        conditions: vec![Condition::new("name", Op::Eq, long)],
        ..Query::default()
    });
    assert!(matches!(e, QueryError::ValueTooLong { .. }) && e.is_invalid_argument());

    let list = vec!["a"; limits::MAX_LIST_ITEMS + 1].join(",");
    let e = err(&Query {
        conditions: vec![Condition::new("uuid", Op::In, list)],
        ..Query::default()
    });
    assert!(matches!(e, QueryError::TooManyValues { .. }), "{e}");

    // 20 lists of 1000 items: each within limits, too many bound values together.
    let list = vec!["a"; limits::MAX_LIST_ITEMS].join(",");
    let conditions = (0..20)
        .map(|i| Condition::new("uuid", Op::In, format!("{list},{i}")))
        .collect();
    let e = err(&Query {
        conditions,
        ..Query::default()
    });
    assert!(matches!(e, QueryError::TooManyValues { .. }), "{e}");

    // An empty list compiles (ZStack's `('')`).
    let (sql, values) = sqlite(&q(&["uuid?=,,,,,"]));
    assert!(sql.contains(r#""uuid" IN (?)"#), "{sql}");
    assert_eq!(values[0], t(""));
}
