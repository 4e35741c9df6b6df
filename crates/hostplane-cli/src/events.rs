//! `hostplane host events HOST [--since 1h] [--type StatusChanged]`: what happened to a host,
//! oldest first — QueryHostEvent (`hostUuid=<uuid>`, `createDate>=...`, sorted by id), shown as
//! a table or as JSON/YAML. A host that was deleted can still be named by its uuid: its events
//! outlive it.

use std::collections::HashMap;

use super::args::QueryArgs;
use super::output::{self, Column, Format};
use super::shortcuts::find;
use super::{Ctx, Failure};

/// `--since`: a duration back from now (`90s`, `30m`, `2h`, `7d`) or a date the query
/// language reads (`2026-11-30`, `2026-11-30T08:00:00Z`, epoch milliseconds).
pub fn since_condition(since: &str, now_ms: i64) -> Result<String, Failure> {
    let s = since.trim();
    let unit = s.chars().last().unwrap_or(' ');
    let ms_per = match unit {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        _ => None,
    };
    if let (Some(per), Ok(n)) = (ms_per, s[..s.len().saturating_sub(1)].parse::<i64>()) {
        return Ok(format!("createDate>={}", now_ms - n.max(0) * per));
    }
    if s.is_empty() || s.contains(['&', '\n']) {
        return Err(Failure::Usage(format!(
            "--since {since}: give a duration (90s, 30m, 2h, 7d) or a date (2026-11-30)"
        )));
    }
    Ok(format!("createDate>={s}"))
}

/// Run `host events`.
pub fn host_events(
    ctx: &mut Ctx,
    host: &str,
    since: Option<&str>,
    kind: Option<&str>,
    limit: i64,
) -> Result<(), Failure> {
    let uuid = match find(ctx, "Host", host) {
        Ok(h) => h.uuid,
        // A deleted host's events stay: a uuid is taken as it is.
        Err(_) if host.len() == 32 && host.chars().all(|c| c.is_ascii_hexdigit()) => {
            host.to_string()
        }
        Err(e) => return Err(e),
    };
    let mut conditions = vec![format!("hostUuid={uuid}")];
    if let Some(s) = since {
        conditions.push(since_condition(s, chrono::Utc::now().timestamp_millis())?);
    }
    if let Some(k) = kind {
        conditions.push(format!("type={k}"));
    }
    let q = QueryArgs {
        conditions,
        limit: Some(limit),
        sort: Some("+id".into()),
        ..Default::default()
    };
    let api = super::apis::find("QueryHostEvent").expect("QueryHostEvent exists");
    let body = ctx.call(&api.query_request(&q))?;
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(
            &output::machine_value(&body),
            ctx.style.format,
        ));
        return Ok(());
    }
    let items = super::items_of(&body);
    if items.is_empty() {
        ctx.print("No events.\n");
        return Ok(());
    }
    let columns = [
        ("createDate", "TIME"),
        ("type", "EVENT"),
        ("from", "FROM"),
        ("to", "TO"),
        ("cause", "CAUSE"),
        ("reason", "REASON"),
        ("jobUuid", "JOB"),
    ]
    .iter()
    .map(|(f, h)| Column {
        field: f.to_string(),
        header: h.to_string(),
    })
    .collect();
    ctx.print(&output::table(
        &items,
        Some(columns),
        &HashMap::new(),
        ctx.style.color,
    ));
    Ok(())
}

/// The `--type` values.
pub fn kinds() -> Vec<&'static str> {
    hostplane_server::domain::host::events::Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since() {
        assert_eq!(
            since_condition("2h", 10_000_000).unwrap(),
            "createDate>=2800000"
        );
        assert_eq!(
            since_condition("90s", 100_000).unwrap(),
            "createDate>=10000"
        );
        assert_eq!(
            since_condition("2026-11-30", 0).unwrap(),
            "createDate>=2026-11-30"
        );
        assert!(since_condition("", 0).is_err());
        assert!(kinds().contains(&"StatusChanged"));
    }
}
