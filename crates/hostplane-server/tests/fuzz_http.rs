//! Fuzzing the HTTP face in-process (proptest, bounded cases, part of `cargo test`): random
//! methods, paths, query strings, headers and bodies through the whole router and its guard
//! (the same stack `hostplane serve` runs, on a real SQLite store), on REST and RPC.
//!
//! Whatever comes in: no panic, no 500, no internal failure (an error with an error id, see
//! `Error::internal_logged`), an answer within 10 s.
//! A valid session is given only to read-only calls (GET, RPC queries), so the query language
//! runs end to end against the store while nothing tries to reach a host or a webhook.
//! The query language's own parser and compiler are fuzzed in `hostplane-query`
//! (`tests/integration/props.rs`).

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use hostplane_server::domain::api::{Kind, APIS};
use hostplane_server::http::routes::ROUTES;
use hostplane_server::server::{build, ServeConfig};

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: Router,
    session: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("hostplane-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir,
            database_url: None,
            admin_password: None,
            secret_key: None,
            metrics_token: None,
            shutdown_grace: std::time::Duration::from_secs(20),
            ssh_source_address: None,
        };
        let (router, session) = rt.block_on(async {
            let app = build(&cfg).await.expect("build the app");
            let router = hostplane_server::http::limits::guarded(
                app.clone(),
                hostplane_server::http::router(app),
            );
            let pw = hostplane_server::domain::identity::sha512_hex("password");
            let login = json!({"logInByAccount": {"accountName": "admin", "password": pw}});
            let req = Request::builder()
                .method(Method::PUT)
                .uri("/zstack/v1/accounts/login")
                .body(Body::from(login.to_string()))
                .unwrap();
            let resp = router.clone().oneshot(req).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap();
            let s = v["inventory"]["uuid"].as_str().unwrap().to_string();
            (router, s)
        });
        Fixture {
            rt,
            router,
            session,
        }
    })
}

/// Send one request; returns (status, body).
fn send(req: Request<Body>) -> (u16, Vec<u8>) {
    let f = fixture();
    f.rt.block_on(async {
        let resp = tokio::time::timeout(Duration::from_secs(10), f.router.clone().oneshot(req))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        let status = resp.status().as_u16();
        let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
            .await
            .expect("the whole body within 10 s")
            .unwrap()
            .to_bytes();
        (status, body.to_vec())
    })
}

/// The rule every answer must keep.
fn check_answer(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    prop_assert!(
        status < 500 || status == 503,
        "status {} for a fuzzed request: {}",
        status,
        text
    );
    if status == 503 {
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| TestCaseError::fail(format!("503 without a JSON error: {text}")))?;
        let code = v["error"]["code"].as_str().unwrap_or_default();
        prop_assert!(!code.is_empty(), "503 without an error code: {}", text);
        // SYS.1000 is ZStack's answer to an unknown query field; an internal failure (store,
        // panic) is the one that carries an error id.
        prop_assert!(
            v["error"]["opaque"].get("errorId").is_none(),
            "an internal failure: {}",
            text
        );
    }
    Ok(())
}

fn interesting_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "name=z",
            "name~=%z%",
            "uuid?=a,b",
            "cluster.zone.name=x",
            "__systemTag__=a",
            "cpuNum>=1",
            "status!=Connected",
            "name is null",
            "name not null",
            "true",
            "false",
            "-1",
            "99999999999999999999999",
            "1e400",
            "asc",
            "desc",
            "uuid,name",
            "\u{0}",
            "ü",
            "'; DROP TABLE zone; --",
            "http://127.0.0.1:1/x",
            "KVM",
        ])
        .prop_map(String::from),
        ".{0,24}",
    ]
}

fn param_name() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = APIS
        .iter()
        .flat_map(|a| a.params.iter().map(|p| p.name.to_string()))
        .collect();
    names.extend(
        [
            "q",
            "limit",
            "start",
            "count",
            "replyWithCount",
            "sortBy",
            "sortDirection",
            "fields",
            "groupBy",
            "filterName",
            "params",
            "systemTags",
            "userTags",
            "session",
            "conditions",
        ]
        .map(String::from),
    );
    names.sort();
    names.dedup();
    prop_oneof![4 => prop::sample::select(names), 1 => "[a-zA-Z.]{0,12}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        interesting_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((param_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "zones", "clusters", "hosts", "kvm", "actions", "accounts", "login", "sessions",
            "valid", "management-nodes", "ready", "global-configurations", "host",
            "ping.interval", "api-jobs", "hypervisor-types", "result", "", "..", "%2e%2e",
            "%00", "%ff", "a%20b", "%",
        ])
        .prop_map(String::from),
        1 => "[0-9a-f]{32}",
        1 => "[a-zA-Z0-9._~%-]{0,40}",
    ]
}

