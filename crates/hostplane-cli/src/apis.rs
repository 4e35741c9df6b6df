//! Which REST call an API name is: method, path and where its parameters go.
//!
//! Derived from the server's own tables, [`hostplane_server::domain::api::APIS`] (names, parameters,
//! sync or async, session or not) and [`hostplane_server::http::routes::ROUTES`] (method + path), so
//! the CLI knows exactly the APIs the server serves. This file must never list APIs or paths
//! itself. The body shape follows ZStack's REST rules: POST sends `{"params": {...}}`, PUT
//! sends `{"<actionName>": {...}}`, GET and DELETE send the query string; `{uuid}`-style path
//! variables are filled from the parameters of the same name.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::Method;
use serde_json::{Map, Value};

use super::args::QueryArgs;
use super::client::Request;
use hostplane_server::domain::api::{ApiSpec, Kind, APIS};
use hostplane_server::http::routes::{action_name, ROUTES};

/// One API as a REST call.
#[derive(Debug, Clone, Copy)]
pub struct RestApi {
    pub spec: &'static ApiSpec,
    pub method: &'static Method,
    /// The path template without `/v1`, e.g. `/hosts/{uuid}/actions`.
    pub path: &'static str,
}

/// Every API the server serves, in the catalogue's order.
pub fn all() -> impl Iterator<Item = RestApi> {
    APIS.iter().filter_map(route_of)
}

/// An API by name: exact, else ignoring case (`queryhost` finds `QueryHost`).
pub fn find(name: &str) -> Option<RestApi> {
    all()
        .find(|a| a.spec.name == name)
        .or_else(|| all().find(|a| a.spec.name.eq_ignore_ascii_case(name)))
}

/// Names close to `name` (containing it, or a few typos away), for "did you mean".
pub fn suggestions(name: &str) -> Vec<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower.len() < 3 {
        return Vec::new();
    }
    all()
        .map(|a| a.spec.name)
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            n.contains(&lower) || edit_distance(&n, &lower) <= 2
        })
        .collect()
}

/// Edit distance, counting a swap of two neighbours as one edit (optimal string alignment):
/// `nmae` is one edit from `name`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The route of an API; a query has two (`/hosts` and `/hosts/{uuid}`): the one without
/// variables is taken, so conditions apply.
fn route_of(spec: &'static ApiSpec) -> Option<RestApi> {
    ROUTES
        .iter()
        .filter(|r| r.api == spec.name)
        .min_by_key(|r| path_vars(r.path).len())
        .map(|r| RestApi {
            spec,
            method: &r.method,
            path: r.path,
        })
}

/// The `{var}` names of a path template.
pub fn path_vars(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// What a path segment must escape.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

impl RestApi {
    pub fn is_query(&self) -> bool {
        self.spec.query.is_some()
    }

    pub fn is_async(&self) -> bool {
        self.spec.kind == Kind::Async
    }

    /// A query call.
    pub fn query_request(&self, q: &QueryArgs) -> Request {
        Request {
            api: self.spec.name,
            method: self.method.clone(),
            path: self.path.to_string(),
            query: q.to_pairs(),
            body: None,
            needs_session: self.spec.needs_session,
        }
    }

    /// A call with parameters. Path variables are taken out of `params`; a missing one is
    /// an error naming it.
    pub fn request(&self, mut params: Map<String, Value>) -> Result<Request, String> {
        let mut path = String::new();
        for seg in self.path.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => {
                    let value = match params.shift_remove(var) {
                        Some(Value::String(s)) if !s.is_empty() => s,
                        Some(Value::Number(n)) => n.to_string(),
                        _ => return Err(format!("{} needs {var}=...", self.spec.name)),
                    };
                    path.extend(utf8_percent_encode(&value, SEGMENT));
                }
                None => path.push_str(seg),
            }
        }
        let (query, body) = if *self.method == Method::POST {
            (vec![], Some(wrap("params", params)))
        } else if *self.method == Method::PUT {
            (vec![], Some(wrap(&action_name(self.spec.name), params)))
        } else {
            (query_string(params), None)
        };
        Ok(Request {
            api: self.spec.name,
            method: self.method.clone(),
            path,
            query,
            body,
            needs_session: self.spec.needs_session,
        })
    }
}

fn wrap(key: &str, params: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), Value::Object(params));
    Value::Object(m)
}

/// GET/DELETE parameters: lists repeat their key, maps become `field.key=value`.
fn query_string(params: Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in params {
        match v {
            Value::Array(items) => {
                out.extend(items.into_iter().map(|i| (k.clone(), scalar(i))));
            }
            Value::Object(m) => {
                out.extend(
                    m.into_iter()
                        .map(|(sk, sv)| (format!("{k}.{sk}"), scalar(sv))),
                );
            }
            other => out.push((k, scalar(other))),
        }
    }
    out
}

fn scalar(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_api_has_a_route() {
        assert_eq!(all().count(), APIS.len());
        assert_eq!(find("queryhost").unwrap().spec.name, "QueryHost");
        assert_eq!(find("QueryHost").unwrap().path, "/hosts");
        assert!(find("NoSuchApi").is_none());
        assert!(suggestions("host").contains(&"QueryHost"));
        assert_eq!(suggestions("QueryHots"), vec!["QueryHost"]);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("nmae", "name"), 1);
    }

    #[test]
    fn bodies_follow_the_method() {
        let r = find("AddKVMHost")
            .unwrap()
            .request(params(json!({"name": "h", "sshPort": 22})))
            .unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hosts/kvm"));
        assert_eq!(
            r.body,
            Some(json!({"params": {"name": "h", "sshPort": 22}}))
        );

        let r = find("UpdateGlobalConfig")
            .unwrap()
            .request(params(
                json!({"category": "identity", "name": "session.timeout", "value": "1"}),
            ))
            .unwrap();
        assert_eq!(
            r.path,
            "/global-configurations/identity/session.timeout/actions"
        );
        assert_eq!(r.body, Some(json!({"updateGlobalConfig": {"value": "1"}})));

        let r = find("DeleteHost")
            .unwrap()
            .request(params(
                json!({"uuid": "a b", "deleteMode": "Enforcing", "systemTags": ["x", "y"]}),
            ))
            .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("DELETE", "/hosts/a%20b")
        );
        assert_eq!(r.body, None);
        assert_eq!(
            r.query,
            vec![
                ("deleteMode".to_string(), "Enforcing".to_string()),
                ("systemTags".into(), "x".into()),
                ("systemTags".into(), "y".into())
            ]
        );
        let e = find("ReconnectHost")
            .unwrap()
            .request(Map::new())
            .unwrap_err();
        assert_eq!(e, "ReconnectHost needs uuid=...");
        let r = find("GetVersion").unwrap().request(Map::new()).unwrap();
        assert_eq!(r.body, Some(json!({"getVersion": {}})));
        assert!(!r.needs_session);
    }
}
