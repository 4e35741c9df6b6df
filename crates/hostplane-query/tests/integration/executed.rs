//! The compiled statements, run: a small fixture (zones, clusters, hosts, tags) with hostile
//! names, queried through every operator, type, expansion, tag form and option, checking the
//! keys returned and the COUNT. On SQLite always (in memory, `case_sensitive_like=ON` as the
//! server sets it); on PostgreSQL when `HOSTPLANE_TEST_PG_URL` is set, in a schema of its
//! own that is dropped afterwards. With `CI` set, a missing `HOSTPLANE_TEST_PG_URL` fails.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Local, TimeZone};
use hostplane_query::{
    compile, parse_condition, parse_fields, parse_sort, Backend, Query, Resource, Statement, Value,
};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use super::catalogue::{CAT, HOST, ZONE};

/// 2017-01-06T03:51:16Z in epoch milliseconds.
const T0: i64 = 1_483_674_676_000;

enum Db {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// A fixture column value.
#[derive(Clone, Copy)]
enum Arg<'a> {
    T(Option<&'a str>),
    I(Option<i64>),
}

use Arg::{I, T};

impl Db {
    fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    async fn script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Db::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
    }

    /// Runs a fixture statement written with `$N` placeholders (SQLite accepts them too).
    async fn insert(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(c) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = match *a {
                        T(v) => q.bind(v.map(str::to_owned)),
                        I(v) => q.bind(v),
                    };
                }
                q.execute(c).await.map(drop)
            }
            Db::Pg(c) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = match *a {
                        T(v) => q.bind(v.map(str::to_owned)),
                        I(v) => q.bind(v),
                    };
                }
                q.execute(c).await.map(drop)
            }
        }
    }

    /// Runs a compiled SELECT and returns column `key` of every row, in order.
    async fn keys(&mut self, stmt: &Statement, key: usize) -> Result<Vec<String>, sqlx::Error> {
        match self {
            Db::Sqlite(c) => {
                let mut q = sqlx::query(&stmt.sql);
                for v in &stmt.values {
                    q = match v {
                        Value::Text(s) => q.bind(s.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                let rows = q.fetch_all(c).await?;
                rows.iter().map(|r| r.try_get::<String, _>(key)).collect()
            }
            Db::Pg(c) => {
                let mut q = sqlx::query(&stmt.sql);
                for v in &stmt.values {
                    q = match v {
                        Value::Text(s) => q.bind(s.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                let rows = q.fetch_all(c).await?;
                rows.iter().map(|r| r.try_get::<String, _>(key)).collect()
            }
        }
    }

    /// Runs a compiled COUNT.
    async fn count(&mut self, stmt: &Statement) -> Result<i64, sqlx::Error> {
        match self {
            Db::Sqlite(c) => {
                let mut q = sqlx::query(&stmt.sql);
                for v in &stmt.values {
                    q = match v {
                        Value::Text(s) => q.bind(s.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                q.fetch_one(c).await?.try_get::<i64, _>(0)
            }
            Db::Pg(c) => {
                let mut q = sqlx::query(&stmt.sql);
                for v in &stmt.values {
                    q = match v {
                        Value::Text(s) => q.bind(s.clone()),
                        Value::Int(i) => q.bind(*i),
                    };
                }
                q.fetch_one(c).await?.try_get::<i64, _>(0)
            }
        }
    }
}

/// The schema the server will have, in miniature. On PostgreSQL the sorted text column uses
/// the "C" collation, the byte order SQLite's BINARY uses.
fn schema(backend: Backend) -> String {
    let c = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => r#" COLLATE "C""#,
    };
    format!(
        "CREATE TABLE zone (uuid TEXT PRIMARY KEY, name TEXT{c} NOT NULL, description TEXT, create_date BIGINT NOT NULL);
         CREATE TABLE cluster (uuid TEXT PRIMARY KEY, name TEXT{c} NOT NULL, zone_uuid TEXT, hypervisor_type TEXT);
         CREATE TABLE host (uuid TEXT PRIMARY KEY, name TEXT{c} NOT NULL, zone_uuid TEXT, cluster_uuid TEXT,
             hypervisor_type TEXT, cpu_num BIGINT, enabled INTEGER, create_date BIGINT NOT NULL,
             username TEXT, ssh_port BIGINT);
         CREATE TABLE system_tag (uuid TEXT PRIMARY KEY, resource_uuid TEXT NOT NULL, resource_type TEXT NOT NULL,
             tag TEXT NOT NULL, inherent INTEGER NOT NULL DEFAULT 0, create_date BIGINT, last_op_date BIGINT);
         CREATE TABLE user_tag (uuid TEXT PRIMARY KEY, resource_uuid TEXT NOT NULL, resource_type TEXT NOT NULL,
             tag TEXT NOT NULL, create_date BIGINT, last_op_date BIGINT);"
    )
}

const Z2_NAME: &str = "Zone'; DROP TABLE host; --";
const H4_NAME: &str = "O'Brien \"quoted\" \\ back";
const H5_NAME: &str = "ünïcødé 名前 🚀";
const H6_NAME: &str = "'; DROP TABLE host; --";

async fn load_fixture(db: &mut Db) -> Result<(), sqlx::Error> {
    db.script(&schema(db.backend())).await?;
    for (uuid, name, desc) in [("z1", "zone-1", None), ("z2", Z2_NAME, Some("d"))] {
        db.insert(
            "INSERT INTO zone VALUES ($1, $2, $3, $4)",
            &[T(Some(uuid)), T(Some(name)), T(desc), I(Some(T0))],
        )
        .await?;
    }
    for (uuid, name, zone, hv) in [
        ("c1", "cluster-1", "z1", "KVM"),
        ("c2", "100%_real\\", "z2", "KVM"),
        ("c3", "sim", "z1", "Simulator"),
    ] {
        db.insert(
            "INSERT INTO cluster VALUES ($1, $2, $3, $4)",
            &[T(Some(uuid)), T(Some(name)), T(Some(zone)), T(Some(hv))],
        )
        .await?;
    }
    type HostRow<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<i64>,
        Option<i64>,
        i64,
        Option<&'a str>,
        Option<i64>,
    );
    let hosts: [HostRow; 9] = [
        (
            "h1",
            "web-1",
            "z1",
            "c1",
            Some(4),
            Some(1),
            T0,
            Some("root"),
            Some(22),
        ),
        (
            "h2",
            "web_2",
            "z1",
            "c1",
            Some(8),
            Some(0),
            T0 + 500,
            Some("admin"),
            Some(2222),
        ),
        (
            "h3",
            "100% sure",
            "z2",
            "c2",
            Some(16),
            Some(1),
            T0 + 1000,
            Some("root"),
            Some(22),
        ),
        (
            "h4",
            H4_NAME,
            "z2",
            "c2",
            None,
            None,
            T0 + 86_400_000,
            None,
            None,
        ),
        (
            "h5",
            H5_NAME,
            "z2",
            "c2",
            Some(2),
            Some(1),
            T0 + 2000,
            Some("root"),
            Some(22),
        ),
        (
            "h6",
            H6_NAME,
            "z1",
            "c3",
            Some(2),
            Some(0),
            T0 + 3000,
            None,
            None,
        ),
        (
            "h7",
            "WEB-1",
            "z1",
            "c3",
            Some(4),
            Some(1),
            T0 + 4000,
            None,
            None,
        ),
        (
            "h8",
            "",
            "z1",
            "c1",
            Some(1),
            Some(1),
            T0 + 5000,
            Some("root"),
            Some(22),
        ),
        (
            "h9",
            "trailing\\",
            "z1",
            "c1",
            Some(1),
            Some(1),
            T0 + 6000,
            Some("root"),
            Some(22),
        ),
    ];
    for (uuid, name, zone, cluster, cpu, enabled, date, user, port) in hosts {
        let hv = if cluster == "c3" { "Simulator" } else { "KVM" };
        db.insert(
            "INSERT INTO host VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                T(Some(uuid)),
                T(Some(name)),
                T(Some(zone)),
                T(Some(cluster)),
                T(Some(hv)),
                I(cpu),
                I(enabled),
                I(Some(date)),
                T(user),
                I(port),
            ],
        )
        .await?;
    }
    for (uuid, resource, ty, tag) in [
        ("t1", "h1", "HostVO", "capability::liveSnapshot"),
        ("t2", "h2", "HostVO", "os::distribution::centos"),
        ("t3", "h3", "HostVO", "capability::liveSnapshot"),
        ("t4", "h3", "HostVO", "100%"),
        ("t5", "c1", "ClusterVO", "cluster-tag"),
        // Same uuid space, other resource type: must not count as a host tag.
        ("t6", "h4", "ZoneVO", "capability::liveSnapshot"),
    ] {
        db.insert(
            "INSERT INTO system_tag (uuid, resource_uuid, resource_type, tag) VALUES ($1, $2, $3, $4)",
            &[T(Some(uuid)), T(Some(resource)), T(Some(ty)), T(Some(tag))],
        )
        .await?;
    }
    db.insert(
        "INSERT INTO user_tag (uuid, resource_uuid, resource_type, tag) VALUES ($1, $2, $3, $4)",
        &[
            T(Some("u1")),
            T(Some("h1")),
            T(Some("HostVO")),
            T(Some("prod")),
        ],
    )
    .await
}

struct Case {
    resource: &'static Resource,
    query: Query,
    expect: Vec<&'static str>,
    ordered: bool,
    /// The COUNT, when it differs from the number of rows (paging).
    total: Option<i64>,
}

const ALL_HOSTS: [&str; 9] = ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"];

fn except(excluded: &[&str]) -> Vec<&'static str> {
    ALL_HOSTS
        .into_iter()
        .filter(|h| !excluded.contains(h))
        .collect()
}

fn hosts(conds: &[&str], expect: Vec<&'static str>) -> Case {
    Case {
        resource: &HOST,
        query: Query {
            conditions: conds
                .iter()
                .map(|c| parse_condition(c).unwrap_or_else(|e| panic!("{c}: {e}")))
                .collect(),
            ..Query::default()
        },
        expect,
        ordered: false,
        total: None,
    }
}

fn sorted(sort: &str, limit: Option<i64>, start: Option<i64>, expect: Vec<&'static str>) -> Case {
    let (field, desc) = parse_sort(sort);
    let mut c = hosts(&[], expect);
    c.query.sort_by = Some(field);
    c.query.sort_desc = desc;
    c.query.limit = limit;
    c.query.start = start;
    c.ordered = true;
    c
}

fn cases() -> Vec<Case> {
    let gson_t0 = Local
        .timestamp_millis_opt(T0)
        .unwrap()
        .format("%b %-d, %Y %-I:%M:%S %p")
        .to_string();
    let mut cases = vec![
        // Text equality: case-sensitive, exact, hostile values literal.
        hosts(&["name=web-1"], vec!["h1"]),
        hosts(&["name=WEB-1"], vec!["h7"]),
        hosts(&[&format!("name={H4_NAME}")], vec!["h4"]),
        hosts(&[&format!("name={H5_NAME}")], vec!["h5"]),
        hosts(&[&format!("name={H6_NAME}")], vec!["h6"]),
        hosts(&["name="], vec!["h8"]),
        hosts(&["name=web-1 "], vec![]),
        hosts(&["name!=web-1"], except(&["h1"])),
        hosts(&["name>web"], vec!["h1", "h2", "h5"]),
        hosts(&["name<=100% sure"], vec!["h3", "h6", "h8"]),
        // in / not in: split on ','; an empty list is ('').
        hosts(&["uuid?=h1,h3,nope"], vec!["h1", "h3"]),
        hosts(&["uuid!?=h1,h3"], except(&["h1", "h3"])),
        hosts(&["uuid?=,,,,,"], vec![]),
        hosts(&["name?=,,,,,"], vec!["h8"]),
        hosts(&[&format!("name?={H6_NAME},web-1")], vec!["h1", "h6"]),
        // like: % and _ are wildcards, \ escapes, case-sensitive, literal otherwise.
        hosts(&["name~=web%"], vec!["h1", "h2"]),
        hosts(&["name~=WEB%"], vec!["h7"]),
        hosts(&["name~=web\\_%"], vec!["h2"]),
        hosts(&["name~=web_2"], vec!["h2"]),
        hosts(&["name~=100\\%%"], vec!["h3"]),
        hosts(&["name~=%\\\\ back"], vec!["h4"]),
        hosts(&["name~=%O'Brien \"quoted\"%"], vec!["h4"]),
        hosts(&["name~=%名前%"], vec!["h5"]),
        hosts(&["name~=trailing\\"], vec!["h9"]),
        hosts(&["name~='; DROP%"], vec!["h6"]),
        hosts(&["name!~=%e%"], vec!["h5", "h6", "h7", "h8", "h9"]),
        hosts(&["name~="], vec!["h8"]),
        // Null tests.
        hosts(&["cpuNum is null"], vec!["h4"]),
        hosts(&["cpuNum not null"], except(&["h4"])),
        // Numbers.
        hosts(&["cpuNum>4"], vec!["h2", "h3"]),
        hosts(&["cpuNum>=4"], vec!["h1", "h2", "h3", "h7"]),
        hosts(&["cpuNum< 4"], vec!["h5", "h6", "h8", "h9"]),
        hosts(&["cpuNum=2.5"], vec![]),
        hosts(&["cpuNum!=2.5"], except(&["h4"])),
        hosts(&["cpuNum>2.5"], vec!["h1", "h2", "h3", "h7"]),
        hosts(&["cpuNum<2.5"], vec!["h5", "h6", "h8", "h9"]),
        hosts(
            &["cpuNum<=1e1"],
            vec!["h1", "h2", "h5", "h6", "h7", "h8", "h9"],
        ),
        hosts(&["cpuNum?=1,2.5,16"], vec!["h3", "h8", "h9"]),
        hosts(&["cpuNum!?=4,8,,"], vec!["h3", "h5", "h6", "h8", "h9"]),
        hosts(&["cpuNum>99999999999999999999"], vec![]),
        hosts(&["cpuNum<99999999999999999999"], except(&["h4"])),
        // Booleans.
        hosts(&["enabled=true"], vec!["h1", "h3", "h5", "h7", "h8", "h9"]),
        hosts(&["enabled=FALSE"], vec!["h2", "h6"]),
        hosts(&["enabled!=True"], vec!["h2", "h6"]),
        // Dates: a date to the second is that whole second.
        hosts(&["createDate=2017-01-06T03:51:16Z"], vec!["h1", "h2"]),
        hosts(&[&format!("createDate={gson_t0}")], vec!["h1", "h2"]),
        hosts(&["createDate=1483674676500"], vec!["h2"]),
        hosts(&["createDate=2017-01-06T03:51:16.500Z"], vec!["h2"]),
        hosts(&["createDate>2017-01-06T03:51:16Z"], except(&["h1", "h2"])),
        hosts(&["createDate>=2017-01-06T03:51:16Z"], ALL_HOSTS.to_vec()),
        hosts(&["createDate<2017-01-06T03:51:17Z"], vec!["h1", "h2"]),
        hosts(&["createDate<=2017-01-06T03:51:16Z"], vec!["h1", "h2"]),
        hosts(&["createDate!=2017-01-06T03:51:16Z"], except(&["h1", "h2"])),
        hosts(
            &["createDate?=2017-01-06T03:51:16Z,1483674677000"],
            vec!["h1", "h2", "h3"],
        ),
        hosts(
            &["createDate!?=2017-01-06T03:51:16Z,1483674677000"],
            except(&["h1", "h2", "h3"]),
        ),
        // A bare day is local midnight (these hold in every time zone).
        hosts(&["createDate<2017-01-08"], ALL_HOSTS.to_vec()),
        hosts(&["createDate>=2017-01-08"], vec![]),
        // Expansions, chains, hostile values through them.
        hosts(&["cluster.name=sim"], vec!["h6", "h7"]),
        hosts(&["cluster.name~=100\\%\\_real\\\\"], vec!["h3", "h4", "h5"]),
        hosts(&[&format!("zone.name={Z2_NAME}")], vec!["h3", "h4", "h5"]),
        hosts(
            &["cluster.zone.name=zone-1"],
            vec!["h1", "h2", "h6", "h7", "h8", "h9"],
        ),
        hosts(&["cluster.zone.name!=zone-1"], vec!["h3", "h4", "h5"]),
        hosts(
            &["cluster.hypervisorType=Simulator", "cpuNum>2"],
            vec!["h7"],
        ),
        // Tags.
        hosts(
            &["__systemTag__=capability::liveSnapshot"],
            vec!["h1", "h3"],
        ),
        hosts(
            &["__systemTag__!=capability::liveSnapshot"],
            except(&["h1", "h3"]),
        ),
        hosts(&["__systemTag__~=os::%"], vec!["h2"]),
        hosts(&["__systemTag__~=100\\%"], vec!["h3"]),
        hosts(&["__systemTag__!~=%"], except(&["h1", "h2", "h3"])),
        hosts(&["__systemTag__?=100%,x"], vec!["h3"]),
        hosts(
            &["__systemTag__!?=capability::liveSnapshot,os::distribution::centos"],
            except(&["h1", "h2", "h3"]),
        ),
        hosts(&["__systemTag__ not null"], vec!["h1", "h2", "h3"]),
        hosts(&["__systemTag__ is null"], except(&["h1", "h2", "h3"])),
        hosts(&["__userTag__=prod"], vec!["h1"]),
        hosts(&["__userTag__!=prod", "cpuNum>=8"], vec!["h2", "h3"]),
        hosts(
            &["cluster.__systemTag__=cluster-tag"],
            vec!["h1", "h2", "h8", "h9"],
        ),
        // The type switch.
        hosts(&["hypervisorType=KVM", "sshPort=2222"], vec!["h2"]),
        hosts(
            &["hypervisorType=KVM", "username=root"],
            vec!["h1", "h3", "h5", "h8", "h9"],
        ),
        // ANDed conditions; duplicates count once.
        hosts(&["name~=web%", "cpuNum>4"], vec!["h2"]),
        hosts(&["name~=web%", "name~=web%"], vec!["h1", "h2"]),
        hosts(&[], ALL_HOSTS.to_vec()),
        // Sorting: byte order; NULLs first ascending, last descending; key as tiebreak.
        sorted(
            "+name",
            None,
            None,
            vec!["h8", "h6", "h3", "h4", "h7", "h9", "h1", "h2", "h5"],
        ),
        sorted(
            "-cpuNum",
            None,
            None,
            vec!["h3", "h2", "h1", "h7", "h5", "h6", "h8", "h9", "h4"],
        ),
        sorted(
            " cpuNum",
            None,
            None,
            vec!["h4", "h8", "h9", "h5", "h6", "h1", "h7", "h2", "h3"],
        ),
        sorted("name", Some(3), Some(2), vec!["h3", "h4", "h7"]),
        sorted("name", Some(0), None, vec![]),
        sorted("-name", Some(100), Some(8), vec!["h8"]),
    ];
    for c in cases.iter_mut().filter(|c| c.query.limit.is_some()) {
        c.total = Some(9);
    }
    // Without sort, rows come in key order.
    let mut c = hosts(&["cpuNum>0"], except(&["h4"]));
    c.ordered = true;
    c.query.limit = Some(4);
    c.expect.truncate(4);
    c.total = Some(8);
    cases.push(c);
    // Projection: the key column is still found by position.
    let mut c = hosts(&["name~=web%"], vec!["h1", "h2"]);
    c.query.fields = Some(parse_fields("name, uuid"));
    cases.push(c);
    // Another resource, expanding the other way.
    for (cond, expect) in [
        ("cluster.name=sim", vec!["z1"]),
        ("host.name=web-1", vec!["z1"]),
        ("host.cpuNum>10", vec!["z2"]),
        ("host.cluster.__systemTag__=cluster-tag", vec!["z1"]),
        ("description is null", vec!["z1"]),
    ] {
        let mut c = hosts(&[cond], expect);
        c.resource = &ZONE;
        cases.push(c);
    }
    cases
}

/// Runs every case; returns one message per failure.
async fn run_cases(db: &mut Db) -> Vec<String> {
    let backend = db.backend();
    let mut failures = Vec::new();
    if let Err(e) = load_fixture(db).await {
        return vec![format!("{backend:?}: loading the fixture failed: {e}")];
    }
    for case in cases() {
        let label = format!("{backend:?} {:?}", case.query);
        let mut query = case.query.clone();
        query.reply_with_count = true;
        let compiled = match compile(&CAT, case.resource, &query, backend) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{label}: compile: {e}"));
                continue;
            }
        };
        let key = compiled
            .fields
            .iter()
            .position(|f| f.column == case.resource.key)
            .expect("the key is selected");
        let (Some(select), Some(count)) = (&compiled.select, &compiled.count) else {
            failures.push(format!("{label}: missing statement"));
            continue;
        };
        match db.keys(select, key).await {
            Ok(mut got) => {
                let mut want: Vec<String> = case.expect.iter().map(|s| s.to_string()).collect();
                if !case.ordered {
                    got.sort();
                    want.sort();
                }
                if got != want {
                    failures.push(format!(
                        "{label}: rows {got:?}, want {want:?}; {}",
                        select.sql
                    ));
                }
            }
            Err(e) => failures.push(format!("{label}: select failed: {e}; {}", select.sql)),
        }
        let want_total = case.total.unwrap_or(case.expect.len() as i64);
        match db.count(count).await {
            Ok(n) if n == want_total => {}
            Ok(n) => failures.push(format!("{label}: count {n}, want {want_total}")),
            Err(e) => failures.push(format!("{label}: count failed: {e}; {}", count.sql)),
        }
    }
    // count=true alone.
    let query = Query {
        conditions: vec![parse_condition("name~=web%").unwrap()],
        count: true,
        ..Query::default()
    };
    match compile(&CAT, &HOST, &query, backend) {
        Ok(c) if c.select.is_none() => match db.count(c.count.as_ref().unwrap()).await {
            Ok(2) => {}
            other => failures.push(format!("{backend:?} count=true: {other:?}")),
        },
        other => failures.push(format!("{backend:?} count=true: {other:?}")),
    }
    // The hostile values dropped nothing.
    let all = compile(
        &CAT,
        &HOST,
        &Query {
            count: true,
            ..Query::default()
        },
        backend,
    )
    .unwrap();
    match db.count(all.count.as_ref().unwrap()).await {
        Ok(9) => {}
        other => failures.push(format!(
            "{backend:?}: host table after the cases: {other:?}"
        )),
    }
    failures
}

#[tokio::test]
async fn sqlite() {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")
        .unwrap()
        .pragma("case_sensitive_like", "ON");
    let conn = SqliteConnection::connect_with(&options).await.unwrap();
    let mut db = Db::Sqlite(conn);
    let failures = run_cases(&mut db).await;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn postgres() {
    let Ok(url) = std::env::var("HOSTPLANE_TEST_PG_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but HOSTPLANE_TEST_PG_URL is not: the PostgreSQL tests must run in CI"
        );
        eprintln!("HOSTPLANE_TEST_PG_URL is not set: skipping the PostgreSQL tests");
        return;
    };
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("hq_test_{}_{nanos}", std::process::id());
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA {schema}; SET search_path TO {schema}"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let mut db = Db::Pg(conn);
    let failures = run_cases(&mut db).await;
    let Db::Pg(mut conn) = db else { unreachable!() };
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
