//! Prometheus metrics served at `/metrics` (text format), via
//! prometheus-client. Labels are small fixed sets (endpoint, outcome, action
//! kind), never ids or people, so cardinality stays bounded.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// A Slack call's final outcome, after rate-limit retries: `posted` or `failed`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SlackPostLabels {
    pub method: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: &'static str,
    pub outcome: &'static str,
}

/// The process's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub lookups: Family<OutcomeLabels, Counter>,
    pub lookup_seconds: Histogram,
    pub actions: Family<ActionLabels, Counter>,
    pub slack_posts: Family<SlackPostLabels, Counter>,
    /// Audit heads sent to the witness (`AUDIT_WITNESS`): `published` or `failed`.
    pub witness_heads: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("billing_triage");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let lookups = Family::<OutcomeLabels, Counter>::default();
        let lookup_seconds = Histogram::new(exponential_buckets(0.025, 2.0, 10));
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by endpoint and status",
            http_requests.clone(),
        );
        registry.register("lookups", "Customer lookups by outcome", lookups.clone());
        registry.register(
            "lookup_seconds",
            "Wall time of a lookup from request to card",
            lookup_seconds.clone(),
        );
        registry.register(
            "actions",
            "Approved actions by kind and outcome",
            actions.clone(),
        );
        let slack_posts = Family::<SlackPostLabels, Counter>::default();
        registry.register(
            "slack_posts",
            "Slack Web API calls and response_url posts by final outcome",
            slack_posts.clone(),
        );
        let witness_heads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "audit_witness_heads",
            "Audit heads sent to the witness outside Redis, by outcome (published, failed)",
            witness_heads.clone(),
        );
        Self {
            registry: Arc::new(registry),
            http_requests,
            lookups,
            lookup_seconds,
            actions,
            slack_posts,
            witness_heads,
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
