//! An action's plan as data: every Stripe write ([`Step`]) of an approved
//! action with its name, idempotency key and metadata, fixed at the
//! write-ahead intent and stored beside the action. What the plan is for an
//! action, and what Stripe's state says about its steps, is `crate::plan`'s.

use super::{
    ActionKey, CaseId, Charge, ChargeId, CustomerId, Money, Pause, SlackUserId, Subscription,
    SubscriptionId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every Stripe request of one action, as fixed at its first intent.
/// Stored in Redis beside the action and copied into the intent entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Format version of this record.
    pub v: u32,
    /// 1 for the first run; raised only after Stripe confirmed that the
    /// previous attempt did nothing, because Stripe replays a saved answer
    /// (even a 500) for a key it has seen.
    pub attempt: u32,
    /// The approvers named in Stripe's metadata: those of the first intent.
    pub approved_by: Vec<SlackUserId>,
    pub steps: Vec<PlannedStep>,
}

/// One Stripe write of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// Names the step in Redis, in the audit and in Stripe's metadata;
    /// always `step.name()` (kept in the record so its format stays as it was).
    pub name: StepName,
    pub step: Step,
    /// The key of the current attempt.
    pub idempotency_key: String,
    /// Sent as Stripe `metadata`: `case_id`, `action`, `step`, `approved_by`.
    pub metadata: BTreeMap<String, String>,
}

/// What a step asks Stripe to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Step {
    Refund {
        charge: ChargeId,
        amount: Money,
    },
    Cancel {
        subscription: SubscriptionId,
        at_period_end: bool,
    },
    PortalSession {
        customer: CustomerId,
    },
    /// Set (`Some`) or clear (`None`) the subscription's `pause_collection`.
    PauseCollection {
        subscription: SubscriptionId,
        pause: Option<Pause>,
    },
}

/// The name of a step: `refund:ch_…`, `cancel`, `portal` or `pause_collection` in Redis, the
/// audit, idempotency keys and Stripe's metadata; a value everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StepName {
    Refund(ChargeId),
    Cancel,
    Portal,
    PauseCollection,
}

/// A stored step name that is none of [`StepName`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a step name (refund:ch_…, cancel, portal, pause_collection)")]
pub struct StepNameError(String);

impl StepName {
    /// # Errors
    /// When `raw` is not a step name this code writes.
    pub fn parse(raw: &str) -> Result<Self, StepNameError> {
        match raw {
            "cancel" => Ok(Self::Cancel),
            "portal" => Ok(Self::Portal),
            "pause_collection" => Ok(Self::PauseCollection),
            other => other
                .strip_prefix("refund:")
                .and_then(|charge| ChargeId::parse(charge).ok())
                .map(Self::Refund)
                .ok_or_else(|| StepNameError(other.chars().take(40).collect())),
        }
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refund(charge) => write!(f, "refund:{charge}"),
            Self::Cancel => f.write_str("cancel"),
            Self::Portal => f.write_str("portal"),
            Self::PauseCollection => f.write_str("pause_collection"),
        }
    }
}

impl TryFrom<String> for StepName {
    type Error = StepNameError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<StepName> for String {
    fn from(name: StepName) -> Self {
        name.to_string()
    }
}

impl Step {
    /// This step's name.
    pub fn name(&self) -> StepName {
        match self {
            Self::Refund { charge, .. } => StepName::Refund(charge.clone()),
            Self::Cancel { .. } => StepName::Cancel,
            Self::PortalSession { .. } => StepName::Portal,
            Self::PauseCollection { .. } => StepName::PauseCollection,
        }
    }

    /// The Stripe object the step acts on (for the intent's Stripe ids).
    pub fn target(&self) -> String {
        match self {
            Self::Refund { charge, .. } => charge.to_string(),
            Self::Cancel { subscription, .. } | Self::PauseCollection { subscription, .. } => {
                subscription.to_string()
            }
            Self::PortalSession { customer } => customer.to_string(),
        }
    }
}

impl Plan {
    pub const VERSION: u32 = 1;

    /// The same requests under the next attempt's keys.
    pub fn next_attempt(&self, case: &CaseId, action: &ActionKey) -> Plan {
        self.at_attempt(case, action, self.attempt + 1)
    }

    /// The same requests under the keys of `attempt`.
    pub fn at_attempt(&self, case: &CaseId, action: &ActionKey, attempt: u32) -> Plan {
        let steps = self
            .steps
            .iter()
            .map(|s| PlannedStep {
                idempotency_key: idempotency_key(case, action, &s.name, attempt),
                ..s.clone()
            })
            .collect();
        Plan {
            attempt,
            steps,
            ..self.clone()
        }
    }

    /// The refund amount of a single-refund plan (the partial-refund check).
    pub fn refund_amount(&self) -> Option<Money> {
        match self.steps.as_slice() {
            [PlannedStep {
                step: Step::Refund { amount, .. },
                ..
            }] => Some(*amount),
            _ => None,
        }
    }
}

/// The idempotency key of one step: stable across clicks, retries and
/// replicas within an attempt; `…:attemptN` from the second attempt on.
pub fn idempotency_key(case: &CaseId, action: &ActionKey, step: &StepName, attempt: u32) -> String {
    if attempt <= 1 {
        format!("billing-triage:{case}:{action}:{step}")
    } else {
        format!("billing-triage:{case}:{action}:{step}:attempt{attempt}")
    }
}

/// What Stripe holds now for a step, as the Stripe adapter reads it
/// (`StripeGateway::step_state`): the object the step changes. `plan::observe`
/// decides what it means.
#[derive(Debug, Clone, PartialEq)]
pub enum StepState {
    Charge(Charge),
    Subscription(Subscription),
    /// Nothing to read: a portal session is new each time.
    Nothing,
}
