//! Parameter validation, in ZStack's order: the `@APIParam` rules of each parameter (SYSTEM
//! position), then the `resourceUuid` format of create messages (FRONT), then — done by each
//! operation — its own checks (DEFAULT), and last the system tags of create messages (END).
//!
//! Strings are trimmed first unless the parameter says `no_trim` (passwords), and the trimmed
//! value is what the operation sees. Error texts follow ZStack's. Passwords never appear in a
//! message.

use serde_json::Value;

use super::api::{ApiSpec, Param, ParamType, Params};
use crate::error::{Error, Result};
use crate::store::Store;

/// Check and normalise `params` against the API's parameter rules.
pub async fn validate(store: &Store, spec: &ApiSpec, params: &mut Params) -> Result<()> {
    for p in spec.params {
        check_param(store, spec, p, params).await?;
    }
    if spec.create {
        if let Some(ru) = params.str("resourceUuid") {
            if !is_resource_uuid(ru) {
                return Err(Error::invalid_argument(format!(
                    "resourceUuid[{ru}] is not a valid uuid. A valid uuid is a UUID(v4 recommended) with '-' stripped. \
                     see http://en.wikipedia.org/wiki/Universally_unique_identifier for format of UUID, the regular expression \
                     uses to validate a UUID is '[0-9a-f]{{8}}[0-9a-f]{{4}}[1-5][0-9a-f]{{3}}[89ab][0-9a-f]{{3}}[0-9a-f]{{12}}'"
                )));
            }
        }
    }
    Ok(())
}

async fn check_param(store: &Store, spec: &ApiSpec, p: &Param, params: &mut Params) -> Result<()> {
    let msg = spec.msg_class;
    let name = p.name;
    // Coerce and trim.
    let value = match params.0.get(name).cloned() {
        None | Some(Value::Null) => {
            if p.required {
                return Err(Error::invalid_argument(format!(
                    "field[{name}] of message[{msg}] is mandatory, can not be null"
                )));
            }
            params.0.remove(name);
            return Ok(());
        }
        Some(v) => coerce(p, v).ok_or_else(|| {
            Error::invalid_argument(format!(
                "field[{name}] of message[{msg}] must be of type {}",
                type_name(p.ty)
            ))
        })?,
    };
    params.0.insert(name.to_string(), value.clone());
    if let Value::String(s) = &value {
        let len = s.chars().count();
        if let Some(max) = p.max_len {
            if len > max {
                return Err(Error::invalid_argument(format!(
                    "field[{name}] of message[{msg}] exceeds max length of string. expected was <= {max}, actual was {len}"
                )));
            }
        }
        if !p.valid_values.is_empty() && !p.valid_values.contains(&s.as_str()) {
            return Err(Error::invalid_argument(format!(
                "valid value for field[{name}] of message[{msg}] are {:?}, but {} found",
                p.valid_values,
                if p.secret { "<hidden>" } else { s }
            )));
        }
        if !p.empty_ok && s.is_empty() {
            return Err(Error::invalid_argument(format!(
                "field[{name}] cannot be an empty string"
            )));
        }
        if let Some(res) = p.resource {
            if !store_exists(store, res.table(), s).await? {
                return Err(Error::not_found(format!(
                    "invalid field[{name}], resource[uuid:{s}, type:{}] not found",
                    res.vo()
                )));
            }
        }
    }
    if let (Value::Number(n), Some((lo, hi))) = (&value, p.range) {
        let v = n.as_i64().unwrap_or(i64::MIN);
        if v < lo || v > hi {
            return Err(Error::invalid_argument(format!(
                "field[{name}] must be in range of [{lo}, {hi}]"
            )));
        }
    }
    Ok(())
}

/// Bring a JSON value to the parameter's type; `None` when it cannot be.
fn coerce(p: &Param, v: Value) -> Option<Value> {
    match (p.ty, v) {
        (ParamType::Str, Value::String(s)) => Some(Value::String(if p.no_trim {
            s
        } else {
            s.trim().to_string()
        })),
        // ZStack's Gson turns numbers and booleans sent for a String field into their text.
        (ParamType::Str, Value::Number(n)) => Some(Value::String(n.to_string())),
        (ParamType::Str, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (ParamType::Int, Value::Number(n)) => n.as_i64().map(Value::from),
        (ParamType::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (ParamType::Bool, Value::Bool(b)) => Some(Value::Bool(b)),
        (ParamType::Bool, Value::String(s)) => parse_bool(&s).map(Value::Bool),
        (ParamType::StrList, Value::Array(a)) => a
            .into_iter()
            .map(|x| x.as_str().map(|s| Value::String(s.to_string())))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        (ParamType::StrList, Value::String(s)) => Some(Value::Array(vec![Value::String(s)])),
        (ParamType::Map, Value::Object(m)) => Some(Value::Object(m)),
        _ => None,
    }
}

/// Strict boolean text: `true`/`false` in any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn type_name(t: ParamType) -> &'static str {
    match t {
        ParamType::Str => "String",
        ParamType::Int => "int",
        ParamType::Bool => "boolean",
        ParamType::StrList => "List<String>",
        ParamType::Map => "Map",
    }
}

async fn store_exists(store: &Store, table: &'static str, uuid: &str) -> Result<bool> {
    Ok(store.exists(table, uuid).await?)
}

/// ZStack's `NetworkUtils.isHostname`: dot-separated labels of letters and digits, with
/// inner hyphens.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// A dotted-quad IPv4 address, each octet 0-255.
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// ZStack's resourceUuid format: 32 lower-case hex digits, UUID version 1-5, RFC 4122 variant.
pub fn is_resource_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 32
        && b.iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && (b'1'..=b'5').contains(&b[12])
        && matches!(b[16], b'8' | b'9' | b'a' | b'b')
}

