//! Checks a query before it is sent, so that a user's mistake reads as one.
//!
//! ZStack answers a condition on an unknown field with `SYS.1000: An internal error happened`
//! (and hostplane keeps that on the wire). The CLI knows every field of every query API from the
//! server's own catalogue, so it runs the same checks first (`hostplane_query::compile`, against
//! [`hostplane_server::domain::catalogue::CATALOGUE`]) and says what is wrong in plain words, with
//! the nearest names: `no field statuss on hosts; did you mean status?`.
//!
//! Also here: `host list` implies `hypervisorType=KVM` when a KVM-only field is used
//! ([`imply_type`]); a value outside a field's known set (`status=connected`) gets a note
//! ([`value_notes`]), and the query is still sent.
//!
//! Pure: no I/O, no HTTP. Values are quoted in messages only when they are field values of a
//! query, never parameters (so a password cannot end up on the screen).

use hostplane_query::{compile, parse_condition, Backend, Op, Query, QueryError, Resource};
use hostplane_server::domain::catalogue::{self, CATALOGUE, HW_STATUS_FIELDS};
use hostplane_server::domain::host::{
    CONNECTED, CONNECTING, DISABLED, DISCONNECTED, ENABLED, MAINTENANCE, PRE_MAINTENANCE,
};

use super::args::QueryArgs;

/// How a resource is called in messages: `hosts`, `clusters`, ...
pub fn plural(resource: &str) -> String {
    match resource {
        "GlobalConfig" => "global configs".into(),
        "ManagementNode" => "management nodes".into(),
        r => format!("{}s", r.to_ascii_lowercase()),
    }
}

/// The values a field can have, where the set is known and fixed.
pub fn known_values(resource: &str, field: &str) -> Option<Vec<&'static str>> {
    use hostplane_server::domain::api::by_name;
    let valid = |api: &str, param: &str| {
        by_name(api)
            .and_then(|a| a.param(param))
            .map(|p| p.valid_values.to_vec())
    };
    match (resource, field) {
        ("Host", "status") => Some(vec![CONNECTING, CONNECTED, DISCONNECTED]),
        ("Host", "state") => Some(vec![ENABLED, DISABLED, PRE_MAINTENANCE, MAINTENANCE]),
        ("Host", "hypervisorType") => Some(vec!["KVM"]),
        ("Host" | "Cluster", "architecture") => valid("CreateCluster", "architecture"),
        ("Host", f) if HW_STATUS_FIELDS.contains(&f) => Some(vec!["Normal", "Error", "Unknown"]),
        ("Cluster" | "Zone", "state") => Some(vec![ENABLED, DISABLED]),
        ("Cluster", "hypervisorType") => valid("CreateCluster", "hypervisorType"),
        _ => None,
    }
}

