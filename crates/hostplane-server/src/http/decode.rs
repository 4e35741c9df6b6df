//! Reading a call out of an HTTP request: the query string, the JSON body, URL variables and
//! the `q=` query grammar — ZStack's `RestServer` rules. Failures here are protocol errors
//! (plain-text 400), never domain errors.

use hostplane_query::{parse_condition, Query};
use serde_json::{Map, Value};

use crate::domain::api::{ApiSpec, ParamType, Params};

/// A plain-text 400.
#[derive(Debug)]
pub struct BadRequest(pub String);

/// The query string as ordered key/value pairs: percent-decoded, `+` read as a space
/// (what Tomcat does). Raw `=` inside values (Python's SDK does not encode) stays in the value.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    match raw {
        Some(q) => form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        None => Vec::new(),
    }
}

/// The parameters of a GET/DELETE call from its query string: repeated keys make a list,
/// `field.key=value` fills a map; keys the API doesn't know are ignored.
pub fn params_from_query(spec: &ApiSpec, pairs: &[(String, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some((field, key)) = k.split_once('.') {
            if spec.param(field).is_some_and(|p| p.ty == ParamType::Map) {
                let e = m
                    .entry(field.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = e {
                    o.insert(key.to_string(), Value::String(v.clone()));
                }
                continue;
            }
        }
        let Some(p) = spec.param(k) else { continue };
        if p.ty == ParamType::StrList {
            let e = m
                .entry(k.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = e {
                a.push(Value::String(v.clone()));
            }
        } else {
            m.entry(k.clone())
                .or_insert_with(|| Value::String(v.clone()));
        }
    }
    m
}

/// ZStack's `TypeVerifier`: an int or boolean parameter declared on the API class must hold
/// an integer or a boolean (a numeric or boolean string is accepted and converted).
pub fn check_types(spec: &ApiSpec, params: &mut Map<String, Value>) -> Result<(), BadRequest> {
    for p in spec.params.iter().filter(|p| p.type_checked) {
        let Some(v) = params.get(p.name) else {
            continue;
        };
        let fixed = match (p.ty, v) {
            (_, Value::Null) => continue,
            (ParamType::Int, Value::Number(n)) if n.is_i64() => continue,
            (ParamType::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
            (ParamType::Bool, Value::Bool(_)) => continue,
            (ParamType::Bool, Value::String(s)) => {
                crate::domain::validate::parse_bool(s.trim()).map(Value::Bool)
            }
            _ => None,
        };
        match fixed {
            Some(f) => {
                params.insert(p.name.to_string(), f);
            }
            None => {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let what = if p.ty == ParamType::Int {
                    "an int or long"
                } else {
                    "a boolean"
                };
                return Err(BadRequest(format!(
                    "[{}] field is excepted {what}, but was [{shown}].",
                    p.name
                )));
            }
        }
    }
    Ok(())
}

/// `systemTags`/`userTags` may also sit at the top level of the body; there they win.
pub fn merge_top_level_tags(body: &Map<String, Value>, params: &mut Map<String, Value>) {
    for key in ["systemTags", "userTags"] {
        if let Some(v) = body.get(key) {
            if !v.is_null() {
                params.insert(key.to_string(), v.clone());
            }
        }
    }
}

/// Java's `Boolean.parseBoolean`: "true" in any case, anything else false.
fn java_bool(s: &str) -> bool {
    s.trim().eq_ignore_ascii_case("true")
}

fn int_param(name: &str, v: &str) -> Result<i64, BadRequest> {
    v.trim().parse::<i64>().map_err(|_| {
        BadRequest(format!(
            "Invalid query parameter[{name}], it must be an integer, but got [{v}]"
        ))
    })
}

/// A query API's parameters: `q` (repeatable), `limit`, `start`, `count`, `replyWithCount`,
/// `sort`, `fields`, `groupBy`, `filterName`. Only the first value of each counts, except `q`.
/// An empty parameter name also counts as `q` (ZStack tests `"q".startsWith(name)`).
pub fn query_from_pairs(pairs: &[(String, String)]) -> Result<Query, BadRequest> {
    let mut q = Query::default();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in pairs {
        if k == "q" || k.is_empty() {
            let c = parse_condition(v).map_err(|e| BadRequest(e.to_string()))?;
            q.conditions.push(c);
            continue;
        }
        if !seen.insert(k.as_str()) {
            continue;
        }
        match k.as_str() {
            "limit" => q.limit = Some(int_param(k, v)?),
            "start" => q.start = Some(int_param(k, v)?),
            "count" => q.count = java_bool(v),
            "replyWithCount" => q.reply_with_count = java_bool(v),
            "groupBy" => q.group_by = Some(v.clone()),
            "filterName" => q.filter_name = Some(v.clone()),
            "fields" => q.fields = Some(v.split(',').map(|s| s.trim().to_string()).collect()),
            "sort" => {
                let s = v.trim();
                if let Some(f) = s.strip_prefix('-') {
                    q.sort_by = Some(f.trim().to_string());
                    q.sort_desc = true;
                } else {
                    q.sort_by = Some(s.trim_start_matches('+').trim().to_string());
                }
            }
            _ => {} // unknown parameters (Python's sessionId, ...) are ignored
        }
    }
    Ok(q)
}

/// What a call reads into the domain.
pub fn into_params(m: Map<String, Value>) -> Params {
    Params(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_style_unencoded_query() {
        let pairs = query_pairs(Some(
            "q=uuid=abc&q=name~=%web%&sessionId=s&limit=10&sort=+name&count=True",
        ));
        let q = query_from_pairs(&pairs).unwrap();
        assert_eq!(q.conditions.len(), 2);
        assert_eq!(q.conditions[0].value.as_deref(), Some("abc"));
        assert_eq!(q.conditions[1].value.as_deref(), Some("%web%"));
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.sort_by.as_deref(), Some("name"));
        assert!(!q.sort_desc);
        assert!(q.count);
    }

    #[test]
    fn java_style_encoded_query() {
        let pairs = query_pairs(Some("q=uuid%3Dabc&limit=10&sort=-name&fields=uuid,%20name"));
        let q = query_from_pairs(&pairs).unwrap();
        assert_eq!(q.conditions[0].field, "uuid");
        assert!(q.sort_desc);
        assert_eq!(q.fields, Some(vec!["uuid".to_string(), "name".to_string()]));
        assert!(query_from_pairs(&query_pairs(Some("limit=x"))).is_err());
        assert!(query_from_pairs(&query_pairs(Some("q=nooperator"))).is_err());
    }
}
