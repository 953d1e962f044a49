//! Churn triage: over the last N days, the canceled
//! subscriptions split voluntary / involuntary, the pending cancellations,
//! and the at-risk ones (past_due, unpaid) with their decline split soft /
//! hard, ranked recoverable first, then by MRR at risk. [`ChurnTally`] keeps
//! only rows the report shows, and the account's open invoice payments
//! ([`OpenPayment`], read by a second scan alongside the first), which
//! [`ChurnTally::finish`] joins to the at-risk rows for their decline,
//! attempts and next retry.
//!
//! # Rules
//!
//! - *Canceled in the period*: status `canceled`, ended (`ended_at`, else
//!   `canceled_at`) at or after `now − N days`. **Voluntary** when
//!   `cancellation_details.reason` is `cancellation_requested` or absent;
//!   **involuntary** when it is `payment_failed` or `payment_disputed`, or
//!   when it **ended unpaid**: its invoice's payment is still open with a
//!   failed attempt (a decline code, or attempts made), whatever the reason.
//! - *Pending*: a live subscription (active, trialing, past_due) with
//!   `cancel_at_period_end` (ends at `current_period_end`) or `cancel_at`.
//! - *At risk*: `past_due` or `unpaid`. Its failed payment is the open
//!   invoice payment of its subscription (else of its latest invoice): the
//!   one with a decline code, the newest first. A decline is **soft** when retrying
//!   can work ([`SOFT_DECLINES`]), **hard** when only a new payment method
//!   helps ([`HARD_DECLINES`]), else unknown.
//! - *Recoverable now*: a soft decline, or an expired card on a customer
//!   with an email. Rows: recoverable first, then MRR at risk, largest first.
//! - MRR of one subscription: the plans report's rule (forever coupons only).

use serde::Serialize;

use super::plans::{cut, discounted_amounts};
use std::collections::HashMap;

use super::{monthly, OpenPayment, ScannedSubscription};
use crate::domain::{Currency, Money};

/// Declines worth retrying (Stripe decline codes).
pub const SOFT_DECLINES: &[&str] = &[
    "insufficient_funds",
    "do_not_honor",
    "try_again_later",
    "generic_decline",
    "card_declined",
    "processing_error",
    "issuer_not_available",
    "approve_with_id",
    "call_issuer",
    "card_velocity_exceeded",
    "withdrawal_count_limit_exceeded",
    "reenter_transaction",
    "no_action_taken",
    "authentication_required",
    "could_not_process",
];

/// Declines where only a new payment method helps.
pub const HARD_DECLINES: &[&str] = &[
    "stolen_card",
    "lost_card",
    "pickup_card",
    "restricted_card",
    "incorrect_number",
    "invalid_number",
    "expired_card",
    "incorrect_cvc",
    "invalid_cvc",
    "invalid_account",
    "card_not_supported",
    "currency_not_supported",
    "fraudulent",
    "merchant_blacklist",
    "security_violation",
    "revocation_of_authorization",
    "revocation_of_all_authorizations",
    "transaction_not_allowed",
    "new_account_information_available",
    "do_not_try_again",
    "not_permitted",
];

/// How a decline can be fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decline {
    Soft,
    Hard,
    Unknown,
}

/// Soft, hard or unknown, by Stripe's decline code.
pub fn classify_decline(code: Option<&str>) -> Decline {
    match code {
        Some(c) if SOFT_DECLINES.contains(&c) => Decline::Soft,
        Some(c) if HARD_DECLINES.contains(&c) => Decline::Hard,
        _ => Decline::Unknown,
    }
}

/// The churn report being built.
#[derive(Debug)]
pub struct ChurnTally {
    since: i64,
    n_scanned: u64,
    canceled: Vec<CanceledRow>,
    pending: Vec<PendingRow>,
    at_risk: Vec<AtRiskCandidate>,
    /// Open invoice payments by subscription id (else invoice id), the
    /// most telling one each.
    payments: HashMap<String, OpenPayment>,
}

