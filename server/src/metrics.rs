//! Prometheus metrics at `GET /metrics` (text format 0.0.4), per node.
//!
//! Counters and the callback histogram live in memory and count from the node's start; the pool
//! gauges and the number of active sessions are read at each scrape (one cheap indexed `COUNT`,
//! bounded by a short timeout, so a scrape never hangs on a dead database).
//!
//! The endpoint is unauthenticated: operators turn it off with `--metrics off` or keep `/metrics`
//! off the public internet at the load balancer (see docs/deployment.md).

use app::ssr::store::Store;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a scrape waits for the active-session count.
const SCRAPE_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Upper bounds (seconds) of the callback duration buckets.
const CALLBACK_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    outcome: &'static str,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScimLabels {
    operation: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignalLabels {
    channel: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status_class: &'static str,
}

/// What a document fetched from an IdP was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdpFetch {
    Discovery,
    Jwks,
}

/// The metrics of one node; shared by every request through [`crate::state::AppState`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    login_attempts: Family<LoginLabels, Counter>,
    callback_duration: Histogram,
    idp_fetches: Family<FetchLabels, Counter>,
    http_responses: Family<StatusLabels, Counter>,
    scim_requests: Family<ScimLabels, Counter>,
    scim_unauthorized: Counter,
    security_signals: Family<SignalLabels, Counter>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    database_up: Gauge,
    sessions: Arc<ActiveSessions>,
}

/// `tessera_active_sessions`, present only when the last scrape could count them.
#[derive(Debug, Default)]
struct ActiveSessions(Mutex<Option<i64>>);

impl Collector for ActiveSessions {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(n) = self.0.lock().ok().and_then(|v| *v) else {
            return Ok(());
        };
        let gauge = ConstGauge::new(n);
        let metric = encoder.encode_descriptor(
            "tessera_active_sessions",
            "Unexpired sessions in the database (all nodes), counted at scrape time",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let login_attempts = Family::<LoginLabels, Counter>::default();
        registry.register(
            "tessera_login_attempts",
            "Sign-in attempts by outcome and reason code (the codes of `tessera org events`)",
            login_attempts.clone(),
        );
        let callback_duration = Histogram::new(CALLBACK_BUCKETS);
        registry.register(
            "tessera_callback_duration_seconds",
            "Time to answer /sso/callback (code exchange, token checks, provisioning, session)",
            callback_duration.clone(),
        );
        let idp_fetches = Family::<FetchLabels, Counter>::default();
        registry.register(
            "tessera_idp_fetches",
            "Discovery documents and JWKS fetched from Okta orgs, by result",
            idp_fetches.clone(),
        );
        let http_responses = Family::<StatusLabels, Counter>::default();
        registry.register(
            "tessera_http_requests",
            "HTTP responses by status class",
            http_responses.clone(),
        );
        let scim_requests = Family::<ScimLabels, Counter>::default();
        registry.register(
            "tessera_scim_requests",
            "Authenticated SCIM requests by operation (e.g. users_patch) and HTTP status",
            scim_requests.clone(),
        );
        let scim_unauthorized = Counter::default();
        registry.register(
            "tessera_scim_unauthorized",
            "SCIM requests refused with 401: a missing, malformed, unknown or revoked token",
            scim_unauthorized.clone(),
        );
        let security_signals = Family::<SignalLabels, Counter>::default();
        registry.register(
            "tessera_security_signals",
            "Universal Logout requests and Shared Signals SETs by channel and HTTP status",
            security_signals.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "tessera_db_pool_connections",
            "Open database connections of this node's pool, idle or in use",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "tessera_db_pool_max_connections",
            "Maximum size of this node's database pool",
            pool_max.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "tessera_database_up",
            "1 when the database answered the last scrape's query, else 0",
            database_up.clone(),
        );
        let sessions = Arc::new(ActiveSessions::default());
        registry.register_collector(Box::new(sessions.clone()));
        Metrics {
            registry,
            login_attempts,
            callback_duration,
            idp_fetches,
            http_responses,
            scim_requests,
            scim_unauthorized,
            security_signals,
            pool_connections,
            pool_max,
            database_up,
            sessions,
        }
    }

