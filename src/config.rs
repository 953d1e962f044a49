//! Settings: exactly the variables of docs/CONTRACT.md, each parsed once into a
//! type. An error names the variable and what it expects; `main` prints that
//! one line and exits. Nothing reads `std::env` after start-up: `from_lookup`
//! takes the environment as a function so tests pass values, not env vars.

use crate::domain::trail::witness::WitnessTarget;
use crate::domain::{
    AuditSigningKey, ChannelId, SigningSecret, SlackAppToken, SlackBotToken, SlackUserId,
    StripeKey, UserGroupId,
};
use std::net::SocketAddr;
use std::time::Duration;

/// A missing or malformed setting; `Display` is the start-up error line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

/// How `serve` hears from Slack.
#[derive(Debug, Clone)]
pub enum SlackMode {
    /// HTTP endpoints; every request is verified with the signing secret.
    Http { signing_secret: SigningSecret },
    /// Socket Mode over a websocket opened with the app-level token.
    Socket { app_token: SlackAppToken },
}

#[derive(Debug, Clone)]
pub struct SlackConfig {
    pub bot_token: SlackBotToken,
    /// Web API base without a trailing slash (slack-morphism adds its own).
    pub api_url: String,
    pub mode: SlackMode,
}

#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub key: StripeKey,
    /// API base ending in `/`.
    pub api_base: String,
    /// `STRIPE_READ_RATE`: requests per second the reports' scans allow
    /// themselves, leaving the rest of Stripe's limit to the company.
    pub read_rate: u32,
}

pub use crate::access::{AccessConfig, Operators};
pub use crate::policy::{PolicyConfig, READ_ONLY_WARNING};
pub use crate::store::{RedisTls, ReplicaWait};

/// Everything the process needs; which parts are required depends on the
/// command (the CLI lookup needs no Slack).
#[derive(Debug, Clone)]
pub struct Config {
    pub slack: Option<SlackConfig>,
    pub stripe: StripeConfig,
    pub redis_url: String,
    pub redis_prefix: String,
    /// `REDIS_CA_CERT`, `REDIS_CLIENT_CERT`, `REDIS_CLIENT_KEY`.
    pub redis_tls: RedisTls,
    /// `REDIS_WAIT_REPLICAS`, `REDIS_WAIT_TIMEOUT_MS`.
    pub redis_wait: ReplicaWait,
    pub bind_addr: SocketAddr,
    pub policy: PolicyConfig,
    /// Who may see billing, and where (`BILLING_OPERATORS`, `BILLING_CHANNELS`).
    pub access: AccessConfig,
    pub portal_login_url: Option<String>,
    /// `BILLING_APPROVAL_NOTIFY`: how approvers hear that something waits.
    pub approval_notify: crate::domain::ApprovalNotify,
    /// How long `serve` lets work in flight finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// Where and how often the audit head is published outside Redis.
    pub witness: WitnessConfig,
}

/// `AUDIT_WITNESS`, `AUDIT_WITNESS_INTERVAL`, `AUDIT_SIGNING_KEY`.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// `None`: `off`.
    pub target: Option<WitnessTarget>,
    /// How often a replica publishes the head when it moved.
    pub interval: Duration,
    /// Signs each head; never stored in Redis.
    pub key: Option<AuditSigningKey>,
}

/// Default `AUDIT_WITNESS_INTERVAL`: a rewrite of entries older than a
/// minute contradicts a published head.
pub const DEFAULT_WITNESS_INTERVAL_SECS: u64 = 60;
/// A day: the longest interval accepted.
pub const MAX_WITNESS_INTERVAL_SECS: u64 = 86_400;

impl WitnessConfig {
    fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let target = match get("AUDIT_WITNESS") {
            None => None,
            Some(raw) => WitnessTarget::setting(&raw).map_err(|e| ConfigError {
                name: "AUDIT_WITNESS",
                problem: e.to_string(),
            })?,
        };
        let interval = match get("AUDIT_WITNESS_INTERVAL") {
            None => DEFAULT_WITNESS_INTERVAL_SECS,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_WITNESS_INTERVAL_SECS).contains(n))
                .ok_or_else(|| ConfigError {
                    name: "AUDIT_WITNESS_INTERVAL",
                    problem: "expected whole seconds, 1 to 86400 (default 60)".to_owned(),
                })?,
        };
        Ok(Self {
            target,
            interval: Duration::from_secs(interval),
            key: signing_key(get)?,
        })
    }
}

