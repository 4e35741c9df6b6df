//! The test harness: a server on either store, and a small ZStack REST client.

use std::time::{Duration, Instant};

use hostplane_testkit::pg::TestDb;
use hostplane_testkit::server::{Server, ServerOptions};
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Generate `sqlite::name` and `postgres::name` tests from `fn name(db: Db)`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::integration::common::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::integration::common::Db::Postgres) } )*
        }
    };
}

pub fn sha512(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha512::digest(s.as_bytes()))
}

/// A running server and a logged-in client.
pub struct Env {
    pub api: Api,
    pub server: Server,
    pub db: Option<TestDb>,
}

impl Env {
    pub fn start(db: Db) -> Env {
        Self::start_with(db, vec![])
    }

    pub fn start_with(db: Db, env: Vec<(String, String)>) -> Env {
        let pg = (db == Db::Postgres).then(TestDb::create);
        let opts = ServerOptions {
            database_url: pg.as_ref().map(|d| d.url.clone()),
            env,
        };
        let server = Server::start(std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")), opts);
        let mut api = Api::new(&server.base);
        api.login("admin", "password");
        Env {
            api,
            server,
            db: pg,
        }
    }
}

pub struct Api {
    pub base: String,
    pub session: Option<String>,
    pub http: Client,
}

/// A response: status and body (JSON when it parses, else the text as a JSON string).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            session: None,
            http: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    /// A client whose connections come from `source` (a 127.x address: the server sees each
    /// as another caller).
    pub fn from_address(base: &str, source: &str) -> Api {
        let mut api = Api::new(base);
        api.http = Client::builder()
            .timeout(Duration::from_secs(60))
            .local_address(source.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        api
    }

    pub fn login(&mut self, name: &str, password: &str) -> Resp {
        let r = self.send(
            Method::PUT,
            "/zstack/v1/accounts/login",
            Some(json!({"logInByAccount": {"accountName": name, "password": sha512(password)}})),
            &[],
        );
        if r.status == 200 {
            self.session = r.body["inventory"]["uuid"].as_str().map(str::to_string);
        }
        r
    }

    /// Send a request; `path` is the full path (e.g. `/zstack/v1/zones`).
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(s) = &self.session {
            req = req.header("Authorization", format!("OAuth {s}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json;charset=UTF-8")
                .body(b.to_string());
        }
        let resp = req.send().expect("HTTP request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        Resp { status, body, text }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, &format!("/zstack/v1{path}"), None, &[])
    }

    /// Poll a job location until it is no longer 202.
    pub fn poll(&self, location: &str) -> Resp {
        let path = location
            .split_once("://")
            .map(|(_, r)| &r[r.find('/').unwrap()..])
            .unwrap_or(location);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.send(Method::GET, path, None, &[]);
            if r.status != 202 {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "job {location} still running after 120 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An async API: expect 202 + location, then poll to the end.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let r = self.send(method, &format!("/zstack/v1{path}"), body, &[]);
        assert_eq!(
            r.status, 202,
            "expected 202 for {path}, got {} {}",
            r.status, r.text
        );
        assert!(r.body["apiTimeout"].as_u64().is_some());
        self.poll(r.body["location"].as_str().expect("location"))
    }

    pub fn post(&self, path: &str, params: Value) -> Resp {
        self.call(Method::POST, path, Some(json!({ "params": params })))
    }

    pub fn action(&self, path: &str, action: &str, params: Value) -> Resp {
        self.call(Method::PUT, path, Some(json!({ action: params })))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None)
    }

    /// A query: expect 200 and return the body.
    pub fn query(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "query {path}: {} {}", r.status, r.text);
        r.body
    }

    pub fn create_zone(&self, name: &str) -> Value {
        let r = self.post("/zones", json!({ "name": name }));
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["inventory"].clone()
    }

    pub fn create_cluster(&self, zone_uuid: &str, name: &str) -> Value {
        let r = self.post(
            "/clusters",
            json!({ "name": name, "zoneUuid": zone_uuid, "hypervisorType": "KVM" }),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["inventory"].clone()
    }

    pub fn set_config(&self, category: &str, name: &str, value: &str) -> Resp {
        self.action(
            &format!("/global-configurations/{category}/{name}/actions"),
            "updateGlobalConfig",
            json!({ "value": value }),
        )
    }
}

/// Assert a ZStack error body.
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["error"]["code"], code, "{}", r.text);
    assert!(
        r.body["error"]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        r.text
    );
}