    /// One sign-in attempt (every attempt that is recorded or logged goes through here).
    pub fn login_attempt(&self, success: bool, reason: &str) {
        self.login_attempts
            .get_or_create(&LoginLabels {
                outcome: if success { "success" } else { "failure" },
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn callback_finished(&self, took: Duration) {
        self.callback_duration.observe(took.as_secs_f64());
    }

    pub fn idp_fetch(&self, kind: IdpFetch, ok: bool) {
        self.idp_fetches
            .get_or_create(&FetchLabels {
                kind: match kind {
                    IdpFetch::Discovery => "discovery",
                    IdpFetch::Jwks => "jwks",
                },
                result: if ok { "ok" } else { "error" },
            })
            .inc();
    }

    /// One authenticated SCIM request: its operation (`users_list`, `groups_patch`…) and status.
    pub fn scim_request(&self, operation: &'static str, status: StatusCode) {
        self.scim_requests
            .get_or_create(&ScimLabels {
                operation,
                status: status.as_u16(),
            })
            .inc();
    }

    /// One Universal Logout request or pushed SET, by channel (`universal_logout`,
    /// `shared_signals`) and the status answered.
    pub fn security_signal(&self, channel: &'static str, status: StatusCode) {
        self.security_signals
            .get_or_create(&SignalLabels {
                channel,
                status: status.as_u16(),
            })
            .inc();
    }

    /// One SCIM request refused for its token (401).
    pub fn scim_unauthorized(&self) {
        self.scim_unauthorized.inc();
    }

    pub fn http_response(&self, status: StatusCode) {
        let status_class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_responses
            .get_or_create(&StatusLabels { status_class })
            .inc();
    }

    /// Reads the scrape-time values: pool state, and the session count when the database answers.
    pub async fn refresh(&self, store: &Store) {
        let pool = store.pool_stats();
        let size = i64::from(pool.size);
        let idle = i64::try_from(pool.idle).unwrap_or(i64::MAX);
        self.pool_connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle);
        self.pool_connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set((size - idle).max(0));
        self.pool_max.set(i64::from(pool.max));
        let count = tokio::time::timeout(SCRAPE_QUERY_TIMEOUT, store.active_sessions())
            .await
            .ok()
            .and_then(Result::ok);
        self.database_up.set(i64::from(count.is_some()));
        if let Ok(mut v) = self.sessions.0.lock() {
            *v = count;
        }
    }

    /// The Prometheus text exposition of everything.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// `GET /metrics`.
pub async fn handler(State(metrics): State<Arc<Metrics>>, State(store): State<Store>) -> Response {
    metrics.refresh(&store).await;
    match metrics.encode() {
        Ok(body) => {
            let mut resp = body.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                ),
            );
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "could not encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Middleware counting every response by status class.
pub async fn count_responses(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let resp = next.run(req).await;
    metrics.http_response(resp.status());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_the_documented_names() {
        let m = Metrics::new();
        m.login_attempt(true, "success");
        m.login_attempt(false, "idp_unreachable");
        m.login_attempt(false, "idp_unreachable");
        m.callback_finished(Duration::from_millis(120));
        m.idp_fetch(IdpFetch::Discovery, true);
        m.idp_fetch(IdpFetch::Jwks, false);
        m.http_response(StatusCode::SEE_OTHER);
        if let Ok(mut v) = m.sessions.0.lock() {
            *v = Some(3);
        }
        let text = m.encode().unwrap();
        for line in [
            "tessera_login_attempts_total{outcome=\"success\",reason=\"success\"} 1",
            "tessera_login_attempts_total{outcome=\"failure\",reason=\"idp_unreachable\"} 2",
            "tessera_callback_duration_seconds_count 1",
            "tessera_callback_duration_seconds_bucket{le=\"0.25\"} 1",
            "tessera_callback_duration_seconds_bucket{le=\"0.1\"} 0",
            "tessera_idp_fetches_total{kind=\"discovery\",result=\"ok\"} 1",
            "tessera_idp_fetches_total{kind=\"jwks\",result=\"error\"} 1",
            "tessera_http_requests_total{status_class=\"3xx\"} 1",
            "tessera_active_sessions 3",
            "# TYPE tessera_login_attempts_total counter",
            "# TYPE tessera_callback_duration_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        if let Ok(mut v) = m.sessions.0.lock() {
            *v = None;
        }
        assert!(!m.encode().unwrap().contains("tessera_active_sessions"));
    }
}
