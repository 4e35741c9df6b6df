//! zstack-cli's argument language: `key=value` parameters and query conditions.
//!
//! - An API's parameters: `name=h1 sshPort=22 systemTags=a,b clientInfo.ip=1.2.3.4`. Each
//!   token is split at its first `=`; the key must be a parameter of the API (from
//!   [`hostplane_server::domain::api`]); the value is converted to the parameter's JSON type (a list is
//!   comma-separated and may be repeated, a map is filled by `field.key=value`).
//! - A query's conditions: `status=Connected cluster.name~=prod% 'cpuNum>=4' description is null`,
//!   with every REST operator (`= != > < >= <= ?= !?= ~= !~=`, `is null`, `not null`), plus the
//!   query options `limit start count replyWithCount fields groupBy filterName` and
//!   `sortBy=name sortDirection=desc` (sent as `sort=-name`).
//! - Splitting a shell line into words ([`split_words`]), for `hostplane shell`.
//!
//! Everything here is pure: no I/O, no terminal, no HTTP. Errors are usage errors (exit 2) in
//! plain words. A value is never echoed back in an error, so a password given as `password=...`
//! cannot end up on the screen or in a log.

use hostplane_query::{parse_condition, Op};
use serde_json::{Map, Value};

use hostplane_server::domain::api::{ApiSpec, ParamType};

/// The query options zstack-cli accepts besides conditions (all given as `key=value`).
pub const QUERY_OPTIONS: &[&str] = &[
    "limit",
    "start",
    "count",
    "replyWithCount",
    "sortBy",
    "sortDirection",
    "fields",
    "groupBy",
    "filterName",
];

/// The parameters of one non-query call, as JSON values by parameter name.
pub fn parse_params(spec: &ApiSpec, tokens: &[String]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for token in tokens {
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!(
                "`{}` is not key=value (parameters of {}: {})",
                clip(token),
                spec.name,
                param_names(spec)
            ));
        };
        let key = key.trim();
        if let Some((field, sub)) = key.split_once('.') {
            if spec.param(field).is_some_and(|p| p.ty == ParamType::Map) && !sub.is_empty() {
                let e = out
                    .entry(field.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = e {
                    m.insert(sub.to_string(), Value::String(value.to_string()));
                }
                continue;
            }
        }
        let Some(p) = spec.param(key) else {
            return Err(format!(
                "{} has no parameter `{}`; its parameters: {} (`hostplane apis {0}` describes them)",
                spec.name,
                clip(key),
                param_names(spec)
            ));
        };
        match p.ty {
            ParamType::StrList => {
                let e = out
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = e {
                    a.extend(
                        value
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(|s| Value::String(s.to_string())),
                    );
                }
            }
            ParamType::Map => {
                return Err(format!(
                    "`{key}` is a map: give its entries as {key}.NAME=VALUE"
                ));
            }
            ty => {
                if out.contains_key(key) {
                    return Err(format!("`{key}` is given twice"));
                }
                out.insert(key.to_string(), typed(ty, value));
            }
        }
    }
    Ok(out)
}

/// A scalar in its JSON type; a value that does not parse stays a string, so the server
/// answers with its own (ZStack's) message.
fn typed(ty: ParamType, value: &str) -> Value {
    match ty {
        ParamType::Int => value
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(value.to_string())),
        ParamType::Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value.to_string()),
        },
        _ => Value::String(value.to_string()),
    }
}

/// `name, description, managementIp, ...` for error messages.
pub fn param_names(spec: &ApiSpec) -> String {
    if spec.params.is_empty() {
        return "none".into();
    }
    spec.params
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The required parameters that `params` lacks.
pub fn missing_required(spec: &ApiSpec, params: &Map<String, Value>) -> Vec<&'static str> {
    spec.params
        .iter()
        .filter(|p| p.required && !params.contains_key(p.name))
        .map(|p| p.name)
        .collect()
}

