//! What `GET /metrics` shows, in Prometheus's text format: one [`Metrics`] per server, owned
//! by its `App`, with one method per thing worth counting. The domain and the HTTP face call
//! those methods (one line each, where the thing happens); `http::metrics` serves the text.
//!
//! Names follow Prometheus's rules (prometheus.io/docs/practices/naming): the `hostplane_`
//! prefix, one unit per metric in base units as a suffix (`_seconds`, `_bytes`), `_total` only
//! on counters (the encoder appends it), `_info`-style metadata as a gauge of 1. No label ever
//! holds a host uuid, an IP, a session or a raw request path: label values come from small
//! fixed sets (statuses, states, API names, route templates, step names, reasons), so the
//! number of series does not grow with hosts or requests.
//!
//! `hostplane_hosts` and `hostplane_management_nodes` come from the store (one grouped COUNT,
//! index-only), refreshed by a scrape when older than [`COUNTS_MAX_AGE`] or when this server
//! changed a host since: a scrape every second stays cheap at 100,000 hosts (BENCHMARKS.md,
//! g), and counts are never more than a few seconds behind changes made by other management
//! nodes. Process metrics (`process_*`, the names every Prometheus client uses) are read from
//! `/proc/self` at each scrape.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::store::Store;

/// The content type of the text this module writes (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// How old the store counts may get before a scrape reads them again.
pub const COUNTS_MAX_AGE: Duration = Duration::from_secs(5);
/// How often a scrape may read them again when this server changed a host meanwhile.
pub const COUNTS_MIN_AGE: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FromTo {
    from: String,
    to: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiResult {
    api: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabel {
    api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepReason {
    step: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Ping tries: from a few ms (a probe on a LAN) to the longest `host.ping.timeout` worth
/// distinguishing.
fn ping_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

/// Jobs: from a quick update to a slow add (a connect that waits for an SSH port).
fn job_histogram() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
    ])
}

/// HTTP requests: Prometheus's default buckets.
fn http_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    /// When set, `/metrics` needs `Authorization: Bearer <this>`.
    bearer_token: Option<String>,
    counts: Arc<Mutex<StoreCounts>>,
    /// Set when this server changed a host: the next scrape reads the counts again.
    counts_dirty: Arc<AtomicBool>,
    refreshing: tokio::sync::Mutex<()>,
    ping_duration: Histogram,
    ping_failures: Family<ReasonLabel, Counter>,
    status_changes: Family<FromTo, Counter>,
    host_events: Family<TypeLabel, Counter>,
    jobs: Family<ApiResult, Counter>,
    job_duration: HistogramFamily<ApiLabel>,
    ssh_errors: Family<StepReason, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabel>,
    webhook_deliveries: Family<ResultLabel, Counter>,
    fenced: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let counts = Arc::new(Mutex::new(StoreCounts::default()));
        let m = Metrics {
            registry: Registry::default(),
            bearer_token: None,
            counts: counts.clone(),
            counts_dirty: Arc::new(AtomicBool::new(true)),
            refreshing: tokio::sync::Mutex::new(()),
            ping_duration: ping_histogram(),
            ping_failures: Family::default(),
            status_changes: Family::default(),
            host_events: Family::default(),
            jobs: Family::default(),
            job_duration: Family::new_with_constructor(job_histogram),
            ssh_errors: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram),
            webhook_deliveries: Family::default(),
            fenced: Gauge::default(),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        let r = registry.sub_registry_with_prefix("hostplane");
        let build_info: Family<VersionLabel, Gauge> = Family::default();
        build_info
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        r.register(
            "build_info",
            "The running hostplane's version, as a label (the value is always 1)",
            build_info,
        );
        r.register_collector(Box::new(CountsCollector(counts)));
        r.register(
            "host_ping_duration_seconds",
            "Duration of one ping try (a login ping or a probe of sshd), failed ones included",
            m.ping_duration.clone(),
        );
        r.register(
            "host_ping_failures",
            "Failed ping tries, by reason (HOST.SSH.* as in add and reconnect errors, or HOST.PING.*)",
            m.ping_failures.clone(),
        );
        r.register(
            "host_status_changes",
            "Changes of a host's connection status between settled statuses (a connect in progress, Connecting, is not counted on its own)",
            m.status_changes.clone(),
        );
        r.register(
            "host_events",
            "Host events recorded (QueryHostEvent), by type",
            m.host_events.clone(),
        );
        r.register(
            "jobs",
            "Asynchronous API calls finished, by API and result (succeeded, failed, timeout)",
            m.jobs.clone(),
        );
        r.register(
            "job_duration_seconds",
            "Duration of asynchronous API calls, from submission to the recorded result",
            m.job_duration.clone(),
        );
        r.register(
            "ssh_errors",
            "SSH failures while connecting hosts and pinging them, by step and reason",
            m.ssh_errors.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Duration of HTTP requests, by route template",
            m.http_duration.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Host event webhook deliveries, by result (delivered, failed after every retry, dropped because the queue was full, refused target)",
            m.webhook_deliveries.clone(),
        );
        r.register(
            "management_node_fenced",
            "1 while this management node is fenced: it could not write its heartbeat lately (or just joined), so it pings no host and marks none Disconnected",
            m.fenced.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Whether this node is fenced now (read at each scrape).
    pub fn set_fenced(&self, fenced: bool) {
        self.fenced.set(i64::from(fenced));
    }

    /// Require `Authorization: Bearer <token>` on `/metrics` (None or empty: no token).
    pub fn with_bearer_token(mut self, token: Option<String>) -> Metrics {
        self.bearer_token = token.filter(|t| !t.trim().is_empty());
        self
    }

    pub fn bearer_token(&self) -> Option<&str> {
        self.bearer_token.as_deref()
    }

    /// One ping try took `took`; `failure` is its reason when it failed.
    pub fn ping(&self, took: Duration, failure: Option<&str>) {
        self.ping_duration.observe(took.as_secs_f64());
        if let Some(reason) = failure {
            self.ping_failures
                .get_or_create(&ReasonLabel {
                    reason: reason.to_string(),
                })
                .inc();
        }
    }

    /// A host's settled status changed.
    pub fn status_change(&self, from: &str, to: &str) {
        self.status_changes
            .get_or_create(&FromTo {
                from: from.to_string(),
                to: to.to_string(),
            })
            .inc();
    }

    /// A host event was recorded; this server changed a host, so the next scrape recounts.
    pub fn host_event(&self, kind: &str) {
        self.host_events
            .get_or_create(&TypeLabel {
                r#type: kind.to_string(),
            })
            .inc();
        self.hosts_changed();
    }

    /// This server changed hosts (added, deleted, status or state): recount at the next scrape.
    pub fn hosts_changed(&self) {
        self.counts_dirty.store(true, Ordering::Relaxed);
    }

    /// An asynchronous call ended.
    pub fn job(&self, api: &str, result: &str, took: Duration) {
        self.jobs
            .get_or_create(&ApiResult {
                api: api.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.job_duration
            .get_or_create(&ApiLabel {
                api: api.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// An SSH failure at `step` (`ssh-login`, `collect-facts`, `ping`, ...).
    pub fn ssh_error(&self, step: &str, reason: &str) {
        self.ssh_errors
            .get_or_create(&StepReason {
                step: step.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// An HTTP request was answered. `route` is a template, never a raw path.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// A webhook delivery ended (`delivered`, `failed`, `dropped`, `refused`).
    pub fn webhook_delivery(&self, result: &str) {
        self.webhook_deliveries
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
    }

    /// Read the store counts again if they are old, or a little old and this server changed
    /// a host since; a management node counts while its heartbeat is younger than
    /// `node_alive`. One refresh at a time; a failed read keeps the last counts.
    pub async fn refresh_counts(&self, store: &Store, node_alive: Duration) {
        let due = |c: &StoreCounts, dirty: bool| match c.at {
            None => true,
            Some(at) => {
                let age = at.elapsed();
                age >= COUNTS_MAX_AGE || (dirty && age >= COUNTS_MIN_AGE)
            }
        };
        if !due(
            &self.counts.lock().expect("counts"),
            self.counts_dirty.load(Ordering::Relaxed),
        ) {
            return;
        }
        let _one = self.refreshing.lock().await;
        if !due(
            &self.counts.lock().expect("counts"),
            self.counts_dirty.load(Ordering::Relaxed),
        ) {
            return; // another scrape just did it
        }
        self.counts_dirty.store(false, Ordering::Relaxed);
        match (
            store.host_counts().await,
            store
                .management_node_count(node_alive.as_millis() as i64)
                .await,
        ) {
            (Ok(hosts), Ok(nodes)) => {
                *self.counts.lock().expect("counts") = StoreCounts {
                    at: Some(Instant::now()),
                    hosts,
                    nodes,
                };
            }
            (Err(e), _) | (_, Err(e)) => {
                self.counts_dirty.store(true, Ordering::Relaxed);
                tracing::warn!(error = %e, "metrics could not count hosts");
            }
        }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The connection statuses and admin states `hostplane_hosts` always shows.
const HOST_STATUSES: [&str; 3] = [
    crate::domain::host::CONNECTING,
    crate::domain::host::CONNECTED,
    crate::domain::host::DISCONNECTED,
];
const HOST_STATES: [&str; 4] = [
    crate::domain::host::ENABLED,
    crate::domain::host::DISABLED,
    crate::domain::host::PRE_MAINTENANCE,
    crate::domain::host::MAINTENANCE,
];

/// The counts read from the store.
#[derive(Debug, Default)]
struct StoreCounts {
    at: Option<Instant>,
    /// (status, state, hosts)
    hosts: Vec<(String, String, i64)>,
    nodes: i64,
}

#[derive(Debug)]
struct CountsCollector(Arc<Mutex<StoreCounts>>);

impl Collector for CountsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let c = self.0.lock().expect("counts");
        {
            let mut m = encoder.encode_descriptor(
                "hosts",
                "KVM hosts by connection status and admin state, as the store has them (every known pair, 0 included).",
                None,
                MetricType::Gauge,
            )?;
            // Every pair of known values (so a status with no host reads 0, not absent), then
            // any other pair the store holds.
            let mut pairs: Vec<(&str, &str, i64)> = Vec::new();
            for status in HOST_STATUSES {
                for state in HOST_STATES {
                    pairs.push((status, state, 0));
                }
            }
            for (status, state, n) in &c.hosts {
                match pairs.iter_mut().find(|(a, b, _)| a == status && b == state) {
                    Some(p) => p.2 = *n,
                    None => pairs.push((status, state, *n)),
                }
            }
            for (status, state, n) in pairs {
                let labels = [("status", status), ("state", state)];
                ConstGauge::new(n).encode(m.encode_family(&labels)?)?;
            }
        }
        let m = encoder.encode_descriptor(
            "management_nodes",
            "Management nodes whose heartbeat is fresh (this one included).",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(c.nodes).encode(m)
    }
}

/// `process_*` from `/proc/self`: CPU time, memory, descriptors, start time.
#[derive(Debug)]
struct ProcessCollector;

/// What `/proc/self` says about this process.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: u64,
    pub start_time_seconds: f64,
}

impl ProcessStats {
    /// Read them now (fields that cannot be read stay 0).
    pub fn read() -> ProcessStats {
        let mut s = ProcessStats::default();
        // SAFETY: sysconf only reads a configuration value.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK).max(1) as f64,
                libc::sysconf(libc::_SC_PAGESIZE).max(1) as u64,
            )
        };
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // The command name (field 2) may hold spaces: the fields that follow start after
            // its closing parenthesis, with field 3 (state) first.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
                s.cpu_seconds = (num(14).unwrap_or(0) + num(15).unwrap_or(0)) as f64 / ticks;
                s.virtual_bytes = num(23).unwrap_or(0);
                s.resident_bytes = num(24).unwrap_or(0) * page;
                if let (Some(start), Some(boot)) = (num(22), boot_time()) {
                    s.start_time_seconds = boot + start as f64 / ticks;
                }
            }
        }
        s.open_fds = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as u64)
            .unwrap_or(0);
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct passed in.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            s.max_fds = lim.rlim_cur;
        }
        s
    }
}

/// Seconds since the epoch at boot (`btime` of `/proc/stat`).
fn boot_time() -> Option<f64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<f64>().ok())
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = ProcessStats::read();
        let cpu = ConstCounter::new(s.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, f64); 5] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                s.resident_bytes as f64,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                s.virtual_bytes as f64,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                s.open_fds as f64,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                s.max_fds as f64,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                s.start_time_seconds,
            ),
        ];
        for (name, help, v) in gauges {
            ConstGauge::new(v).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

/// Whether `name` (as exposed, with `_total` on counters) follows the naming rules this module
/// keeps; the reason when it does not. Used by the tests on the whole exposition.
pub fn naming_problem(name: &str, kind: &str) -> Option<String> {
    let mut why = String::new();
    let base = name.trim_end_matches("_total");
    if kind == "counter" && !name.ends_with("_total") {
        let _ = write!(why, "counter without _total; ");
    }
    if kind != "counter" && name.ends_with("_total") {
        let _ = write!(why, "_total on a {kind}; ");
    }
    if !(name.starts_with("hostplane_") || name.starts_with("process_")) {
        let _ = write!(why, "no hostplane_ or process_ prefix; ");
    }
    for bad in [
        "_milliseconds",
        "_ms",
        "_kb",
        "_mb",
        "_mib",
        "_gb",
        "_percent",
        "_minutes",
        "_hours",
    ] {
        if base.ends_with(bad) || base.contains(&format!("{bad}_")) {
            let _ = write!(why, "non-base unit {bad}; ");
        }
    }
    if (base.contains("duration") || base.contains("time")) && !base.ends_with("_seconds") {
        let _ = write!(why, "a time not in _seconds; ");
    }
    if (base.contains("memory") || base.contains("size")) && !base.ends_with("_bytes") {
        let _ = write!(why, "a size not in _bytes; ");
    }
    (!why.is_empty()).then_some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, type) of every `# TYPE` line.
    fn types(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| {
                let (n, t) = l.split_once(' ').expect("name and type");
                (n.to_string(), t.to_string())
            })
            .collect()
    }

    #[test]
    fn every_metric_follows_the_naming_rules() {
        let m = Metrics::new();
        m.ping(Duration::from_millis(3), Some("HOST.SSH.PORT_CLOSED"));
        m.status_change("Connected", "Disconnected");
        m.host_event("StatusChanged");
        m.job("AddKVMHost", "succeeded", Duration::from_millis(900));
        m.ssh_error("ssh-login", "HOST.SSH.AUTH_FAILED");
        m.http_request(
            "GET",
            "/zstack/v1/hosts/{uuid}",
            200,
            Duration::from_millis(2),
        );
        m.webhook_delivery("delivered");
        let text = m.encode();
        let t = types(&text);
        assert!(t.len() >= 18, "{text}");
        for (name, kind) in &t {
            assert_eq!(naming_problem(name, kind), None, "{name} ({kind})");
        }
        for want in [
            ("hostplane_hosts", "gauge"),
            ("hostplane_host_ping_duration_seconds", "histogram"),
            ("hostplane_host_ping_failures_total", "counter"),
            ("hostplane_host_status_changes_total", "counter"),
            ("hostplane_jobs_total", "counter"),
            ("hostplane_job_duration_seconds", "histogram"),
            ("hostplane_ssh_errors_total", "counter"),
            ("hostplane_http_requests_total", "counter"),
            ("hostplane_http_request_duration_seconds", "histogram"),
            ("hostplane_management_nodes", "gauge"),
            ("hostplane_build_info", "gauge"),
            ("process_cpu_seconds_total", "counter"),
            ("process_resident_memory_bytes", "gauge"),
            ("process_open_fds", "gauge"),
        ] {
            assert!(
                t.iter().any(|(n, k)| n == want.0 && k == want.1),
                "{want:?} missing:\n{text}"
            );
        }
        assert!(text.contains("hostplane_build_info{version=\""), "{text}");
        assert!(
            text.contains(
                "hostplane_http_requests_total{method=\"GET\",route=\"/zstack/v1/hosts/{uuid}\",status=\"200\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_rules_catch_bad_names() {
        assert!(naming_problem("hostplane_hosts_total", "gauge").is_some());
        assert!(naming_problem("hostplane_jobs", "counter").is_some());
        assert!(naming_problem("hostplane_ping_duration_ms", "histogram").is_some());
        assert!(naming_problem("hostplane_memory_mib", "gauge").is_some());
        assert!(naming_problem("cloudstack_hosts_total", "counter").is_some());
        assert_eq!(naming_problem("hostplane_jobs_total", "counter"), None);
    }

    #[test]
    fn process_stats_are_read() {
        let s = ProcessStats::read();
        assert!(s.resident_bytes > 0 && s.virtual_bytes >= s.resident_bytes);
        assert!(s.open_fds > 0 && s.max_fds >= s.open_fds);
        assert!(s.start_time_seconds > 1.6e9, "{s:?}");
    }
}