/// The system-tag patterns registered for zones, clusters and hosts (catalogue §8).
/// `{x}` matches one `::` segment.
pub const SYSTEM_TAG_PATTERNS: &[&str] = &[
    "reservedCpu::{capacity}",
    "reservedMemory::{capacity}",
    "capability::liveSnapshot",
    "os::distribution::{x}",
    "os::release::{x}",
    "os::version::{x}",
    "extraips::{x}",
    "hostCpuModelName::{x}",
    "systemProductName::{x}",
    "systemSerialNumber::{x}",
    "cpuGHz::{x}",
    "cpuProcessorNum::{x}",
    "cpuCache::{x}",
    "powerSupplyModelName::{x}",
    "powerSupplyMaxPowerCapacity::{x}",
    "powerSupplyManufacturer::{x}",
    "ipmiAddress::{x}",
    "iscsiInitiatorName::{x}",
    "pageTableExtensionDisabled",
    "GuestTools::{x}",
    "GuestToolsLinux::{x}",
    "ConnectedTime::{x}",
    "systemManufacturer::{x}",
    "systemUUID::{x}",
    "biosVendor::{x}",
    "biosVersion::{x}",
    "biosReleaseDate::{x}",
    "bmcVersion::{x}",
    "uptime::{x}",
    "memorySlotsMaximum::{x}",
    "qemu-img::version::{x}",
    "libvirt::version::{x}",
    "hvm::{x}",
    "ept::{x}",
    "cpuModelName::{x}",
    "capability:virtio-scsi",
    "libvirtCapabilities::{x}",
    "localStorage::{x}::initialized",
    "host::reservedCpu::{capacity}",
    "host::reservedMemory::{capacity}",
    "check::cluster::cpu::model::{enable}",
    "resourceConfig::{category}::{name}::{value}",
];

/// ZStack's `TagUtils.isMatch`: same number of `::` segments, literal segments equal.
pub fn tag_matches(pattern: &str, tag: &str) -> bool {
    if !pattern.contains("::") {
        return pattern == tag;
    }
    let split = |s: &str| {
        let mut v: Vec<String> = s.split("::").map(str::to_string).collect();
        while v.last().is_some_and(|x| x.is_empty()) {
            v.pop(); // Java's split drops trailing empty segments
        }
        v
    };
    let (p, t) = (split(pattern), split(tag));
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(ps, ts)| (ps.starts_with('{') && ps.ends_with('}')) || ps == ts)
}

/// The END-position check of create messages: every non-ephemeral system tag must match a
/// registered pattern. Duplicates are removed.
pub fn check_system_tags(tags: &mut Vec<String>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    tags.retain(|t| seen.insert(t.clone()));
    for t in tags.iter() {
        if t.starts_with("ephemeral::") {
            continue;
        }
        if !SYSTEM_TAG_PATTERNS.iter().any(|p| tag_matches(p, t)) {
            return Err(Error::invalid_argument(format!(
                "no system tag matches {t}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_ip_rules() {
        assert!(is_ipv4("127.0.0.2"));
        assert!(!is_ipv4("300.1.1.1"));
        assert!(is_hostname("300.1.1.1"), "ZStack accepts it as a hostname");
        assert!(is_hostname("localhost"));
        assert!(is_hostname("kvm-1.example.com"));
        assert!(!is_hostname("###"));
        assert!(!is_hostname("-a.b"));
        assert!(!is_hostname("fe80::1"));
        assert!(!is_hostname("a..b"));
    }

    #[test]
    fn resource_uuid_format() {
        assert!(is_resource_uuid("36c27e8ff05c4780bf6d2fa65700f22e"));
        assert!(!is_resource_uuid("36C27E8FF05C4780BF6D2FA65700F22E"));
        assert!(!is_resource_uuid("36c27e8ff05c0780bf6d2fa65700f22e")); // version 0
        assert!(!is_resource_uuid("36c27e8ff05c4780cf6d2fa65700f22e")); // variant c
        assert!(!is_resource_uuid("36c27e8f-f05c-4780-bf6d-2fa65700f22e"));
    }

    #[test]
    fn tag_patterns() {
        assert!(tag_matches(
            "os::distribution::{x}",
            "os::distribution::debian"
        ));
        assert!(!tag_matches("reservedCpu::{capacity}", "reservedCpu::"));
        assert!(tag_matches(
            "pageTableExtensionDisabled",
            "pageTableExtensionDisabled"
        ));
        assert!(!tag_matches(
            "pageTableExtensionDisabled",
            "pageTableExtensionDisabled::x"
        ));
        let mut p = vec![
            "pageTableExtensionDisabled".to_string(),
            "pageTableExtensionDisabled".to_string(),
        ];
        check_system_tags(&mut p).unwrap();
        assert_eq!(p, vec!["pageTableExtensionDisabled"]);
        let mut p = vec!["bogus::tag".to_string()];
        assert_eq!(
            check_system_tags(&mut p).unwrap_err().details,
            "no system tag matches bogus::tag"
        );
    }
}