/// An at-risk subscription waiting for its failed-payment details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRiskCandidate {
    pub subscription: String,
    pub customer: String,
    pub status: String,
    pub latest_invoice: Option<String>,
    pub mrr_minor: i64,
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CanceledRow {
    pub subscription: String,
    pub customer: String,
    pub ended_at: Option<i64>,
    pub voluntary: bool,
    /// Ended with a failed payment still open (so involuntary).
    pub ended_unpaid: bool,
    pub reason: Option<String>,
    pub feedback: Option<String>,
    pub comment: Option<String>,
    pub mrr_minor: i64,
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PendingRow {
    pub subscription: String,
    pub customer: String,
    /// When it ends.
    pub cancels_at: Option<i64>,
    pub mrr_minor: i64,
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AtRiskRow {
    pub subscription: String,
    pub customer: String,
    pub status: String,
    pub decline_code: Option<String>,
    pub decline: Decline,
    pub attempts: u32,
    pub next_retry: Option<i64>,
    pub reachable: bool,
    /// Fixable now: a soft decline, or an expired card on a reachable customer.
    pub recoverable: bool,
    pub mrr_minor: i64,
    pub currency: Option<Currency>,
}

/// Per-currency sums, never summed across currencies.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChurnTotal {
    pub currency: Currency,
    pub canceled_mrr_minor: i64,
    pub pending_mrr_minor: i64,
    pub at_risk_mrr_minor: i64,
}

/// The finished churn report (JSON format version 1).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChurnReport {
    pub v: u32,
    pub generated_at: i64,
    pub period_days: u32,
    pub scanned_subscriptions: u64,
    pub voluntary: u64,
    pub involuntary: u64,
    pub canceled: Vec<CanceledRow>,
    pub pending_cancellations: Vec<PendingRow>,
    pub at_risk: Vec<AtRiskRow>,
    pub totals: Vec<ChurnTotal>,
}

impl ChurnReport {
    /// The rows a person can act on, as (what the row says in Slack
    /// markdown, customer id): at-risk subscriptions (recoverable first, as
    /// the report ranks them), then pending cancellations.
    pub fn triage_rows(&self) -> Vec<(String, String)> {
        let at_risk = self.at_risk.iter().map(|r| {
            let recoverable = if r.recoverable { "*recoverable* " } else { "" };
            let decline = r.decline_code.as_deref().unwrap_or("no decline code");
            (
                format!(
                    "{recoverable}`{}` {} · {decline} · {}",
                    r.customer, r.status, r.subscription
                ),
                r.customer.clone(),
            )
        });
        let pending = self.pending_cancellations.iter().map(|r| {
            (
                format!("`{}` pending cancellation · {}", r.customer, r.subscription),
                r.customer.clone(),
            )
        });
        at_risk.chain(pending).collect()
    }
}

/// One subscription's MRR and currency, by the plans report's rule.
pub fn subscription_mrr(sub: &ScannedSubscription) -> (i64, Option<Currency>) {
    let (forever, _) = discounted_amounts(sub);
    let mrr = sub
        .items
        .iter()
        .zip(forever)
        .map(|(i, amount)| monthly(amount, i.interval, i.interval_count))
        .sum();
    (mrr, sub.items.first().map(|i| i.currency))
}

impl ChurnTally {
    /// Churn from `since` (Unix seconds) on.
    pub fn new(since: i64) -> Self {
        Self {
            since,
            n_scanned: 0,
            canceled: Vec::new(),
            pending: Vec::new(),
            at_risk: Vec::new(),
            payments: HashMap::new(),
        }
    }

    pub fn scanned(&self) -> u64 {
        self.n_scanned
    }

    /// Folds one subscription in.
    pub fn add(&mut self, sub: &ScannedSubscription) {
        self.n_scanned += 1;
        let live = matches!(sub.status.as_str(), "active" | "trialing" | "past_due");
        if sub.status == "canceled" {
            let ended = sub.ended_at.or(sub.canceled_at);
            if ended.is_some_and(|t| t >= self.since) {
                let (mrr_minor, currency) = subscription_mrr(sub);
                let c = sub.cancellation.clone().unwrap_or_default();
                let voluntary = !matches!(
                    c.reason.as_deref(),
                    Some("payment_failed" | "payment_disputed")
                );
                self.canceled.push(CanceledRow {
                    subscription: sub.id.clone(),
                    customer: sub.customer.clone(),
                    ended_at: ended,
                    voluntary,
                    ended_unpaid: false,
                    reason: c.reason,
                    feedback: c.feedback,
                    comment: c.comment,
                    mrr_minor,
                    currency,
                });
            }
        }
        if live && (sub.cancel_at_period_end || sub.cancel_at.is_some()) {
            let (mrr_minor, currency) = subscription_mrr(sub);
            self.pending.push(PendingRow {
                subscription: sub.id.clone(),
                customer: sub.customer.clone(),
                cancels_at: sub.cancel_at.or(sub.current_period_end),
                mrr_minor,
                currency,
            });
        }
        if matches!(sub.status.as_str(), "past_due" | "unpaid") {
            let (mrr_minor, currency) = subscription_mrr(sub);
            self.at_risk.push(AtRiskCandidate {
                subscription: sub.id.clone(),
                customer: sub.customer.clone(),
                status: sub.status.clone(),
                latest_invoice: sub.latest_invoice.clone(),
                mrr_minor,
                currency,
            });
        }
    }

