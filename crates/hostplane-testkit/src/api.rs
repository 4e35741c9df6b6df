//! A blocking client of hostplane's REST API (`/zstack/v1`), as the suites call it: log in,
//! send a request and get its status and body, run an async API to its end (202, then poll the
//! job's location), query with conditions, and assert a ZStack error. Plain HTTP and JSON, so a
//! test sees exactly what a ZStack client sees.

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;

/// Lower-case hex SHA-512: what ZStack's clients send as a password.
pub fn sha512(s: &str) -> String {
    hex::encode(sha2::Sha512::digest(s.as_bytes()))
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

impl Resp {
    /// The body of a call that must have succeeded (2xx, no `error`).
    pub fn ok(self) -> Value {
        assert!(
            (200..300).contains(&self.status) && self.body.get("error").is_none(),
            "expected success, got {} {}",
            self.status,
            self.text
        );
        self.body
    }
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

    /// A client logged in as admin with ZStack's default password.
    pub fn admin(base: &str) -> Api {
        let mut api = Api::new(base);
        let r = api.login("admin", "password");
        assert_eq!(r.status, 200, "log in: {}", r.text);
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

    /// Start an async API: expect 202 and return the job's location.
    pub fn submit(&self, method: Method, path: &str, body: Option<Value>) -> String {
        let r = self.send(method, &format!("/zstack/v1{path}"), body, &[]);
        assert_eq!(
            r.status, 202,
            "expected 202 for {path}, got {} {}",
            r.status, r.text
        );
        assert!(r.body["apiTimeout"].as_u64().is_some());
        r.body["location"].as_str().expect("location").to_string()
    }

    /// An async API: expect 202 + location, then poll to the end.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.poll(&self.submit(method, path, body))
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

    /// `/zstack/v1/{resource}` with these query conditions (`name=x`, `status!=Connected`...),
    /// up to 1,000 inventories.
    pub fn query_where(&self, resource: &str, conditions: &[&str]) -> Vec<Value> {
        let b = self.query(&with_conditions(
            &format!("/{resource}?limit=1000"),
            conditions,
        ));
        b["inventories"].as_array().cloned().unwrap_or_default()
    }

    /// How many `resource` match these query conditions.
    pub fn count_where(&self, resource: &str, conditions: &[&str]) -> u64 {
        let b = self.query(&with_conditions(
            &format!("/{resource}?count=true"),
            conditions,
        ));
        b["total"].as_u64().expect("total")
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

/// `path` with one `q=` parameter per condition, encoded.
fn with_conditions(path: &str, conditions: &[&str]) -> String {
    let mut path = path.to_string();
    for c in conditions {
        path.push_str("&q=");
        path.extend(form_urlencoded::byte_serialize(c.as_bytes()));
    }
    path
}