/// A query: conditions (sent as `q=`, verbatim) and options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryArgs {
    pub conditions: Vec<String>,
    pub limit: Option<i64>,
    pub start: Option<i64>,
    pub count: bool,
    pub reply_with_count: bool,
    /// `+name` or `-name`.
    pub sort: Option<String>,
    pub fields: Option<Vec<String>>,
    pub group_by: Option<String>,
    pub filter_name: Option<String>,
}

impl QueryArgs {
    /// The REST query string pairs.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .conditions
            .iter()
            .map(|c| ("q".to_string(), c.clone()))
            .collect();
        let mut push = |k: &str, s: String| v.push((k.to_string(), s));
        if let Some(n) = self.limit {
            push("limit", n.to_string());
        }
        if let Some(n) = self.start {
            push("start", n.to_string());
        }
        if self.count {
            push("count", "true".into());
        }
        if self.reply_with_count {
            push("replyWithCount", "true".into());
        }
        if let Some(s) = &self.sort {
            push("sort", s.clone());
        }
        if let Some(f) = &self.fields {
            push("fields", f.join(","));
        }
        if let Some(g) = &self.group_by {
            push("groupBy", g.clone());
        }
        if let Some(f) = &self.filter_name {
            push("filterName", f.clone());
        }
        v
    }
}

/// Parse a query's words. `description is null` may come as one word or three.
pub fn parse_query(tokens: &[String]) -> Result<QueryArgs, String> {
    let mut q = QueryArgs::default();
    let mut sort_by: Option<String> = None;
    let mut direction: Option<bool> = None; // Some(true) = descending
    let mut i = 0;
    while i < tokens.len() {
        let mut token = tokens[i].clone();
        i += 1;
        // `field is null` / `field not null` as separate words.
        if parse_condition(&token).is_err() {
            let next: Vec<&str> = tokens[i..].iter().take(2).map(String::as_str).collect();
            if next.len() == 2
                && (next[0] == "is" || next[0] == "not")
                && next[1].eq_ignore_ascii_case("null")
            {
                token = format!("{token} {} null", next[0]);
                i += 2;
            }
        }
        let cond = parse_condition(&token)
            .map_err(|e| format!("`{}` is not a query condition: {e}", clip(&token)))?;
        let value = cond.value.clone().unwrap_or_default();
        let option = cond.op == Op::Eq && QUERY_OPTIONS.contains(&cond.field.as_str());
        if !option {
            if cond.field.is_empty() {
                return Err(format!("`{}` names no field", clip(&token)));
            }
            q.conditions.push(token);
            continue;
        }
        let int = |v: &str| {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("{} must be a whole number, not `{}`", cond.field, clip(v)))
        };
        let boolean = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("{} must be true or false", cond.field)),
        };
        match cond.field.as_str() {
            "limit" => q.limit = Some(int(&value)?),
            "start" => q.start = Some(int(&value)?),
            "count" => q.count = boolean(&value)?,
            "replyWithCount" => q.reply_with_count = boolean(&value)?,
            "sortBy" => sort_by = Some(value.trim().to_string()),
            "sortDirection" => {
                direction = Some(match value.trim().to_ascii_lowercase().as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => return Err("sortDirection must be asc or desc".into()),
                })
            }
            "fields" => {
                let f: Vec<String> = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if f.is_empty() {
                    return Err("fields needs at least one field name".into());
                }
                q.fields = Some(f);
            }
            "groupBy" => q.group_by = Some(value),
            "filterName" => q.filter_name = Some(value),
            _ => unreachable!("every query option is handled"),
        }
    }
    match (sort_by, direction) {
        (Some(f), d) if !f.is_empty() => {
            q.sort = Some(format!("{}{f}", if d == Some(true) { '-' } else { '+' }));
        }
        (Some(_), _) => return Err("sortBy needs a field name".into()),
        (None, Some(_)) => return Err("sortDirection needs sortBy".into()),
        (None, None) => {}
    }
    Ok(q)
}