    /// The at-risk subscriptions found so far.
    pub fn at_risk(&self) -> &[AtRiskCandidate] {
        &self.at_risk
    }

    /// Folds one open invoice payment in; of several for one subscription
    /// (or invoice) the one with a decline code wins, then the newest.
    pub fn add_open_payment(&mut self, payment: OpenPayment) {
        let key = payment
            .subscription
            .clone()
            .unwrap_or_else(|| payment.invoice.clone());
        let rank = |p: &OpenPayment| (p.details.decline_code.is_some(), p.created);
        match self.payments.get(&key) {
            Some(kept) if rank(kept) >= rank(&payment) => {}
            _ => {
                self.payments.insert(key, payment);
            }
        }
    }

    /// The report: each at-risk row with the failed payment of its
    /// subscription, else of its latest invoice (unknown when neither).
    pub fn finish(self, now: i64, period_days: u32) -> ChurnReport {
        let payments = self.payments;
        let mut at_risk: Vec<AtRiskRow> = self
            .at_risk
            .into_iter()
            .map(|c| {
                let d = payments
                    .get(&c.subscription)
                    .or_else(|| c.latest_invoice.as_ref().and_then(|i| payments.get(i)))
                    .map(|p| p.details.clone())
                    .unwrap_or_default();
                let decline = classify_decline(d.decline_code.as_deref());
                let recoverable = decline == Decline::Soft
                    || (d.decline_code.as_deref() == Some("expired_card") && d.reachable);
                AtRiskRow {
                    subscription: c.subscription,
                    customer: c.customer,
                    status: c.status,
                    decline_code: d.decline_code,
                    decline,
                    attempts: d.attempts,
                    next_retry: d.next_retry,
                    reachable: d.reachable,
                    recoverable,
                    mrr_minor: c.mrr_minor,
                    currency: c.currency,
                }
            })
            .collect();
        at_risk.sort_by(|a, b| {
            (
                !a.recoverable,
                std::cmp::Reverse(a.mrr_minor),
                &a.subscription,
            )
                .cmp(&(
                    !b.recoverable,
                    std::cmp::Reverse(b.mrr_minor),
                    &b.subscription,
                ))
        });
        let mut canceled = self.canceled;
        for row in &mut canceled {
            let unpaid = payments
                .get(&row.subscription)
                .is_some_and(|p| p.details.decline_code.is_some() || p.details.attempts > 0);
            if unpaid {
                row.ended_unpaid = true;
                row.voluntary = false;
            }
        }
        canceled.sort_by(|a, b| (b.ended_at, &a.subscription).cmp(&(a.ended_at, &b.subscription)));
        let mut pending = self.pending;
        pending
            .sort_by(|a, b| (a.cancels_at, &a.subscription).cmp(&(b.cancels_at, &b.subscription)));
        let mut totals: Vec<ChurnTotal> = Vec::new();
        let mut add = |currency: Option<Currency>, f: &dyn Fn(&mut ChurnTotal)| {
            let Some(currency) = currency else { return };
            let i = match totals.iter().position(|t| t.currency == currency) {
                Some(i) => i,
                None => {
                    totals.push(ChurnTotal {
                        currency,
                        canceled_mrr_minor: 0,
                        pending_mrr_minor: 0,
                        at_risk_mrr_minor: 0,
                    });
                    totals.len() - 1
                }
            };
            f(&mut totals[i]);
        };
        for r in &canceled {
            add(r.currency, &|t| t.canceled_mrr_minor += r.mrr_minor);
        }
        for r in &pending {
            add(r.currency, &|t| t.pending_mrr_minor += r.mrr_minor);
        }
        for r in &at_risk {
            add(r.currency, &|t| t.at_risk_mrr_minor += r.mrr_minor);
        }
        totals.sort_by(|a, b| a.currency.as_str().cmp(b.currency.as_str()));
        ChurnReport {
            v: 1,
            generated_at: now,
            period_days,
            scanned_subscriptions: self.n_scanned,
            voluntary: canceled.iter().filter(|c| c.voluntary).count() as u64,
            involuntary: canceled.iter().filter(|c| !c.voluntary).count() as u64,
            canceled,
            pending_cancellations: pending,
            at_risk,
            totals,
        }
    }
}

fn money(minor: i64, currency: Option<Currency>) -> String {
    currency.map_or_else(|| minor.to_string(), |c| Money::new(minor, c).to_string())
}

fn date(ts: Option<i64>) -> String {
    let Some(ts) = ts else {
        return "-".into();
    };
    crate::domain::iso_day(ts).unwrap_or_else(|| ts.to_string())
}

