//! The REST route table: every `/v1` path and method, and the API it reaches.
//!
//! This file is the whole REST surface in one place, so ZStack compatibility can be reviewed
//! here. Paths are ZStack's `@RestRequest` paths without the `/v1` prefix. How the body is
//! read follows from the method: POST creates read `{"params": {...}}`, PUT actions read
//! `{"<actionName>": {...}}` (the API name with its first letter lower-cased), GET and DELETE
//! read the query string.

use axum::http::Method;

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub api: &'static str,
}

const fn r(method: Method, path: &'static str, api: &'static str) -> Route {
    Route { method, path, api }
}

pub static ROUTES: &[Route] = &[
    r(Method::PUT, "/accounts/login", "LogInByAccount"),
    r(Method::DELETE, "/accounts/sessions/{sessionUuid}", "LogOut"),
    r(
        Method::GET,
        "/accounts/sessions/{sessionUuid}/valid",
        "ValidateSession",
    ),
    r(Method::PUT, "/accounts/{uuid}", "UpdateAccount"),
    r(Method::PUT, "/management-nodes/actions", "GetVersion"),
    r(Method::PUT, "/management-nodes/actions", "GetCurrentTime"),
    r(
        Method::PUT,
        "/management-nodes/actions",
        "GetManagementNodeArch",
    ),
    r(Method::GET, "/management-nodes/ready", "IsReadyToGo"),
    r(Method::GET, "/management-nodes", "QueryManagementNode"),
    r(
        Method::GET,
        "/management-nodes/{uuid}",
        "QueryManagementNode",
    ),
    r(Method::POST, "/zones", "CreateZone"),
    r(Method::GET, "/zones", "QueryZone"),
    r(Method::GET, "/zones/{uuid}", "QueryZone"),
    r(Method::PUT, "/zones/{uuid}/actions", "UpdateZone"),
    r(Method::PUT, "/zones/{uuid}/actions", "ChangeZoneState"),
    r(Method::DELETE, "/zones/{uuid}", "DeleteZone"),
    r(Method::POST, "/clusters", "CreateCluster"),
    r(Method::GET, "/clusters", "QueryCluster"),
    r(Method::GET, "/clusters/{uuid}", "QueryCluster"),
    r(Method::PUT, "/clusters/{uuid}/actions", "UpdateCluster"),
    r(
        Method::PUT,
        "/clusters/{uuid}/actions",
        "ChangeClusterState",
    ),
    r(Method::DELETE, "/clusters/{uuid}", "DeleteCluster"),
    r(Method::POST, "/hosts/kvm", "AddKVMHost"),
    r(Method::POST, "/hosts/kvm/check", "CheckKVMHost"),
    r(
        Method::POST,
        "/hosts/kvm/from-file",
        "AddKVMHostFromConfigFile",
    ),
    r(
        Method::POST,
        "/hosts/kvm/from-file/check",
        "CheckKVMHostConfigFile",
    ),
    r(Method::GET, "/hosts/task-details", "GetHostTask"),
    r(Method::GET, "/hosts/hypervisor-types", "GetHypervisorTypes"),
    r(Method::GET, "/hosts", "QueryHost"),
    r(Method::GET, "/hosts/{uuid}", "QueryHost"),
    r(Method::DELETE, "/hosts/{uuid}", "DeleteHost"),
    r(Method::PUT, "/hosts/{uuid}/actions", "ReconnectHost"),
    r(Method::PUT, "/hosts/{uuid}/actions", "ChangeHostState"),
    r(Method::PUT, "/hosts/{uuid}/actions", "UpdateHost"),
    r(Method::PUT, "/hosts/kvm/{uuid}/actions", "UpdateKVMHost"),
    r(Method::GET, "/system-tags", "QuerySystemTag"),
    r(Method::GET, "/system-tags/{uuid}", "QuerySystemTag"),
    r(Method::GET, "/user-tags", "QueryUserTag"),
    r(Method::GET, "/user-tags/{uuid}", "QueryUserTag"),
    // hostplane's additions
    r(Method::GET, "/host-events", "QueryHostEvent"),
    r(
        Method::POST,
        "/host-event-subscriptions",
        "CreateHostEventSubscription",
    ),
    r(
        Method::GET,
        "/host-event-subscriptions",
        "QueryHostEventSubscription",
    ),
    r(
        Method::GET,
        "/host-event-subscriptions/{uuid}",
        "QueryHostEventSubscription",
    ),
    r(
        Method::DELETE,
        "/host-event-subscriptions/{uuid}",
        "DeleteHostEventSubscription",
    ),
    r(Method::GET, "/global-configurations", "QueryGlobalConfig"),
    r(
        Method::PUT,
        "/global-configurations/{category}/{name}/actions",
        "UpdateGlobalConfig",
    ),
];

/// The JSON key a PUT action's parameters sit under: `UpdateKVMHost` → `updateKVMHost`.
pub fn action_name(api: &str) -> String {
    let mut c = api.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Match `path` (without the `/v1` prefix) against a template; returns the URL variables.
pub fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut vars = Vec::new();
    for (ts, ps) in t.iter().zip(&p) {
        if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if ps.is_empty() {
                return None;
            }
            let value = percent_encoding::percent_decode_str(ps)
                .decode_utf8_lossy()
                .into_owned();
            vars.push((name.to_string(), value));
        } else if ts != ps {
            return None;
        }
    }
    Some(vars)
}

/// How specific a template is: its number of literal segments (exact paths win).
pub fn literal_segments(template: &str) -> usize {
    template
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert_eq!(
            match_path("/hosts/{uuid}", "/hosts/abc").unwrap(),
            vec![("uuid".to_string(), "abc".to_string())]
        );
        assert!(match_path("/hosts/{uuid}", "/hosts").is_none());
        assert!(match_path("/hosts/{uuid}", "/hosts/").is_none());
        let v = match_path(
            "/global-configurations/{category}/{name}/actions",
            "/global-configurations/host/ping.interval/actions",
        )
        .unwrap();
        assert_eq!(
            v,
            vec![
                ("category".to_string(), "host".to_string()),
                ("name".to_string(), "ping.interval".to_string())
            ]
        );
        assert_eq!(action_name("UpdateKVMHost"), "updateKVMHost");
        assert_eq!(action_name("LogInByAccount"), "logInByAccount");
        assert!(literal_segments("/hosts/hypervisor-types") > literal_segments("/hosts/{uuid}"));
        for route in ROUTES {
            assert!(
                crate::domain::api::by_name(route.api).is_some(),
                "{} has no API",
                route.api
            );
        }
        // Coverage: every API of the catalogue is reachable over REST.
        for api in crate::domain::api::APIS {
            assert!(
                ROUTES.iter().any(|r| r.api == api.name),
                "{} has no REST route",
                api.name
            );
        }
    }
}