/// `AUDIT_SIGNING_KEY`, for `audit verify --witness` too.
///
/// # Errors
/// A key too short or with spaces (the error never shows it).
pub fn signing_key_from_env() -> Result<Option<AuditSigningKey>, ConfigError> {
    signing_key(&env_lookup)
}

fn signing_key(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<AuditSigningKey>, ConfigError> {
    get("AUDIT_SIGNING_KEY")
        .map(|raw| {
            AuditSigningKey::parse(&raw).map_err(|e| ConfigError {
                name: "AUDIT_SIGNING_KEY",
                problem: e.to_string(),
            })
        })
        .transpose()
}

/// Just what reading Slack needs (`audit verify --witness slack:…`): the
/// bot token and the Web API base.
#[derive(Debug, Clone)]
pub struct SlackReader {
    pub bot_token: SlackBotToken,
    /// Web API base without a trailing slash.
    pub api_url: String,
}

impl SlackReader {
    /// # Errors
    /// `SLACK_BOT_TOKEN` missing or malformed, or a malformed `SLACK_API_URL`.
    pub fn from_env(purpose: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(&env_lookup, purpose)
    }

    fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        purpose: &str,
    ) -> Result<Self, ConfigError> {
        let raw = get("SLACK_BOT_TOKEN").ok_or_else(|| ConfigError {
            name: "SLACK_BOT_TOKEN",
            problem: format!(
                "required {purpose}: the bot token (xoxb-...) from OAuth & Permissions"
            ),
        })?;
        let bot_token = SlackBotToken::parse(&raw).map_err(|e| ConfigError {
            name: "SLACK_BOT_TOKEN",
            problem: e.to_string(),
        })?;
        let api_url = get("SLACK_API_URL").unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned());
        Ok(Self {
            bot_token,
            api_url: http_base(&api_url, "SLACK_API_URL")?
                .trim_end_matches('/')
                .to_owned(),
        })
    }
}

