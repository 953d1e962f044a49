//! A triaged case: the snapshot, the category with its evidence, and the
//! proposed actions (docs/PLAYBOOK.md §2–§5). Built by the core from plain data;
//! rendered by `card`, drafted from by `followup`, acted on by the approve
//! workflow.

use super::{
    ActionKey, BillingSnapshot, CaseId, ChargeId, CustomerId, InvoiceId, LookupQuery, Money, Pause,
    SlackUserId, SubscriptionId,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who did something: a Slack user, the command line, or the bot itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    Slack(SlackUserId),
    /// A local operator at the command line (`$USER`, for the audit only).
    Cli(String),
    System,
}

/// The five playbook categories, spelled as in docs/PLAYBOOK.md §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    DuplicatePersonalSubscription,
    GenuineMultiSeatIntent,
    FailedPayment,
    MissingSelfServeControl,
    ProductFailure,
}

/// The classification outcome. Thin evidence is a value, never an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Triage {
    Classified {
        category: Category,
        /// The facts that led there, one sentence each.
        evidence: Vec<String>,
    },
    /// Signals do not support any category with confidence.
    NeedsReview {
        /// What was seen.
        evidence: Vec<String>,
        /// What would settle it.
        missing: Vec<String>,
    },
    /// No customer matched the identifier.
    NotFound,
}

/// What an action does once approved. Targets are ids from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ActionKind {
    /// Give self-serve control back: a billing-portal session for the customer
    /// (created only when approved, shown only to the approver).
    PortalLink { customer: CustomerId },
    /// Point the customer at an unpaid invoice's hosted page.
    InvoiceLink { invoice: InvoiceId },
    /// Cancel one subscription, now or at the end of its period.
    CancelSubscription {
        subscription: SubscriptionId,
        at_period_end: bool,
    },
    /// The duplicate fix as one decision: cancel the extra subscription now
    /// and refund what it charged, each step run exactly once.
    CancelDuplicate {
        subscription: SubscriptionId,
        refunds: Vec<RefundTarget>,
    },
    /// Refund (part of) one charge; never more than is left on it.
    Refund(RefundTarget),
    /// Pause payment collection on one subscription (`pause: Some`, for a
    /// customer who asks to pause rather than cancel), or resume it
    /// (`pause: None`). Stripe's `pause_collection`; the subscription
    /// itself stays.
    PauseCollection {
        subscription: SubscriptionId,
        pause: Option<Pause>,
    },
    /// No Stripe change: explain the billing model to the customer.
    ClarifyBillingModel,
    /// Close the case with no action.
    CloseNoAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTarget {
    pub charge: ChargeId,
    pub amount: Money,
}

/// One proposal on the card, safest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedAction {
    /// `a1`, `a2`, … in card order (`c1`… when chosen); with the case id
    /// it names the action.
    pub key: ActionKey,
    pub kind: ActionKind,
    /// What the operator reads: "Cancel sub_… (created 4 min after sub_…)".
    pub summary: String,
    /// Why this is the right step.
    pub rationale: String,
    /// Proposed by the bot, or chosen by an operator from "More actions…".
    /// Either way it goes through the same policy, execution and audit.
    #[serde(default, skip_serializing_if = "Origin::is_proposed")]
    pub origin: Origin,
}

/// A kind's own lines in the customer's draft: the ids of its messages in
/// every `followup/locales/<tag>/followup.ftl` (`$date`, and `$until` when
/// it names a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftLines {
    /// Before it ran: what the team reviews next.
    pub next: &'static str,
    /// After Stripe confirmed it.
    pub done: &'static str,
    /// Unix seconds of the day the done line names.
    pub until: Option<i64>,
}

/// Where an action on the card came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "by")]
pub enum Origin {
    /// Proposed by the bot from the triage.
    #[default]
    Proposed,
    /// Chosen by this operator; for the four-eyes rule they count as its
    /// requester, so they never approve it alone.
    ChosenBy(SlackUserId),
    /// Proposed by the bot when this operator's **Add context** triaged the
    /// case again: the words they gave (unverified) led to it, so for the
    /// four-eyes rule they count as its requester, as a chooser does.
    PromptedBy(Actor),
}

impl Origin {
    pub fn is_proposed(&self) -> bool {
        matches!(self, Self::Proposed)
    }

