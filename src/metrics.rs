//! Metrics for `/metrics`: one Prometheus registry and the families every layer counts into.
//!
//! Owns: the metric names, their help text and labels, and the text encoding (the
//! `prometheus-client` crate). A low layer that names no other: `crypto`, `sms`, `mail`,
//! `auth` and `http` record through the small methods below.
//! Must not: take a label from user input (usernames, raw paths with tokens, addresses):
//! every label value is a fixed word or a route pattern, so the series stay few and say
//! nothing secret.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Which text format a scraper asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain`): curl, `promtool check metrics`.
    Prometheus,
    /// OpenMetrics 1.0, which Prometheus itself asks for first in its `Accept`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when `accept` names it, else the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A result label only.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// A second step: which method, with what result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodResult {
    method: &'static str,
    result: &'static str,
}

/// What was locked.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// A message through a provider.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderResult {
    provider: &'static str,
    result: &'static str,
}

/// An HTTP request: the route pattern as the router matched it (`/api/v1/sessions/{id}`),
/// never the raw path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
    status: u16,
}

fn seconds_histogram() -> Histogram {
    // 1 ms to ~16 s doubling (an argon2id hash is tens of milliseconds, a slow SMS gateway
    // seconds), with 0.5, 1.5, 3 and 6 ms between, where a second step or a session check
    // lands: a p99 of 2 ms can then be told from one of 3.
    Histogram::new([
        0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.006, 0.008, 0.016, 0.032, 0.064, 0.128,
        0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
    ])
}

struct Families {
    logins: Family<ResultLabel, Counter>,
    second_steps: Family<MethodResult, Counter>,
    lockouts: Family<KindLabel, Counter>,
    texts: Family<ProviderResult, Counter>,
    emails: Family<ProviderResult, Counter>,
    notices: Family<ResultLabel, Counter>,
    notices_queued: Gauge,
    hash_queue: Gauge,
    hash_wait: Histogram,
    db_connections: Gauge,
    db_idle: Gauge,
    db_max: Gauge,
    requests: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

/// The metrics of one server; cheap to clone (every clone counts into the same registry).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    f: Arc<Families>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A registry with every family registered (a series appears once it is first counted).
    pub fn new() -> Self {
        let f = Families {
            logins: Family::default(),
            second_steps: Family::default(),
            lockouts: Family::default(),
            texts: Family::default(),
            emails: Family::default(),
            notices: Family::default(),
            notices_queued: Gauge::default(),
            hash_queue: Gauge::default(),
            hash_wait: seconds_histogram(),
            db_connections: Gauge::default(),
            db_idle: Gauge::default(),
            db_max: Gauge::default(),
            requests: Family::new_with_constructor(seconds_histogram),
        };
        let mut r = Registry::with_prefix("twofold");
        r.register(
            "logins",
            "Password steps of a login, by result",
            f.logins.clone(),
        );
        r.register(
            "second_steps",
            "Second-step codes checked, by method and result",
            f.second_steps.clone(),
        );
        r.register(
            "lockouts",
            "Throttles that began a pause: password (wrong passwords) or second_step (wrong codes)",
            f.lockouts.clone(),
        );
        r.register(
            "texts",
            "Text messages by provider and result (sent or failed)",
            f.texts.clone(),
        );
        r.register(
            "emails",
            "Emails by provider and result (sent or failed)",
            f.emails.clone(),
        );
        r.register(
            "notices",
            "Security notice deliveries: sent, retrying (a channel failed) or given_up",
            f.notices.clone(),
        );
        r.register(
            "notices_queued",
            "Security notices in the queue, not yet delivered",
            f.notices_queued.clone(),
        );
        r.register(
            "argon2_queue_depth",
            "Password hashes waiting or running",
            f.hash_queue.clone(),
        );
        r.register(
            "argon2_wait_seconds",
            "Time a password hash waited for a hashing thread",
            f.hash_wait.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections open (idle or in use)",
            f.db_connections.clone(),
        );
        r.register(
            "db_pool_idle_connections",
            "Database connections open and idle",
            f.db_idle.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "Largest number of database connections the pool opens",
            f.db_max.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP requests by method, matched route and status",
            f.requests.clone(),
        );
        Self {
            registry: Arc::new(r),
            f: Arc::new(f),
        }
    }