/// The names closest to `word` among `candidates`: the same ignoring case, or a few typos
/// away, or starting with it; best first, at most three.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let w = word.to_ascii_lowercase();
    if w.is_empty() {
        return Vec::new();
    }
    let max = (w.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let l = c.to_ascii_lowercase();
            let d = super::apis::edit_distance(&l, &w);
            if d <= max {
                Some((d, c))
            } else if w.len() >= 3 && (l.starts_with(&w) || w.starts_with(&l)) {
                Some((max + 1, c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// ` did you mean a or b?` (empty when there is nothing near).
fn did_you_mean(near: &[&str]) -> String {
    match near {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        more => format!("; did you mean {}?", more.join(" or ")),
    }
}

/// The query as the query crate sees it (the words were checked by `args::parse_query`).
pub fn to_query(q: &QueryArgs) -> Result<Query, String> {
    let mut query = Query {
        limit: q.limit,
        start: q.start,
        count: q.count,
        reply_with_count: q.reply_with_count,
        fields: q.fields.clone(),
        group_by: q.group_by.clone(),
        filter_name: q.filter_name.clone(),
        ..Default::default()
    };
    for c in &q.conditions {
        query
            .conditions
            .push(parse_condition(c).map_err(|e| e.to_string())?);
    }
    if let Some(s) = &q.sort {
        let (field, desc) = hostplane_query::parse_sort(s);
        query.sort_by = Some(field);
        query.sort_desc = desc;
    }
    Ok(query)
}

/// `host list`: a condition, sort or projection on a KVM-only field implies the type switch
/// `hypervisorType=KVM` (every host hostplane manages is a KVM host). True when it was added.
pub fn imply_type(resource: &Resource, q: &mut QueryArgs) -> bool {
    let Some(type_field) = resource.type_field else {
        return false;
    };
    let Ok(query) = to_query(q) else {
        return false;
    };
    if query
        .conditions
        .iter()
        .any(|c| c.field.trim() == type_field)
    {
        return false;
    }
    let typed = |name: &str| resource.field(name.trim()).and_then(|f| f.only_for_type);
    let used = query
        .conditions
        .iter()
        .map(|c| c.field.as_str())
        .chain(query.sort_by.as_deref())
        .chain(query.fields.iter().flatten().map(String::as_str))
        .find_map(typed);
    match used {
        Some(t) => {
            q.conditions.push(format!("{type_field}={t}"));
            true
        }
        None => false,
    }
}

/// Check a query against the catalogue; the error says what is wrong, for people.
pub fn check(resource: &'static Resource, q: &QueryArgs) -> Result<(), String> {
    let query = to_query(q)?;
    compile(&CATALOGUE, resource, &query, Backend::Sqlite)
        .map(|_| ())
        .map_err(|e| explain(resource, e))
}

/// A query error in plain words.
fn explain(queried: &'static Resource, e: QueryError) -> String {
    let by_class = |class: &str| {
        CATALOGUE
            .resources
            .iter()
            .copied()
            .find(|r| r.inventory_class == class || catalogue::row_class(r) == class)
            .unwrap_or(queried)
    };
    match e {
        QueryError::UnknownField { class, field } => {
            let r = by_class(class);
            let mut names: Vec<&str> = r.fields.iter().map(|f| f.name).collect();
            names.extend(r.expansions.iter().map(|x| x.name));
            format!(
                "no field {field} on {}{} (`hostplane apis Query{}` lists the fields)",
                plural(r.name),
                did_you_mean(&nearest(&field, names)),
                queried.name
            )
        }
        QueryError::UnknownExpansion { class, expansion } => {
            let r = by_class(class);
            let names: Vec<&str> = r.expansions.iter().map(|x| x.name).collect();
            let mut m = format!(
                "{} have no related resource {expansion}{}",
                plural(r.name),
                did_you_mean(&nearest(&expansion, names.iter().copied()))
            );
            if names.is_empty() {
                m.push_str(&format!(" ({} have none)", plural(r.name)));
            } else {
                m.push_str(&format!(
                    " (related: {}; e.g. {}.name=...)",
                    names.join(", "),
                    names[0]
                ));
            }
            m
        }
        QueryError::TypeOnlyField {
            field,
            type_field,
            type_value,
            ..
        } => format!(
            "{field} is a field of {type_value} hosts only: add {type_field}={type_value} to the \
             query (`hostplane host list` adds it for you)"
        ),
        QueryError::UnsupportedOp { field, op, ty } => {
            let rest = Op::from_rpc(op).map(Op::rest_token).unwrap_or(op);
            format!(
                "{} ({op}) works on text fields only; {field} is {}",
                rest.trim(),
                {
                    match ty {
                        hostplane_query::FieldType::Int => "a number",
                        hostplane_query::FieldType::Bool => "true or false",
                        hostplane_query::FieldType::Date => "a date",
                        hostplane_query::FieldType::Text => "text",
                    }
                }
            )
        }
        other => other.to_string(),
    }
}

/// The resource a field path ends on, and its leaf field name (`cluster.zone.state` on hosts →
/// (Zone, `state`)).
pub fn leaf_of(resource: &'static Resource, path: &str) -> Option<(&'static Resource, String)> {
    let parts: Vec<&str> = path.trim().split('.').collect();
    let (leaf, hops) = parts.split_last()?;
    let mut r = resource;
    for h in hops {
        r = catalogue::resource(r.expansion(h)?.target)?;
    }
    Some((r, leaf.to_string()))
}

/// Notes on values outside a field's known set (`status=connected`): the query is still sent.
pub fn value_notes(resource: &'static Resource, q: &QueryArgs) -> Vec<String> {
    let Ok(query) = to_query(q) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    for c in &query.conditions {
        if !matches!(c.op, Op::Eq | Op::NotEq | Op::In | Op::NotIn) {
            continue;
        }
        let Some((r, leaf)) = leaf_of(resource, &c.field) else {
            continue;
        };
        let Some(known) = known_values(r.name, &leaf) else {
            continue;
        };
        let value = c.value.clone().unwrap_or_default();
        let items: Vec<&str> = if matches!(c.op, Op::In | Op::NotIn) {
            value.split(',').collect()
        } else {
            vec![value.as_str()]
        };
        for item in items.into_iter().filter(|i| !known.contains(i)) {
            let near: Vec<&str> = known
                .iter()
                .copied()
                .filter(|k| k.eq_ignore_ascii_case(item.trim()))
                .collect();
            let mut n = format!(
                "note: {} `{item}` is none of {} (values are case-sensitive",
                c.field.trim(),
                known.join(", ")
            );
            match near.first() {
                Some(k) => n.push_str(&format!("; did you mean {k}?)")),
                None => n.push(')'),
            }
            notes.push(n);
        }
    }
    notes
}

/// The resource a `...Uuid` condition or parameter names: `clusterUuid` → `Cluster`.
pub fn uuid_target(field: &str) -> Option<&'static str> {
    match field {
        "zoneUuid" => Some("Zone"),
        "clusterUuid" => Some("Cluster"),
        "hostUuid" => Some("Host"),
        _ => None,
    }
}

/// Whether a value looks like a resource uuid (32 hex digits), rather than a name.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_query;
    use hostplane_server::domain::catalogue::{CLUSTER, HOST};

    fn q(words: &[&str]) -> QueryArgs {
        parse_query(&words.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn unknown_fields_get_the_nearest_names() {
        assert_eq!(
            check(&HOST, &q(&["statuss=Connected"])).unwrap_err(),
            "no field statuss on hosts; did you mean status? (`hostplane apis QueryHost` lists the fields)"
        );
        let e = check(&HOST, &q(&["cluster.nmae=c1"])).unwrap_err();
        assert!(
            e.starts_with("no field nmae on clusters; did you mean name?"),
            "{e}"
        );
        let e = check(&HOST, &q(&["clustr.name=c1"])).unwrap_err();
        assert!(
            e.starts_with("hosts have no related resource clustr; did you mean cluster?"),
            "{e}"
        );
        let e = check(&HOST, &q(&["fields=uuid,nmae"])).unwrap_err();
        assert!(e.contains("did you mean name?"), "{e}");
        let e = check(&HOST, &q(&["sortBy=cpunum"])).unwrap_err();
        assert!(e.contains("did you mean cpuNum?"), "{e}");
        let e = check(&HOST, &q(&["name~=1%", "cpuNum~=4%"])).unwrap_err();
        assert_eq!(e, "~= (like) works on text fields only; cpuNum is a number");
        let e = check(&HOST, &q(&["cpuNum>=four"])).unwrap_err();
        assert!(e.contains("expected a number"), "{e}");
        assert!(check(&HOST, &q(&["status=Connected", "cluster.zone.name=z"])).is_ok());
    }

    #[test]
    fn kvm_fields_imply_the_type_on_host_list() {
        let mut args = q(&["osDistribution=debian"]);
        let e = check(&HOST, &args).unwrap_err();
        assert!(e.contains("add hypervisorType=KVM"), "{e}");
        assert!(imply_type(&HOST, &mut args));
        assert_eq!(
            args.conditions,
            ["osDistribution=debian", "hypervisorType=KVM"]
        );
        assert!(check(&HOST, &args).is_ok());
        let mut args = q(&["fields=name,osVersion"]);
        assert!(imply_type(&HOST, &mut args));
        let mut args = q(&["hypervisorType=KVM", "sshPort=22"]);
        assert!(!imply_type(&HOST, &mut args));
        let mut args = q(&["name=a"]);
        assert!(!imply_type(&HOST, &mut args));
        assert!(!imply_type(&CLUSTER, &mut q(&["name=a"])));
    }

    #[test]
    fn values_outside_the_known_set_get_a_note() {
        let n = value_notes(&HOST, &q(&["status=connected"]));
        assert_eq!(
            n,
            ["note: status `connected` is none of Connecting, Connected, Disconnected (values are case-sensitive; did you mean Connected?)"]
        );
        assert!(value_notes(&HOST, &q(&["status?=Connected,Connecting"])).is_empty());
        assert_eq!(value_notes(&HOST, &q(&["cluster.state!=on"])).len(), 1);
        assert!(value_notes(&HOST, &q(&["name=connected"])).is_empty());
        assert_eq!(nearest("hosts", ["host", "zone"]), ["host"]);
    }
}