    /// The operator who chose the action, if one did.
    pub fn chooser(&self) -> Option<&SlackUserId> {
        match self {
            Self::ChosenBy(user) => Some(user),
            Self::Proposed | Self::PromptedBy(_) => None,
        }
    }

    /// Whether `user`'s added context led the bot to propose the action.
    pub fn prompted_by(&self, user: &SlackUserId) -> bool {
        matches!(self, Self::PromptedBy(Actor::Slack(id)) if id == user)
    }
}

/// The product or website change that would stop the case recurring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductGap {
    /// Countable across cases, e.g. `no_duplicate_guard`.
    pub surface: String,
    pub note: String,
}

/// Money moved and recurring revenue kept or lost if every proposal runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RevenueImpact {
    pub refunded: Vec<Money>,
    pub mrr_lost: Vec<Money>,
    pub mrr_kept: Vec<Money>,
}

/// A draft message to the customer; never holds a portal session URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub locale: String,
    pub text: String,
}

/// Everything the card shows, as one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Format version of this record (CLI JSON and Redis).
    pub version: u32,
    pub id: CaseId,
    pub requested_by: Actor,
    /// The customer's own words, when the case came from a message.
    pub message: Option<String>,
    pub snapshot: BillingSnapshot,
    pub triage: Triage,
    pub actions: Vec<ProposedAction>,
    pub revenue: RevenueImpact,
    pub followup: FollowUp,
    pub product_gap: Option<ProductGap>,
    /// What the operator must not miss before approving anything: the message
    /// addresses the bot or the approvers, names another customer, or a
    /// charge is disputed. Shown first on the card.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Where the case's words came from, operator notes, and the other
    /// customers the message named.
    #[serde(default, skip_serializing_if = "CaseContext::is_empty")]
    pub context: CaseContext,
}

impl Case {
    pub const VERSION: u32 = 1;

    /// The customer's words, oldest first: [`Case::message`], then the
    /// messages added with Add context.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        self.message
            .as_deref()
            .into_iter()
            .chain(self.context.messages.iter().map(|m| m.text.as_str()))
    }

    /// Adds a customer's message an operator gave (Add context): the case's
    /// message when it has none yet, else after the others. Then keeps at
    /// most `max_chars` characters of the customer's words in all, the
    /// newest: the oldest text is cut from its start ("…" in its place) or
    /// dropped. Returns whether older text was cut.
    pub fn add_message(&mut self, given: OperatorNote, max_chars: usize) -> bool {
        if self.message.is_none() && self.context.messages.is_empty() {
            self.message = Some(given.text);
            self.context.message_given_by = Some(given.by);
        } else {
            self.context.messages.push(given);
        }
        let mut total: usize = self.messages().map(|m| m.chars().count()).sum();
        let cut = total > max_chars;
        while total > max_chars {
            let excess = total - max_chars;
            let oldest = match (&mut self.message, self.context.messages.first_mut()) {
                (Some(message), _) => message,
                (None, Some(added)) => &mut added.text,
                (None, None) => break,
            };
            let n = oldest.chars().count();
            if n > excess + 1 {
                // Its end stays, after "…".
                let kept: String = oldest.chars().skip(excess + 1).collect();
                *oldest = format!("…{kept}");
                break;
            }
            total -= n;
            if self.message.take().is_some() {
                self.context.message_given_by = None;
            } else if !self.context.messages.is_empty() {
                self.context.messages.remove(0);
            }
        }
        cut
    }
}

/// What surrounds a case besides Stripe's state: who gave the customer's
/// message (`Case::message`) when an operator typed it rather than the
/// shortcut reading it from Slack, the customer's later messages and the
/// operators' notes added with **Add context**, and the other identifiers
/// the triaged message named (each looked up on its own card).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseContext {
    /// The operator who typed or pasted the customer's message; `None` when
    /// it is the message the shortcut ran on (or there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_given_by: Option<Actor>,
    /// The customer's messages added after `Case::message` (Add context),
    /// scrubbed, oldest first, each with the operator who gave it. Kept
    /// apart so that each is read on its own: a sign-off or a reply header
    /// in one does not hide the next from the triage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<OperatorNote>,
    /// Operator notes, scrubbed, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<OperatorNote>,
    /// Identifiers the message named besides the one looked up, that are
    /// not this case's customers: most trusted first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_named: Vec<LookupQuery>,
}