impl super::Report for ChurnReport {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }

    /// One row per subscription: `section` is canceled, pending or at_risk.
    ///
    /// # Errors
    /// Only if the CSV writer fails, which it does not on a `Vec`.
    fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "section",
            "subscription",
            "customer",
            "date",
            "voluntary",
            "reason",
            "comment",
            "decline_code",
            "decline",
            "recoverable",
            "attempts",
            "currency",
            "mrr_minor",
        ])?;
        let cur = |c: Option<Currency>| c.map(|c| c.as_str().to_owned()).unwrap_or_default();
        let opt = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
        for r in &self.at_risk {
            let decline = serde_json::to_value(r.decline)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            w.write_record([
                "at_risk",
                &r.subscription,
                &r.customer,
                &opt(r.next_retry),
                "",
                "",
                "",
                r.decline_code.as_deref().unwrap_or(""),
                &decline,
                &r.recoverable.to_string(),
                &r.attempts.to_string(),
                &cur(r.currency),
                &r.mrr_minor.to_string(),
            ])?;
        }
        for r in &self.canceled {
            w.write_record([
                "canceled",
                &r.subscription,
                &r.customer,
                &opt(r.ended_at),
                &r.voluntary.to_string(),
                r.reason.as_deref().unwrap_or(""),
                r.comment.as_deref().unwrap_or(""),
                "",
                "",
                "",
                "",
                &cur(r.currency),
                &r.mrr_minor.to_string(),
            ])?;
        }
        for r in &self.pending_cancellations {
            w.write_record([
                "pending",
                &r.subscription,
                &r.customer,
                &opt(r.cancels_at),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                &cur(r.currency),
                &r.mrr_minor.to_string(),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The text report: at risk (recoverable first), pending, canceled.
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Churn, last {} days ({} subscriptions scanned): {} canceled ({} voluntary, {} involuntary), {} pending cancellations, {} at risk",
            self.period_days,
            self.scanned_subscriptions,
            self.canceled.len(),
            self.voluntary,
            self.involuntary,
            self.pending_cancellations.len(),
            self.at_risk.len()
        );
        let _ = writeln!(out, "\nAt risk, recoverable first:");
        for r in &self.at_risk {
            let _ = writeln!(
                out,
                "  {:<11} {:<28} {:<22} {:<9} {:<22} {:<5} attempts {:<2} next retry {:<10} {}",
                if r.recoverable { "RECOVERABLE" } else { "" },
                cut(&r.subscription, 28),
                cut(&r.customer, 22),
                r.status,
                r.decline_code.as_deref().unwrap_or("(no decline code)"),
                match r.decline {
                    Decline::Soft => "soft",
                    Decline::Hard => "hard",
                    Decline::Unknown => "?",
                },
                r.attempts,
                date(r.next_retry),
                money(r.mrr_minor, r.currency)
            );
        }
        let _ = writeln!(out, "\nPending cancellations:");
        for r in &self.pending_cancellations {
            let _ = writeln!(
                out,
                "  {:<28} {:<22} ends {:<10} {}",
                cut(&r.subscription, 28),
                cut(&r.customer, 22),
                date(r.cancels_at),
                money(r.mrr_minor, r.currency)
            );
        }
        let _ = writeln!(out, "\nCanceled:");
        for r in &self.canceled {
            let _ = writeln!(
                out,
                "  {:<28} {:<22} {:<10} {:<11} {:<22} {} {}",
                cut(&r.subscription, 28),
                cut(&r.customer, 22),
                date(r.ended_at),
                if r.voluntary {
                    "voluntary"
                } else {
                    "involuntary"
                },
                match (r.ended_unpaid, r.reason.as_deref()) {
                    (true, Some("payment_failed" | "payment_disputed")) | (false, _) =>
                        r.reason.as_deref().unwrap_or("-"),
                    (true, _) => "ended unpaid",
                },
                money(r.mrr_minor, r.currency),
                r.feedback
                    .iter()
                    .chain(r.comment.iter())
                    .map(|s| format!("\"{}\"", cut(s, 80)))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let _ = writeln!(out, "\nMRR per currency (never summed across currencies):");
        for t in &self.totals {
            let _ = writeln!(
                out,
                "  {}: canceled {}, pending {}, at risk {}",
                t.currency,
                Money::new(t.canceled_mrr_minor, t.currency),
                Money::new(t.pending_mrr_minor, t.currency),
                Money::new(t.at_risk_mrr_minor, t.currency)
            );
        }
        let _ = write!(out, "\n{}", super::MRR_RULES);
        out
    }
}