/// The process environment, trimmed; empty values count as unset.
fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Default `BILLING_REFUND_LIMIT`: 100.00 in two-decimal currencies (EUR,
/// USD…), but 10 000 units in zero-decimal ones (JPY 10000) — the limit is in
/// minor units of whatever currency the charge is in, so set it for the
/// account's main currency.
pub const DEFAULT_REFUND_LIMIT_MINOR: i64 = 10_000;
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api/";
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com/";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_REDIS_PREFIX: &str = "billing-triage:";
pub const DEFAULT_BIND_ADDR: &str = "0.0.0.0:3000";
/// Under common orchestrators' 30 s between SIGTERM and SIGKILL.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 25;
/// Default `STRIPE_READ_RATE` for a live key: a fifth of Stripe's 100/s, the
/// rest left to the company's own integration.
pub const DEFAULT_READ_RATE_LIVE: u32 = 20;
/// Default `STRIPE_READ_RATE` in test mode, where Stripe allows 25/s.
pub const DEFAULT_READ_RATE_TEST: u32 = 10;
/// No account's limit is anywhere near this; a larger value is a typo.
pub const MAX_READ_RATE: u32 = 1000;

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first missing or malformed setting.
    pub fn from_env(needs_slack: bool) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok(), needs_slack)
    }

    /// Reads settings through `get`; empty values count as unset.
    ///
    /// # Errors
    /// The first missing or malformed setting.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        needs_slack: bool,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let err = |name: &'static str, problem: &str| ConfigError {
            name,
            problem: problem.to_owned(),
        };

        let slack = if needs_slack {
            let SlackReader { bot_token, api_url } = SlackReader::from_lookup(&get, "for serve")?;
            let mode = match get("SLACK_APP_TOKEN") {
                Some(raw) => SlackMode::Socket {
                    app_token: SlackAppToken::parse(&raw)
                        .map_err(|e| err("SLACK_APP_TOKEN", &e.to_string()))?,
                },
                None => {
                    let raw = get("SLACK_SIGNING_SECRET").ok_or_else(|| {
                        err(
                            "SLACK_SIGNING_SECRET",
                            "required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
                        )
                    })?;
                    SlackMode::Http {
                        signing_secret: SigningSecret::parse(&raw)
                            .map_err(|e| err("SLACK_SIGNING_SECRET", &e.to_string()))?,
                    }
                }
            };
            Some(SlackConfig {
                bot_token,
                api_url,
                mode,
            })
        } else {
            None
        };

        let key = get("STRIPE_SECRET_KEY").ok_or_else(|| {
            err(
                "STRIPE_SECRET_KEY",
                "required: a Stripe secret key (sk_...) or restricted key (rk_...)",
            )
        })?;
        let key = StripeKey::parse(&key).map_err(|e| err("STRIPE_SECRET_KEY", &e.to_string()))?;
        let api_base = get("STRIPE_API_BASE").unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.to_owned());
        let api_base = format!(
            "{}/",
            http_base(&api_base, "STRIPE_API_BASE")?.trim_end_matches('/')
        );

        let read_rate = match get("STRIPE_READ_RATE") {
            None if key.is_live() => DEFAULT_READ_RATE_LIVE,
            None => DEFAULT_READ_RATE_TEST,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_READ_RATE).contains(n))
                .ok_or_else(|| {
                    err(
                        "STRIPE_READ_RATE",
                        "expected requests per second, a whole number from 1 to 1000",
                    )
                })?,
        };

        let RedisConfig {
            url: redis_url,
            prefix: redis_prefix,
            tls: redis_tls,
            wait: redis_wait,
        } = RedisConfig::from_lookup(&get)?;

        let bind_addr = get("BIND_ADDR").unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned());
        let bind_addr = bind_addr.parse().map_err(|_| {
            err(
                "BIND_ADDR",
                "expected an address and port such as 0.0.0.0:3000",
            )
        })?;

        let approvers = match get("BILLING_APPROVERS") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| {
                    SlackUserId::parse(id).map_err(|_| {
                        err(
                            "BILLING_APPROVERS",
                            &format!(
                                "`{}` is not a Slack user id (U...)",
                                id.chars().take(20).collect::<String>()
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let access = AccessConfig {
            operators: get("BILLING_OPERATORS")
                .map(|raw| operators(&raw, &err))
                .transpose()?,
            channels: get("BILLING_CHANNELS")
                .map(|raw| {
                    ids(&raw)
                        .map(|id| {
                            ChannelId::parse(id).map_err(|_| {
                                err(
                                    "BILLING_CHANNELS",
                                    &format!(
                                        "`{}` is not a Slack channel id (C...)",
                                        id.chars().take(20).collect::<String>()
                                    ),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()
                })
                .transpose()?,
        };
        let refund_limit_minor = match get("BILLING_REFUND_LIMIT") {
            None => DEFAULT_REFUND_LIMIT_MINOR,
            Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                err(
                    "BILLING_REFUND_LIMIT",
                    "expected a whole number of minor units (10000 = EUR 100.00)",
                )
            })?,
        };
        let approval_notify = match get("BILLING_APPROVAL_NOTIFY") {
            None => crate::domain::ApprovalNotify::default(),
            Some(raw) => crate::domain::ApprovalNotify::parse(&raw).map_err(|_| {
                err(
                    "BILLING_APPROVAL_NOTIFY",
                    "expected dm, channel:C… (a channel id) or off",
                )
            })?,
        };
        let portal_login_url = match get("BILLING_PORTAL_LOGIN_URL") {
            None => None,
            Some(url) if url.starts_with("https://") && !url.contains(char::is_whitespace) => {
                Some(url)
            }
            Some(_) => {
                return Err(err(
                    "BILLING_PORTAL_LOGIN_URL",
                    "expected an https:// link to the customer portal login page",
                ))
            }
        };

        let shutdown_grace = match get("SHUTDOWN_GRACE_SECS") {
            None => Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECS),
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 3600)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    err(
                        "SHUTDOWN_GRACE_SECS",
                        "expected whole seconds, 0 to 3600 (default 25)",
                    )
                })?,
        };

        let witness = WitnessConfig::from_lookup(&get)?;

        Ok(Self {
            slack,
            stripe: StripeConfig {
                key,
                api_base,
                read_rate,
            },
            redis_url,
            redis_prefix,
            redis_tls,
            redis_wait,
            bind_addr,
            policy: PolicyConfig {
                approvers,
                refund_limit_minor,
            },
            access,
            portal_login_url,
            approval_notify,
            shutdown_grace,
            witness,
        })
    }
}

/// The comma-separated ids of a setting, trimmed, empty ones left out.
fn ids(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `BILLING_OPERATORS`: user ids (`U…`, `W…`) and user group ids (`S…`).
fn operators(
    raw: &str,
    err: &impl Fn(&'static str, &str) -> ConfigError,
) -> Result<Operators, ConfigError> {
    let mut out = Operators::default();
    for id in ids(raw) {
        if let Ok(group) = UserGroupId::parse(id) {
            out.groups.push(group);
        } else if let Ok(user) = SlackUserId::parse(id) {
            out.users.insert(user);
        } else {
            return Err(err(
                "BILLING_OPERATORS",
                &format!(
                    "`{}` is neither a Slack user id (U...) nor a user group id (S...)",
                    id.chars().take(20).collect::<String>()
                ),
            ));
        }
    }
    Ok(out)
}

/// Just the Redis settings, for commands that need nothing else
/// (`audit show`, `audit verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    pub url: String,
    pub prefix: String,
    pub tls: RedisTls,
    pub wait: ReplicaWait,
}

impl RedisConfig {
    /// # Errors
    /// A malformed `REDIS_URL` or `REDIS_PREFIX`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env_lookup)
    }

    fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let err = |name: &'static str, problem: &str| ConfigError {
            name,
            problem: problem.to_owned(),
        };
        let url = get("REDIS_URL").unwrap_or_else(|| DEFAULT_REDIS_URL.to_owned());
        let target = crate::store::RedisTarget::parse(&url).map_err(|e| ConfigError {
            name: "REDIS_URL",
            problem: e.problem().to_owned(),
        })?;
        let prefix = get("REDIS_PREFIX").unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_owned());
        if prefix.chars().any(char::is_whitespace) {
            return Err(err("REDIS_PREFIX", "must not contain spaces"));
        }
        let pem = |name: &'static str, marker: &str| -> Result<Option<Vec<u8>>, ConfigError> {
            let Some(path) = get(name) else {
                return Ok(None);
            };
            let bytes = std::fs::read(&path)
                .map_err(|e| err(name, &format!("cannot read the PEM file: {}", e.kind())))?;
            if !String::from_utf8_lossy(&bytes).contains(marker) {
                return Err(err(
                    name,
                    &format!("expected a PEM file with a {marker} block"),
                ));
            }
            Ok(Some(bytes))
        };
        let ca_cert = pem("REDIS_CA_CERT", "BEGIN CERTIFICATE")?;
        let client = match (
            pem("REDIS_CLIENT_CERT", "BEGIN CERTIFICATE")?,
            pem("REDIS_CLIENT_KEY", "PRIVATE KEY")?,
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(err(
                    "REDIS_CLIENT_CERT",
                    "set REDIS_CLIENT_CERT and REDIS_CLIENT_KEY together",
                ))
            }
        };
        let tls = RedisTls { ca_cert, client };
        if !tls.is_empty() && !target.is_tls() {
            return Err(err(
                "REDIS_CA_CERT",
                "certificates need a rediss:// or rediss+sentinel:// REDIS_URL (TLS)",
            ));
        }
        // Behind Sentinel there are replicas to wait for; one server has none.
        let default_replicas = u32::from(target.is_sentinel());
        let replicas = match get("REDIS_WAIT_REPLICAS") {
            None => default_replicas,
            Some(raw) => raw.parse::<u32>().ok().filter(|n| *n <= 16).ok_or_else(|| {
                err(
                    "REDIS_WAIT_REPLICAS",
                    "expected how many replicas must hold an approval before money moves, 0 (off) to 16",
                )
            })?,
        };
        let timeout = match get("REDIS_WAIT_TIMEOUT_MS") {
            None => ReplicaWait::DEFAULT_TIMEOUT,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=900).contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| {
                    err(
                        "REDIS_WAIT_TIMEOUT_MS",
                        "expected milliseconds, 1 to 900 (a Redis call is given 1 s)",
                    )
                })?,
        };
        Ok(Self {
            url,
            prefix,
            tls,
            wait: ReplicaWait { replicas, timeout },
        })
    }
}