impl CaseContext {
    /// Adds an operator's note, keeping the newest `max` notes. Returns how
    /// many older notes were dropped.
    pub fn add_note(&mut self, note: OperatorNote, max: usize) -> usize {
        self.notes.push(note);
        let dropped = self.notes.len().saturating_sub(max);
        self.notes.drain(..dropped);
        dropped
    }

    pub fn is_empty(&self) -> bool {
        self.message_given_by.is_none()
            && self.messages.is_empty()
            && self.notes.is_empty()
            && self.also_named.is_empty()
    }
}

/// A text an operator added to a case (scrubbed, clipped): a note, or a
/// customer's message they gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorNote {
    pub by: Actor,
    /// Unix seconds.
    pub at: i64,
    pub text: String,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Self::DuplicatePersonalSubscription,
        Self::GenuineMultiSeatIntent,
        Self::FailedPayment,
        Self::MissingSelfServeControl,
        Self::ProductFailure,
    ];

    /// The playbook's name.
    pub fn label(self) -> &'static str {
        match self {
            Self::DuplicatePersonalSubscription => "Duplicate personal subscription",
            Self::GenuineMultiSeatIntent => "Genuine multi-seat / team intent",
            Self::FailedPayment => "Failed payment / incomplete checkout",
            Self::MissingSelfServeControl => "Missing self-serve control",
            Self::ProductFailure => "Product failure or broken trust",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Slack(id) => id.fmt(f),
            Self::Cli(user) => write!(f, "cli:{user}"),
            Self::System => f.write_str("system"),
        }
    }
}

impl ActionKind {
    /// Stable machine name, for audit entries and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::PortalLink { .. } => "portal_link",
            Self::InvoiceLink { .. } => "invoice_link",
            Self::CancelSubscription { .. } => "cancel_subscription",
            Self::CancelDuplicate { .. } => "cancel_duplicate",
            Self::Refund(_) => "refund",
            Self::PauseCollection { pause: Some(_), .. } => "pause_collection",
            Self::PauseCollection { pause: None, .. } => "resume_collection",
            Self::ClarifyBillingModel => "clarify_billing_model",
            Self::CloseNoAction => "close_no_action",
        }
    }

    /// Moves money, ends a subscription or changes what the customer is
    /// billed: needs an approver other than the requester (docs/PLAYBOOK.md
    /// §3.4), and the card asks to confirm it.
    pub fn is_money_moving(&self) -> bool {
        match self {
            Self::Refund(_)
            | Self::CancelDuplicate { .. }
            | Self::CancelSubscription { .. }
            | Self::PauseCollection { .. } => true,
            Self::PortalLink { .. }
            | Self::InvoiceLink { .. }
            | Self::ClarifyBillingModel
            | Self::CloseNoAction => false,
        }
    }

    /// The follow-up lines of a kind the draft states on its own (refunds
    /// and cancellations are worded together by `followup`): `None` for
    /// those and for kinds that change nothing the customer sees.
    pub fn draft_lines(&self) -> Option<DraftLines> {
        match self {
            Self::PauseCollection {
                pause: Some(pause), ..
            } => Some(DraftLines {
                next: "next-pause",
                done: if pause.resumes_at.is_some() {
                    "done-paused-until"
                } else {
                    "done-paused"
                },
                until: pause.resumes_at,
            }),
            Self::PauseCollection { pause: None, .. } => Some(DraftLines {
                next: "next-resume",
                done: "done-resumed",
                until: None,
            }),
            Self::PortalLink { .. }
            | Self::InvoiceLink { .. }
            | Self::CancelSubscription { .. }
            | Self::CancelDuplicate { .. }
            | Self::Refund(_)
            | Self::ClarifyBillingModel
            | Self::CloseNoAction => None,
        }
    }

    /// The Stripe objects it touches (for the intent's audit entry).
    pub fn stripe_ids(&self) -> Vec<String> {
        match self {
            Self::PortalLink { customer } => vec![customer.to_string()],
            Self::InvoiceLink { invoice } => vec![invoice.to_string()],
            Self::CancelSubscription { subscription, .. }
            | Self::PauseCollection { subscription, .. } => vec![subscription.to_string()],
            Self::CancelDuplicate {
                subscription,
                refunds,
            } => std::iter::once(subscription.to_string())
                .chain(refunds.iter().map(|r| r.charge.to_string()))
                .collect(),
            Self::Refund(target) => vec![target.charge.to_string()],
            Self::ClarifyBillingModel | Self::CloseNoAction => Vec::new(),
        }
    }
}