/// Mostly a real route with its variables filled in (so requests get past routing), else any
/// path; and mostly the route's own method.
fn path_and_method() -> impl Strategy<Value = (String, Method)> {
    let free = (
        prop::sample::select(vec![
            "/zstack/v1",
            "/v1",
            "/zstack/api",
            "/zstack",
            "",
            "/zstack/v1/api-jobs",
        ]),
        prop::collection::vec(segment(), 0..5),
        method(),
    )
        .prop_map(|(prefix, segs, m)| {
            let mut p = prefix.to_string();
            for s in segs {
                p.push('/');
                p.push_str(&s);
            }
            if p.is_empty() {
                p.push('/');
            }
            (p, m)
        });
    let routed = (
        0..ROUTES.len(),
        prop::sample::select(vec!["/zstack/v1", "/v1"]),
        prop::collection::vec(segment(), 3),
        prop::option::of(method()),
    )
        .prop_map(|(i, prefix, fill, m)| {
            let r = &ROUTES[i];
            let mut vars = fill.into_iter();
            let path: Vec<String> = r
                .path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        vars.next().unwrap_or_default()
                    } else {
                        seg.to_string()
                    }
                })
                .collect();
            (
                format!("{prefix}{}", path.join("/")),
                m.unwrap_or_else(|| r.method.clone()),
            )
        });
    prop_oneof![1 => free, 3 => routed]
}

fn query_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::collection::vec((param_name(), interesting_text()), 0..6).prop_map(|pairs| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                s.append_pair(&k, &v);
            }
            s.finish()
        }),
    )
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    /// The valid session (used only on read-only calls).
    Valid,
    Text(String),
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        Just(Auth::Valid),
        Just(Auth::Text("OAuth 0123456789abcdef0123456789abcdef".into())),
        "(OAuth|Bearer|ZStack|oauth)? ?[ -~]{0,40}".prop_map(Auth::Text),
    ]
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        json_value().prop_map(|v| Some(v.to_string().into_bytes())),
        (param_name(), json_value())
            .prop_map(|(k, v)| Some(json!({ k: v }).to_string().into_bytes())),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Some),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn rest_requests_never_fail_inside(
        (path, method) in path_and_method(),
        query in query_string(),
        auth in auth(),
        job in prop::option::of(prop_oneof!["[0-9a-f]{32}", "[ -~]{0,40}"]),
        hook in prop::option::of(interesting_text()),
        timeout in prop::option::of("[0-9-]{0,22}"),
        schema in any::<bool>(),
        body in body(),
    ) {
        let uri = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let mut b = Request::builder().method(method.clone()).uri(&uri);
        match &auth {
            Auth::None => {}
            // A valid session only where nothing can be written or contacted.
            Auth::Valid if method == Method::GET => {
                b = b.header("Authorization", format!("OAuth {}", fixture().session));
            }
            Auth::Valid => {
                b = b.header("Authorization", "OAuth 00000000000000000000000000000000");
            }
            Auth::Text(t) => b = b.header("Authorization", t.as_str()),
        }
        for (name, value) in [("X-Job-UUID", &job), ("X-Web-Hook", &hook), ("X-API-Timeout", &timeout)] {
            if let Some(v) = value {
                b = b.header(name, v.as_str());
            }
        }
        if schema {
            b = b.header("X-JSON-Schema", "true");
        }
        let req = b.body(Body::from(body.unwrap_or_default()));
        prop_assume!(req.is_ok(), "not a valid HTTP request");
        let (status, answer) = send(req.unwrap());
        check_answer(status, &answer)?;
    }

    #[test]
    fn rpc_messages_never_fail_inside(
        class_index in 0..APIS.len() + 1,
        fields in prop::collection::vec((param_name(), json_value()), 0..8),
        session in prop_oneof![Just(None), Just(Some(Value::Null)), json_value().prop_map(Some)],
        valid in any::<bool>(),
    ) {
        let (class, spec) = match APIS.get(class_index) {
            Some(a) => (a.msg_class.to_string(), Some(a)),
            None => ("org.zstack.header.NoSuchMsg".to_string(), None),
        };
        let mut msg: Map<String, Value> = fields.into_iter().collect();
        let read_only = spec.is_some_and(|a| a.query.is_some() && a.kind == Kind::Sync);
        match session {
            _ if valid && read_only => {
                msg.insert("session".into(), json!({"uuid": fixture().session}));
            }
            Some(s) => {
                msg.insert("session".into(), json!({"uuid": s}));
            }
            None => {
                msg.remove("session");
            }
        }
        // Only queries may carry the valid session (an arbitrary field named `session` too).
        if !read_only {
            if let Some(s) = msg.get("session") {
                prop_assume!(!s.to_string().contains(&fixture().session));
            }
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri("/zstack/api")
            .body(Body::from(json!({ class: msg }).to_string()))
            .unwrap();
        let (status, answer) = send(req);
        check_answer(status, &answer)?;
        if status == 200 {
            let v: Value = serde_json::from_slice(&answer).unwrap();
            if let Some(r) = v["result"].as_str() {
                prop_assert!(!r.contains("errorId"), "an internal failure: {}", r);
            }
            // An async message answered Processing: its result poll answers too.
            if v["state"] == "Processing" {
                let uuid = v["uuid"].as_str().unwrap();
                let poll = Request::builder()
                    .uri(format!("/zstack/api/result/{uuid}"))
                    .body(Body::empty())
                    .unwrap();
                let (status, answer) = send(poll);
                check_answer(status, &answer)?;
            }
        }
    }
}