fn http_base(url: &str, name: &'static str) -> Result<String, ConfigError> {
    if (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace)
    {
        Ok(url.to_owned())
    } else {
        Err(ConfigError {
            name,
            problem: "expected an http(s):// URL".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)], needs_slack: bool) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned(), needs_slack)
    }

    #[test]
    fn missing_stripe_key_names_the_variable() {
        let e = load(&[], false).expect_err("no key");
        assert_eq!(e.name, "STRIPE_SECRET_KEY");
    }

    #[test]
    fn slack_settings_choose_the_mode() {
        let base = [
            ("STRIPE_SECRET_KEY", "sk_test_1"),
            ("SLACK_BOT_TOKEN", "xoxb-1"),
        ];
        assert_eq!(
            load(&base, true).expect_err("no secret").name,
            "SLACK_SIGNING_SECRET"
        );
        let http = load(
            &[
                base[0],
                base[1],
                ("SLACK_SIGNING_SECRET", "abcdef0123456789"),
            ],
            true,
        )
        .expect("http");
        assert!(matches!(
            http.slack.as_ref().map(|s| &s.mode),
            Some(SlackMode::Http { .. })
        ));
        let socket =
            load(&[base[0], base[1], ("SLACK_APP_TOKEN", "xapp-1-abc")], true).expect("socket");
        assert!(matches!(
            socket.slack.map(|s| s.mode),
            Some(SlackMode::Socket { .. })
        ));
    }

    #[test]
    fn a_sentinel_url_waits_for_a_replica_by_default_and_the_wait_is_checked() {
        let redis = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            RedisConfig::from_lookup(&|name: &str| vars.get(name).cloned())
        };
        let sentinel = "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/billing";
        let c = redis(&[("REDIS_URL", sentinel)]).expect("sentinel");
        assert_eq!(c.wait.replicas, 1);
        assert_eq!(c.wait.timeout, ReplicaWait::DEFAULT_TIMEOUT);
        let plain = redis(&[]).expect("default");
        assert_eq!(plain.wait.replicas, 0);
        let off = redis(&[("REDIS_URL", sentinel), ("REDIS_WAIT_REPLICAS", "0")]).expect("off");
        assert_eq!(off.wait.replicas, 0);
        for (name, value) in [
            ("REDIS_WAIT_REPLICAS", "one"),
            ("REDIS_WAIT_TIMEOUT_MS", "1000"),
            ("REDIS_WAIT_TIMEOUT_MS", "0"),
            ("REDIS_URL", "redis+sentinel://:pw@h1/"),
        ] {
            let e = redis(&[("REDIS_URL", sentinel), (name, value)]).expect_err(value);
            assert_eq!(e.name, name);
            assert!(!e.to_string().contains("pw"), "{e}");
        }
    }

    #[test]
    fn bases_are_normalised_and_defaults_apply() {
        let c = load(
            &[
                ("STRIPE_SECRET_KEY", "sk_test_1"),
                ("STRIPE_API_BASE", "http://127.0.0.1:8420"),
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_SIGNING_SECRET", "abcdef0123456789"),
                ("SLACK_API_URL", "http://127.0.0.1:9/api/"),
            ],
            true,
        )
        .expect("config");
        assert_eq!(c.stripe.api_base, "http://127.0.0.1:8420/");
        assert_eq!(
            c.slack.map(|s| s.api_url),
            Some("http://127.0.0.1:9/api".to_owned())
        );
        assert_eq!(c.redis_prefix, DEFAULT_REDIS_PREFIX);
        assert_eq!(c.policy.refund_limit_minor, DEFAULT_REFUND_LIMIT_MINOR);
        assert!(c.policy.approvers.is_empty());
        assert_eq!(c.policy.read_only_warning(), Some(READ_ONLY_WARNING));
        let c = load(
            &[
                ("STRIPE_SECRET_KEY", "sk_test_1"),
                ("BILLING_APPROVERS", "U1"),
            ],
            false,
        )
        .expect("config");
        assert_eq!(c.policy.read_only_warning(), None);
        assert_eq!(
            c.shutdown_grace,
            Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECS)
        );
        assert_eq!(c.stripe.read_rate, DEFAULT_READ_RATE_TEST);
        let live = load(&[("STRIPE_SECRET_KEY", "rk_live_1")], false).expect("live");
        assert_eq!(live.stripe.read_rate, DEFAULT_READ_RATE_LIVE);
        let set = load(
            &[
                ("STRIPE_SECRET_KEY", "rk_live_1"),
                ("STRIPE_READ_RATE", "90"),
            ],
            false,
        )
        .expect("set");
        assert_eq!(set.stripe.read_rate, 90);
    }

    #[test]
    fn the_witness_settings_are_read_once_with_their_defaults() {
        let base = ("STRIPE_SECRET_KEY", "sk_test_1");
        let off = load(&[base], false).expect("config");
        assert_eq!(off.witness.target, None);
        assert_eq!(
            off.witness.interval,
            Duration::from_secs(DEFAULT_WITNESS_INTERVAL_SECS)
        );
        assert!(off.witness.key.is_none());
        let on = load(
            &[
                base,
                ("AUDIT_WITNESS", "slack:C0AUDIT01"),
                ("AUDIT_WITNESS_INTERVAL", "5"),
                ("AUDIT_SIGNING_KEY", "k3y-0123456789abcdef0123456789abcdef"),
            ],
            false,
        )
        .expect("config");
        assert_eq!(
            on.witness
                .target
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("slack:C0AUDIT01")
        );
        assert_eq!(on.witness.interval, Duration::from_secs(5));
        assert!(
            !format!("{on:?}").contains("0123456789abcdef"),
            "the key never shows"
        );
        for (name, value) in [
            ("AUDIT_WITNESS", "slack:#audit"),
            ("AUDIT_WITNESS", "s3://bucket"),
            ("AUDIT_WITNESS_INTERVAL", "0"),
            ("AUDIT_WITNESS_INTERVAL", "a minute"),
            ("AUDIT_SIGNING_KEY", "short-secret-key"),
        ] {
            let e = load(&[base, (name, value)], false).expect_err(value);
            assert_eq!(e.name, name);
            assert!(
                name != "AUDIT_SIGNING_KEY" || !e.to_string().contains(value),
                "{e}"
            );
        }
    }

    #[test]
    fn malformed_values_name_their_variable_without_echoing_secrets() {
        let e = load(&[("STRIPE_SECRET_KEY", "pk_live_secretvalue")], false)
            .expect_err("publishable key");
        assert_eq!(e.name, "STRIPE_SECRET_KEY");
        assert!(!e.to_string().contains("secretvalue"));
        let e = load(
            &[
                ("STRIPE_SECRET_KEY", "sk_test_1"),
                ("BILLING_APPROVERS", "U1,bob"),
            ],
            false,
        )
        .expect_err("bad id");
        assert_eq!(e.name, "BILLING_APPROVERS");
        let e = load(
            &[
                ("STRIPE_SECRET_KEY", "sk_test_1"),
                ("BILLING_REFUND_LIMIT", "-5"),
            ],
            false,
        )
        .expect_err("negative");
        assert_eq!(e.name, "BILLING_REFUND_LIMIT");
        let e = load(
            &[
                ("STRIPE_SECRET_KEY", "sk_test_1"),
                ("STRIPE_READ_RATE", "0"),
            ],
            false,
        )
        .expect_err("zero rate");
        assert_eq!(e.name, "STRIPE_READ_RATE");
        let e = load(
            &[("STRIPE_SECRET_KEY", "sk_test_1"), ("BIND_ADDR", "nope")],
            false,
        )
        .expect_err("addr");
        assert_eq!(e.name, "BIND_ADDR");
        let e = load(
            &[
                ("STRIPE_SECRET_KEY", "sk_test_1"),
                ("SHUTDOWN_GRACE_SECS", "soon"),
            ],
            false,
        )
        .expect_err("grace");
        assert_eq!(e.name, "SHUTDOWN_GRACE_SECS");
    }
}