impl Triage {
    pub fn category(&self) -> Option<Category> {
        match self {
            Self::Classified { category, .. } => Some(*category),
            _ => None,
        }
    }
}

/// A phrase family found in the customer's message (docs/PLAYBOOK.md §2 signals).
/// The phrase table lives in `triage::signals`; this is what it yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    AsksHowToCancel,
    AsksForInvoice,
    AsksToChangePlan,
    AsksToUpdateCard,
    ReportsOutage,
    ReportsBug,
    ChargedAfterCancelling,
    SurpriseRenewal,
    WantsRefund,
    ChargedTwice,
    MentionsTeamOrSeats,
    PaymentFailed,
    /// Instructions to the bot, the operator or the approvers: a claimed
    /// approval, an override, a sender claiming to be Stripe, a bank or finance.
    AddressesApprovers,
    /// The message names a customer id or email outside this case (set by
    /// `assess`, which knows the snapshot, not by the phrase tables).
    NamesAnotherCustomer,
    /// The extra subscription is used by a different person, on purpose.
    ForSomeoneElse,
    /// The sender says they are one person, not a team.
    OnlyOnePerson,
    /// The sender says they already cancelled.
    SaysCancelled,
    /// Asks where a refund is, or says it arrived.
    AsksRefundStatus,
    /// Asks for a refund again, says one never came, or says they never
    /// asked for the one on record.
    RefundAgain,
    /// Asks about their account: renewal date, status, which account.
    AsksAboutAccount,
    /// Says they do not want a refund ("I'm not asking for a refund").
    DeclinesRefund,
    /// Says not to cancel ("I don't want to cancel", "不要取消").
    DeclinesCancel,
    /// Wants to keep the subscriptions ("keep both", "it is not a
    /// mistake"): nothing of them is cancelled or refunded.
    KeepsSubscriptions,
    /// Asks why the amount, price or quantity billed is what it is: on a
    /// team, a question about the seats (corpus rule 7).
    QuestionsTheAmount,
    /// A note or order addressed to the bot, the triage tool or the system
    /// ("note to the system", "do not ask for approval"): read wherever it
    /// stands, a quoted reply or a forward included, and taken as
    /// [`Signal::AddressesApprovers`] (`triage::read_quoted`).
    InstructsTheBot,
    /// Asks to merge or join two accounts: no self-serve control does it,
    /// and which one to keep is a person's call.
    AsksToMerge,
    /// Threatens to escalate: a chargeback or dispute with the bank, legal
    /// action, a regulator or consumer authority, the bank investigating,
    /// the press or social media. A person answers it.
    ThreatensEscalation,
}

/// Where one proposed action stands. The approve workflow moves it through
/// proposed → approved → executing (→ verifying) → succeeded / failed, or to
/// rejected / expired; the card renders whichever state it is given.
/// `Succeeded` and `Failed` state only what Stripe confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ActionStatus {
    /// Awaiting approval; the card shows Approve / Reject buttons.
    Proposed {
        /// Approvals collected so far (refunds above the limit need two).
        approvals: Vec<SlackUserId>,
        /// Unix seconds after which it can no longer be approved.
        expires_at: i64,
    },
    Executing {
        approved_by: Vec<SlackUserId>,
        /// When this owner claimed it; its lease runs from here.
        at: i64,
        /// The replica running it (its instance id), so that others take over
        /// at once when it announces it is gone; absent in older records.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
    /// Stripe's answer did not say what happened (lost, 5xx, timeout, Redis
    /// lost after the call): the bot asks Stripe before anyone is told.
    Verifying {
        approved_by: Vec<SlackUserId>,
        at: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// Why the answer was unclear, for the card.
        reason: String,
    },
    Succeeded {
        approved_by: Vec<SlackUserId>,
        at: i64,
        /// Stripe object ids the action produced (`re_…`, `sub_…`).
        stripe_ids: Vec<String>,
        /// What Stripe confirmed, one line each ("refunded re_… (confirmed
        /// with Stripe)", refunds someone else made).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    Failed {
        approved_by: Vec<SlackUserId>,
        at: i64,
        error: String,
        /// What Stripe confirmed, as for `Succeeded` (a multi-step action
        /// may have finished some steps).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    Rejected {
        by: SlackUserId,
        at: i64,
        reason: String,
    },
    Expired {
        at: i64,
    },
}