/// Split a shell line into words: whitespace separates, `'...'` is literal, `"..."` allows
/// `\"` and `\\`, a backslash outside quotes escapes the next character.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unclosed '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unclosed \"".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unclosed \"".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// At most 60 characters of user text in a message.
fn clip(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hostplane_server::domain::api::by_name;

    fn w(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn params_take_their_types() {
        let spec = by_name("AddKVMHost").unwrap();
        let p = parse_params(
            spec,
            &w(&[
                "name=h1",
                "sshPort=2222",
                "systemTags=a,b",
                "systemTags=c",
                "password=p=w",
            ]),
        )
        .unwrap();
        assert_eq!(p["name"], "h1");
        assert_eq!(p["sshPort"], 2222);
        assert_eq!(p["systemTags"], serde_json::json!(["a", "b", "c"]));
        assert_eq!(p["password"], "p=w");
        let p = parse_params(spec, &w(&["sshPort=x"])).unwrap();
        assert_eq!(p["sshPort"], "x", "left to the server to refuse");
        let e = parse_params(spec, &w(&["nmae=h1"])).unwrap_err();
        assert!(
            e.contains("no parameter `nmae`") && e.contains("managementIp"),
            "{e}"
        );
        assert!(parse_params(spec, &w(&["name"])).is_err());
        assert!(parse_params(spec, &w(&["name=a", "name=b"])).is_err());
        let secret = parse_params(spec, &w(&["password"])).unwrap_err();
        assert!(!secret.contains("secret"));
        let login = by_name("LogInByAccount").unwrap();
        let p = parse_params(login, &w(&["clientInfo.ip=1.2.3.4"])).unwrap();
        assert_eq!(p["clientInfo"], serde_json::json!({"ip": "1.2.3.4"}));
        let zone = by_name("CreateZone").unwrap();
        assert_eq!(
            parse_params(zone, &w(&["isDefault=TRUE"])).unwrap()["isDefault"],
            true
        );
        assert_eq!(
            missing_required(spec, &parse_params(spec, &w(&["name=h"])).unwrap()),
            vec!["managementIp", "clusterUuid", "username", "password"]
        );
    }

    #[test]
    fn queries_in_zstack_cli_form() {
        let q = parse_query(&w(&[
            "status=Connected",
            "cluster.name~=prod%",
            "cpuNum>=4",
            "name!=a",
            "state?=Enabled,Disabled",
            "uuid!?=x,y",
            "name!~=%t%",
            "cpuNum<9",
            "cpuNum>1",
            "cpuNum<=8",
            "description",
            "is",
            "null",
            "zoneUuid not null",
            "sortBy=name",
            "sortDirection=desc",
            "limit=10",
            "start=2",
            "fields=uuid, name",
            "replyWithCount=true",
        ]))
        .unwrap();
        assert_eq!(q.conditions.len(), 12);
        assert_eq!(q.conditions[10], "description is null");
        assert_eq!(q.sort.as_deref(), Some("-name"));
        assert_eq!(
            q.to_pairs()[12..],
            [
                ("limit".to_string(), "10".to_string()),
                ("start".into(), "2".into()),
                ("replyWithCount".into(), "true".into()),
                ("sort".into(), "-name".into()),
                ("fields".into(), "uuid,name".into()),
            ]
        );
        assert_eq!(
            parse_query(&w(&["sortBy=name"])).unwrap().sort.as_deref(),
            Some("+name")
        );
        assert!(parse_query(&w(&["sortDirection=desc"])).is_err());
        assert!(parse_query(&w(&["sortBy=name", "sortDirection=up"])).is_err());
        assert!(parse_query(&w(&["limit=ten"])).is_err());
        assert!(parse_query(&w(&["nooperator"])).is_err());
        assert!(parse_query(&w(&["=x"])).is_err());
        assert!(parse_query(&w(&["count=maybe"])).is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split_words(r#"QueryHost 'name=a b' "x=\"y\"" c\ d  e"#).unwrap(),
            w(&["QueryHost", "name=a b", "x=\"y\"", "c d", "e"])
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("a ''").unwrap(), w(&["a", ""]));
        assert!(split_words("'open").is_err());
    }
}
