//! `HOSTPLANE_LOG_FORMAT=json`: one JSON object per log line, for log shippers.
//!
//! Each line holds `timestamp` (RFC 3339, UTC), `level`, `target`, `message`, the event's own
//! fields (`host.uuid`, `error`, ...) and the fields of every span it happened in, flattened to
//! the top level: `request_id`, `method` and `route` of the HTTP request, `job` and `api` of an
//! asynchronous call's job. The default (anything else) stays tracing's plain text.
//!
//! Both are built with `log_internal_errors(false)`: a line that cannot be written (the log's
//! disk full, its pipe closed) is lost, and nothing else. tracing-subscriber would otherwise
//! report the failure with `eprintln!`, which panics when stderr fails too — in whatever task
//! logged: an HTTP connection, a host's ping task, a job.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Install the JSON subscriber if `HOSTPLANE_LOG_FORMAT` is `json`; false when it is not.
pub fn init_json(filter: EnvFilter) -> bool {
    if !std::env::var("HOSTPLANE_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json")) {
        return false;
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false) // kept by event_format
        .fmt_fields(JsonFields::new())
        .event_format(JsonLine)
        .init();
    true
}

struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                let Some(fields) = ext.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&fields.fields) {
                    line.extend(m);
                }
            }
        }
        event.record(&mut Fields(&mut line));
        writeln!(w, "{}", Value::Object(line))
    }
}

/// An event's fields into the line.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.0.insert(f.name().into(), v.to_string().into());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.0.insert(f.name().into(), format!("{v:?}").into());
    }
}