    /// The password step of a login ended with `result` (`logged_in`, `second_step`,
    /// `invalid_credentials`, `rate_limited`…).
    pub fn login(&self, result: &'static str) {
        self.f.logins.get_or_create(&ResultLabel { result }).inc();
    }

    /// A second-step code for `method` (`sms`, `totp`, `backup_code`, `webauthn`; `passkey` for a
    /// login with a passkey and no password) ended with `result`.
    pub fn second_step(&self, method: &'static str, result: &'static str) {
        self.f
            .second_steps
            .get_or_create(&MethodResult { method, result })
            .inc();
    }

    /// A throttle began a pause (`password` or `second_step`).
    pub fn lockout(&self, kind: &'static str) {
        self.f.lockouts.get_or_create(&KindLabel { kind }).inc();
    }

    /// A text message through `provider` was sent or not.
    pub fn text(&self, provider: &'static str, sent: bool) {
        self.f
            .texts
            .get_or_create(&ProviderResult {
                provider,
                result: sent_or_failed(sent),
            })
            .inc();
    }

    /// An email through `provider` was sent or not.
    pub fn email(&self, provider: &'static str, sent: bool) {
        self.f
            .emails
            .get_or_create(&ProviderResult {
                provider,
                result: sent_or_failed(sent),
            })
            .inc();
    }

    /// A security notice's delivery ended with `result` (`sent`, `retrying`, `given_up`).
    pub fn notice(&self, result: &'static str) {
        self.f.notices.get_or_create(&ResultLabel { result }).inc();
    }

    /// Notices waiting in the queue now.
    pub fn set_notices_queued(&self, n: i64) {
        self.f.notices_queued.set(n);
    }

    /// A password hash waited this long for a hashing thread.
    pub fn hash_waited(&self, wait: std::time::Duration) {
        self.f.hash_wait.observe(wait.as_secs_f64());
    }

    /// Hashes waiting or running now.
    pub fn set_hash_queue(&self, n: usize) {
        self.f.hash_queue.set(gauge_value(n));
    }

    /// The database pool now: connections open, of which idle, and its maximum.
    pub fn set_db_pool(&self, open: u32, idle: usize, max: u32) {
        self.f.db_connections.set(i64::from(open));
        self.f.db_idle.set(gauge_value(idle));
        self.f.db_max.set(i64::from(max));
    }

    /// An HTTP request to `route` (the matched pattern, or `unmatched`) was answered;
    /// `method` is one of a fixed few words (see `http::metrics`), never the client's text.
    pub fn request(
        &self,
        method: &'static str,
        route: String,
        status: u16,
        took: std::time::Duration,
    ) {
        self.f
            .requests
            .get_or_create(&RouteLabels {
                method,
                route,
                status,
            })
            .observe(took.as_secs_f64());
    }

    /// The whole registry in `format` (its `Content-Type`: [`Format::content_type`]).
    pub fn encode(&self, format: Format) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)
            }
        };
        out
    }
}

fn sent_or_failed(sent: bool) -> &'static str {
    if sent { "sent" } else { "failed" }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{Format, Metrics};

    #[test]
    fn counted_series_appear_in_the_text() {
        let m = Metrics::new();
        m.login("invalid_credentials");
        m.login("invalid_credentials");
        m.request(
            "POST",
            "/api/v1/sessions".into(),
            401,
            std::time::Duration::from_millis(3),
        );
        let text = m.encode(Format::Prometheus);
        assert!(text.contains("# TYPE twofold_logins_total counter"));
        assert!(text.contains("twofold_logins_total{result=\"invalid_credentials\"} 2"));
        assert!(text.contains("route=\"/api/v1/sessions\""));
        let open = m.encode(Format::OpenMetrics);
        assert!(open.contains("# TYPE twofold_logins counter"));
        assert!(open.ends_with("# EOF\n"));
    }
}
