//! The typed detail of audit entries: [`AuditEvent`] holds one payload type
//! per [`AuditKind`], and is the only way an entry's `kind` and `detail` are
//! written ([`super::NewEntry`]) and the easy way they are read
//! ([`super::AuditEntry::event`]). Each payload serialises to exactly the
//! field names and JSON shapes entries have always had, so that the same
//! event is the same bytes and old entries still read; `docs/AUDIT.md`
//! writes the schema down and a unit test keeps the two equal. Pure data:
//! where the entry goes and how it is chained and hashed is `super`'s.
//!
//! Refusal reasons are stable snake_case codes ([`RefusalCode`]), never a
//! Rust `Debug` print or a sentence: older entries spelled them as the
//! policy's variant names (`"PromptedIt"`, `"AlreadyResolved(\"done\")"`,
//! `"WrongChannel"`) or, for a refused choice, as the sentence the operator
//! read; those still read, and are written as codes from now on.

use super::AuditKind;
use crate::actions::choose::ChoiceRefusal;
use crate::domain::{ActionKind, Category, ChannelId, SlackUserId, Triage};
use crate::plan::{Plan, PlannedStep, Step, StepName};
use crate::policy::Refusal;
use serde::de::IntoDeserializer;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// What happened, with its detail: one variant per [`AuditKind`], each
/// holding the payload type of the same name (docs/AUDIT.md).
#[derive(Clone, Debug, PartialEq)]
pub enum AuditEvent {
    LookupRequested(LookupRequested),
    CaseOpened(CaseOpened),
    LookupFailed(LookupFailed),
    ActionChosen(ActionChosen),
    ApprovalGranted(ApprovalGranted),
    ApprovalRefused(ApprovalRefused),
    ActionRejected(ActionRejected),
    ActionExpired(ActionExpired),
    ExecutionIntent(ExecutionIntent),
    ExecutionSucceeded(ExecutionSucceeded),
    ExecutionFailed(ExecutionFailed),
    ExecutionReconciled(ExecutionReconciled),
    ExecutionVerifying(ExecutionVerifying),
    ExecutionConfirmed(ExecutionConfirmed),
    PortalLinkCreated(PortalLinkCreated),
    FollowUpPosted(FollowUpPosted),
    CaseClosed(CaseClosed),
    ReportRun(ReportRun),
    AccessRefused(AccessRefused),
    ContextAdded(ContextAdded),
    CaseRetriaged(CaseRetriaged),
}

/// An entry's detail does not read as the payload of its kind. The entry
/// itself is untouched (its hash covers the detail as stored).
#[derive(Debug, thiserror::Error)]
#[error("the detail of this `{kind}` audit entry does not read as one ({source}); the entry is kept as stored, read its detail as JSON")]
pub struct EventError {
    pub kind: AuditKind,
    #[source]
    pub source: serde_json::Error,
}

/// `lookup_requested`: someone asked for a customer's billing state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LookupRequested {
    /// What the query named, as `LookupQuery::kind` says it (`"customer
    /// id"`, `"email"`, …), never the value itself.
    pub identifier: String,
}

/// `case_opened`: a lookup found its customer and the case was assessed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CaseOpened {
    pub triage: TriageOutcome,
    /// Actions proposed on the card.
    pub n_actions: usize,
}

/// `lookup_failed`: Stripe could not be read (`reason` only), or no customer
/// matched (`triage` and `n_actions` only).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LookupFailed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LookupFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<TriageOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_actions: Option<usize>,
}

/// Why a lookup failed before any triage.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LookupFailure {
    StripeError,
}

/// `action_chosen`: an operator put an action on the card from "More
/// actions…".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ActionChosen {
    /// `ActionKind::name` (`"refund"`, `"cancel_subscription"`, …).
    pub action: String,
    /// A refund's amount in minor units; `null` for anything else.
    pub amount_minor: Option<i64>,
    /// The action's one-line summary, as the card shows it.
    pub summary: String,
}

/// `approval_granted`: an approval was recorded and more are needed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApprovalGranted {
    pub still_needed: usize,
}

/// `approval_refused`: a click or a choice was refused. `state`,
/// `channel`/`card_channel` and `message` are written only with the reason
/// they belong to (docs/AUDIT.md); `channel` and `card_channel` are then
/// present even when `null`, hence `Option<Option<_>>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(try_from = "RefusedAsStored")]
pub struct ApprovalRefused {
    pub reason: RefusalReason,
    /// What was refused: `"approve"`, `"reject"`, `"choose"`, or the
    /// clicked button's action id.
    pub on: String,
    /// `already_resolved`: the state the action was already in, as
    /// `policy::state_name` says it (`"done"`, `"rejected"`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `wrong_channel`: the channel the click came from (`null` when Slack
    /// did not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Option<ChannelId>>,
    /// `wrong_channel`: the channel of the case card (`null` without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_channel: Option<Option<String>>,
    /// A refused choice: the refusal as the operator read it (it names the
    /// charge, subscription or amounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why something was refused: a [`RefusalCode`], or (only in entries
/// written before reasons were codes) the sentence a refused choice showed.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum RefusalReason {
    Code(RefusalCode),
    /// Read, never written: a choice refused before codes stored the
    /// sentence its operator read.
    Sentence(String),
}

/// The stable name of every refusal, the one serialisation of a reason in
/// the audit. Aliases read the policy's variant names that entries written
/// before these codes hold (`"PromptedIt"`, `"SelfApproval"`, …).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The clicker is not in `BILLING_APPROVERS`.
    #[serde(alias = "NotAnApprover")]
    NotAnApprover,
    /// The clicker requested the case (four eyes).
    #[serde(alias = "SelfApproval")]
    RequestedIt,
    /// The clicker chose this action (four eyes).
    #[serde(alias = "ChoseIt")]
    ChoseIt,
    /// The clicker's added context prompted this action (four eyes).
    #[serde(alias = "PromptedIt")]
    PromptedIt,
    #[serde(alias = "AlreadyApprovedByYou")]
    AlreadyApprovedByYou,
    /// The action's approval window closed.
    #[serde(alias = "Expired")]
    Expired,
    /// The action is no longer proposed (`state` says what it is).
    AlreadyResolved,
    /// The click did not come from the case card's channel.
    #[serde(alias = "WrongChannel")]
    WrongChannel,
    // A choice from "More actions…" refused (`actions::choose::validate`).
    NotThisCasesCharge,
    NotThisCasesSubscription,
    NotThisCasesCustomer,
    NotThisCasesInvoice,
    Disputed,
    NotPaid,
    MoreThanLeft,
    OtherCurrency,
    NotPositive,
    NotLive,
    AlreadyEnding,
    NoHostedPage,
    AlreadyPaused,
    NotPaused,
    ResumeNotAhead,
    Duplicate,
}

/// A stored reason that is none of the forms [`ApprovalRefused`] reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a refusal reason")]
pub struct UnknownReason(String);

/// `action_rejected`: an approver rejected the action.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ActionRejected {
    /// The approver's reason as typed (scrubbed, at most 500 characters).
    pub reason: String,
}

/// `action_expired`: the action's approval window closed. No fields.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ActionExpired {}

/// `execution_intent`: the plan of a run, written before Stripe is called.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecutionIntent {
    /// `ActionKind::name`.
    pub action: String,
    /// Who approved it, the clicker last.
    pub approved_by: Vec<SlackUserId>,
    /// A single refund's amount in minor units; `null` otherwise.
    pub amount_minor: Option<i64>,
    /// 1 for the first attempt; each retry after a confirmed failure adds one.
    pub attempt: u32,
    /// Whether the idempotency keys are new ones (`attempt > 1`).
    pub new_keys: bool,
    pub steps: Vec<IntentStep>,
}

/// One Stripe request of an intent, as it will be sent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IntentStep {
    pub step: StepName,
    /// The request: `plan::Step` (`{"kind":"refund","charge":…,"amount":{…}}`, …).
    pub request: Step,
    pub idempotency_key: String,
    /// The metadata Stripe keeps on the object: what proves it ours.
    pub metadata: BTreeMap<String, String>,
}

/// `execution_succeeded`: every step is confirmed done by Stripe.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecutionSucceeded {
    pub action: String,
    /// What was refunded in minor units, or `null`.
    pub refunded_minor: Option<i64>,
    /// A note for the trail (never a URL), or `null`.
    pub note: Option<String>,
    /// What Stripe confirmed, one line each.
    pub confirmed: Vec<String>,
}

/// `execution_failed`: Stripe (or our check before sending) says this run
/// did nothing more. Which optional fields appear says how it ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecutionFailed {
    pub action: String,
    pub error: String,
    /// Refused: the reference the approver was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Nothing happened: the step Stripe was asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepName>,
    /// Written `true` when an unclear answer was checked with Stripe and
    /// nothing had happened; absent otherwise.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nothing_happened: bool,
    /// Written `true` when the reconciler failed a run that never reached
    /// Stripe; absent otherwise.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nothing_sent: bool,
    /// What Stripe confirmed before the failure; absent from the
    /// reconciler's entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<Vec<String>>,
}

/// `execution_reconciled`: this replica took over an action another left
/// `Executing` or `Verifying`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecutionReconciled {
    /// Written `true` when the action was being verified and is settled by
    /// asking Stripe; absent otherwise.
    #[serde(default, skip_serializing_if = "is_false")]
    pub verifying: bool,
    /// `true`: the run resumes; `false`: it never reached Stripe and is
    /// marked failed; absent when `verifying`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
    pub owner: PreviousOwner,
}

/// Who ran the action before the takeover.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PreviousOwner {
    /// The instance id of its previous owner, or `null`.
    pub from_owner: Option<String>,
    /// Whether that instance announced its exit.
    pub owner_gone: bool,
}

/// `execution_verifying`: Stripe's answer was unclear; the bot asks Stripe.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecutionVerifying {
    pub step: StepName,
    /// What was unclear (`"no answer in time"`, `"HTTP 500"`, …).
    pub reason: String,
}

/// `execution_confirmed`: what Stripe said when asked after an unclear answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecutionConfirmed {
    pub step: StepName,
    /// The step's object (`re_…`, `sub_…`) when Stripe has it as ours; `null`.
    pub found: Option<String>,
    /// What was unclear before asking.
    pub after: String,
    /// Done on Stripe, but not by this step's metadata: what Stripe shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_on_stripe: Option<String>,
    /// Found before sending: the approvers Stripe's metadata names, stored
    /// comma-separated (`"U1,U2"`).
    #[serde(
        default,
        with = "comma_separated",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub approved_on_stripe: Vec<SlackUserId>,
}

/// `portal_link_created`: a billing-portal session was made (its URL never
/// recorded).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PortalLinkCreated {
    /// The approvers it was shown to, stored comma-separated (`"U1,U2"`).
    #[serde(with = "comma_separated")]
    pub shown_to: Vec<SlackUserId>,
}

/// `follow_up_posted`: an updated draft was posted in the card's thread.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FollowUpPosted {
    /// The draft's language tag (`"en"`, `"de"`, …).
    pub locale: String,
}

/// `case_closed`: the case was closed with no action. No fields.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct CaseClosed {}

/// `report_run`: an account-wide report was run (read-only).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReportRun {
    /// `"plans"`, `"churn"` or `"gaps"`.
    pub report: String,
    pub days: u32,
}

/// `access_refused`: someone who may not see billing there tried; nothing
/// was fetched, posted or stored.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccessRefused {
    /// What was tried: `lookup`, `churn`, `shortcut`, a button's or a
    /// modal's id.
    pub on: String,
    /// Where, when Slack said (a modal has no channel).
    pub channel: Option<String>,
    /// `guest`, `other_organisation`, `not_operator`, `shared_channel`,
    /// `channel_not_allowed`, or `unchecked` (Slack could not say in time).
    pub reason: String,
    /// The customer identifier asked for, as a salted SHA-256 (hex), never
    /// in clear; `null` when none was named.
    pub subject: Option<String>,
}

/// `context_added`: an operator added the customer's message or a note.
/// Never the text, which stays in the case record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContextAdded {
    /// `"customer_message"` or `"operator_note"`.
    #[serde(rename = "as")]
    pub given_as: String,
    /// Its length in characters.
    pub chars: usize,
    /// SHA-256 of the text, lower-case hex, to match the case record's copy.
    pub sha256: String,
}

/// `case_retriaged`: the case was triaged again with its context.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CaseRetriaged {
    /// The new triage as operators read it: the category's label, `"needs
    /// human review"` or `"no customer found"`.
    pub triage: String,
    /// Keys of the actions the new triage added.
    pub added_actions: Vec<String>,
}

/// How a lookup's case was triaged, as `case_opened` and `lookup_failed`
/// store it: `"needs_review"`, `"not_found"`, or the category's name in
/// CamelCase (`"DuplicatePersonalSubscription"`), spelled out here so that
/// renaming a Rust variant does not change the audit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub enum TriageOutcome {
    Classified(Category),
    NeedsReview,
    NotFound,
}

/// A stored triage outcome that is none of [`TriageOutcome`]'s names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a triage outcome")]
pub struct UnknownTriage(String);

impl AuditEvent {
    /// The kind this event is written as.
    pub fn kind(&self) -> AuditKind {
        match self {
            Self::LookupRequested(_) => AuditKind::LookupRequested,
            Self::CaseOpened(_) => AuditKind::CaseOpened,
            Self::LookupFailed(_) => AuditKind::LookupFailed,
            Self::ActionChosen(_) => AuditKind::ActionChosen,
            Self::ApprovalGranted(_) => AuditKind::ApprovalGranted,
            Self::ApprovalRefused(_) => AuditKind::ApprovalRefused,
            Self::ActionRejected(_) => AuditKind::ActionRejected,
            Self::ActionExpired(_) => AuditKind::ActionExpired,
            Self::ExecutionIntent(_) => AuditKind::ExecutionIntent,
            Self::ExecutionSucceeded(_) => AuditKind::ExecutionSucceeded,
            Self::ExecutionFailed(_) => AuditKind::ExecutionFailed,
            Self::ExecutionReconciled(_) => AuditKind::ExecutionReconciled,
            Self::ExecutionVerifying(_) => AuditKind::ExecutionVerifying,
            Self::ExecutionConfirmed(_) => AuditKind::ExecutionConfirmed,
            Self::PortalLinkCreated(_) => AuditKind::PortalLinkCreated,
            Self::FollowUpPosted(_) => AuditKind::FollowUpPosted,
            Self::CaseClosed(_) => AuditKind::CaseClosed,
            Self::ReportRun(_) => AuditKind::ReportRun,
            Self::AccessRefused(_) => AuditKind::AccessRefused,
            Self::ContextAdded(_) => AuditKind::ContextAdded,
            Self::CaseRetriaged(_) => AuditKind::CaseRetriaged,
        }
    }

    /// The entry's `detail`, before scrubbing.
    pub fn detail(&self) -> serde_json::Value {
        match self {
            Self::LookupRequested(p) => to_detail(p),
            Self::CaseOpened(p) => to_detail(p),
            Self::LookupFailed(p) => to_detail(p),
            Self::ActionChosen(p) => to_detail(p),
            Self::ApprovalGranted(p) => to_detail(p),
            Self::ApprovalRefused(p) => to_detail(p),
            Self::ActionRejected(p) => to_detail(p),
            Self::ActionExpired(p) => to_detail(p),
            Self::ExecutionIntent(p) => to_detail(p),
            Self::ExecutionSucceeded(p) => to_detail(p),
            Self::ExecutionFailed(p) => to_detail(p),
            Self::ExecutionReconciled(p) => to_detail(p),
            Self::ExecutionVerifying(p) => to_detail(p),
            Self::ExecutionConfirmed(p) => to_detail(p),
            Self::PortalLinkCreated(p) => to_detail(p),
            Self::FollowUpPosted(p) => to_detail(p),
            Self::CaseClosed(p) => to_detail(p),
            Self::ReportRun(p) => to_detail(p),
            Self::AccessRefused(p) => to_detail(p),
            Self::ContextAdded(p) => to_detail(p),
            Self::CaseRetriaged(p) => to_detail(p),
        }
    }

    /// Reads an entry's `kind` and `detail` back into the event. Fields the
    /// payload does not know are ignored.
    ///
    /// # Errors
    /// [`EventError`], naming the kind, when `detail` lacks a field of its
    /// kind or holds one of another type.
    pub fn read(kind: AuditKind, detail: &serde_json::Value) -> Result<Self, EventError> {
        fn payload<'a, T: Deserialize<'a>>(
            detail: &'a serde_json::Value,
        ) -> Result<T, serde_json::Error> {
            T::deserialize(detail)
        }
        let event = match kind {
            AuditKind::LookupRequested => payload(detail).map(Self::LookupRequested),
            AuditKind::CaseOpened => payload(detail).map(Self::CaseOpened),
            AuditKind::LookupFailed => payload(detail).map(Self::LookupFailed),
            AuditKind::ActionChosen => payload(detail).map(Self::ActionChosen),
            AuditKind::ApprovalGranted => payload(detail).map(Self::ApprovalGranted),
            AuditKind::ApprovalRefused => payload(detail).map(Self::ApprovalRefused),
            AuditKind::ActionRejected => payload(detail).map(Self::ActionRejected),
            AuditKind::ActionExpired => payload(detail).map(Self::ActionExpired),
            AuditKind::ExecutionIntent => payload(detail).map(Self::ExecutionIntent),
            AuditKind::ExecutionSucceeded => payload(detail).map(Self::ExecutionSucceeded),
            AuditKind::ExecutionFailed => payload(detail).map(Self::ExecutionFailed),
            AuditKind::ExecutionReconciled => payload(detail).map(Self::ExecutionReconciled),
            AuditKind::ExecutionVerifying => payload(detail).map(Self::ExecutionVerifying),
            AuditKind::ExecutionConfirmed => payload(detail).map(Self::ExecutionConfirmed),
            AuditKind::PortalLinkCreated => payload(detail).map(Self::PortalLinkCreated),
            AuditKind::FollowUpPosted => payload(detail).map(Self::FollowUpPosted),
            AuditKind::CaseClosed => payload(detail).map(Self::CaseClosed),
            AuditKind::ReportRun => payload(detail).map(Self::ReportRun),
            AuditKind::AccessRefused => payload(detail).map(Self::AccessRefused),
            AuditKind::ContextAdded => payload(detail).map(Self::ContextAdded),
            AuditKind::CaseRetriaged => payload(detail).map(Self::CaseRetriaged),
        };
        event.map_err(|source| EventError { kind, source })
    }
}

/// Each payload is its own event: `NewEntry::new(ReportRun { .. }, ..)`.
macro_rules! payload_into_event {
    ($($payload:ident),* $(,)?) => {$(
        impl From<$payload> for AuditEvent {
            fn from(payload: $payload) -> Self {
                Self::$payload(payload)
            }
        }
    )*};
}

payload_into_event!(
    LookupRequested,
    CaseOpened,
    LookupFailed,
    ActionChosen,
    ApprovalGranted,
    ApprovalRefused,
    ActionRejected,
    ActionExpired,
    ExecutionIntent,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionReconciled,
    ExecutionVerifying,
    ExecutionConfirmed,
    PortalLinkCreated,
    FollowUpPosted,
    CaseClosed,
    ReportRun,
    ContextAdded,
    CaseRetriaged,
    AccessRefused,
);

impl CaseOpened {
    /// The outcome of an assessed lookup that found its customer.
    pub fn of(triage: &Triage, n_actions: usize) -> Self {
        Self {
            triage: TriageOutcome::of(triage),
            n_actions,
        }
    }
}

impl LookupFailed {
    /// Stripe could not be read.
    pub fn stripe_error() -> Self {
        Self {
            reason: Some(LookupFailure::StripeError),
            triage: None,
            n_actions: None,
        }
    }

    /// No customer matched.
    pub fn not_found(n_actions: usize) -> Self {
        Self {
            reason: None,
            triage: Some(TriageOutcome::NotFound),
            n_actions: Some(n_actions),
        }
    }
}

impl ApprovalRefused {
    /// An approve or reject click refused by the policy; `on` says which.
    pub fn by_policy(refusal: &Refusal, on: &str) -> Self {
        let state = match refusal {
            Refusal::AlreadyResolved(state) => Some((*state).to_owned()),
            _ => None,
        };
        Self {
            state,
            ..Self::bare(RefusalCode::from(refusal), on)
        }
    }

    /// A click on button `on` from outside the case card's channel.
    pub fn wrong_channel(
        on: &str,
        channel: Option<ChannelId>,
        card_channel: Option<String>,
    ) -> Self {
        Self {
            channel: Some(channel),
            card_channel: Some(card_channel),
            ..Self::bare(RefusalCode::WrongChannel, on)
        }
    }

    /// A choice from "More actions…" refused.
    pub fn choice(refusal: &ChoiceRefusal) -> Self {
        Self {
            message: Some(refusal.to_string()),
            ..Self::bare(RefusalCode::from(refusal), "choose")
        }
    }

    fn bare(code: RefusalCode, on: &str) -> Self {
        Self {
            reason: RefusalReason::Code(code),
            on: on.to_owned(),
            state: None,
            channel: None,
            card_channel: None,
            message: None,
        }
    }
}

impl RefusalReason {
    /// The code, unless this is a sentence from before codes.
    pub fn code(&self) -> Option<RefusalCode> {
        match self {
            Self::Code(code) => Some(*code),
            Self::Sentence(_) => None,
        }
    }
}

impl From<&Refusal> for RefusalCode {
    fn from(refusal: &Refusal) -> Self {
        match refusal {
            Refusal::NotAnApprover => Self::NotAnApprover,
            Refusal::SelfApproval => Self::RequestedIt,
            Refusal::ChoseIt => Self::ChoseIt,
            Refusal::PromptedIt => Self::PromptedIt,
            Refusal::AlreadyApprovedByYou => Self::AlreadyApprovedByYou,
            Refusal::Expired => Self::Expired,
            Refusal::AlreadyResolved(_) => Self::AlreadyResolved,
        }
    }
}

impl From<&ChoiceRefusal> for RefusalCode {
    fn from(refusal: &ChoiceRefusal) -> Self {
        match refusal {
            ChoiceRefusal::NotThisCasesCharge(_) => Self::NotThisCasesCharge,
            ChoiceRefusal::NotThisCasesSubscription(_) => Self::NotThisCasesSubscription,
            ChoiceRefusal::NotThisCasesCustomer(_) => Self::NotThisCasesCustomer,
            ChoiceRefusal::NotThisCasesInvoice(_) => Self::NotThisCasesInvoice,
            ChoiceRefusal::Disputed(_) => Self::Disputed,
            ChoiceRefusal::NotPaid(_) => Self::NotPaid,
            ChoiceRefusal::MoreThanLeft { .. } => Self::MoreThanLeft,
            ChoiceRefusal::OtherCurrency { .. } => Self::OtherCurrency,
            ChoiceRefusal::NotPositive => Self::NotPositive,
            ChoiceRefusal::NotLive { .. } => Self::NotLive,
            ChoiceRefusal::AlreadyEnding(_) => Self::AlreadyEnding,
            ChoiceRefusal::NoHostedPage(_) => Self::NoHostedPage,
            ChoiceRefusal::AlreadyPaused(_) => Self::AlreadyPaused,
            ChoiceRefusal::NotPaused(_) => Self::NotPaused,
            ChoiceRefusal::ResumeNotAhead => Self::ResumeNotAhead,
            ChoiceRefusal::Duplicate { .. } => Self::Duplicate,
        }
    }
}

impl ExecutionIntent {
    /// The intent of running `plan` for an action of `kind`, approved by
    /// `approved_by`.
    pub fn of(kind: &ActionKind, approved_by: &[SlackUserId], plan: &Plan) -> Self {
        Self {
            action: kind.name().to_owned(),
            approved_by: approved_by.to_vec(),
            amount_minor: plan.refund_amount().map(|m| m.minor),
            attempt: plan.attempt,
            new_keys: plan.attempt > 1,
            steps: plan.steps.iter().map(IntentStep::from).collect(),
        }
    }
}

impl From<&PlannedStep> for IntentStep {
    fn from(planned: &PlannedStep) -> Self {
        Self {
            step: planned.name.clone(),
            request: planned.step.clone(),
            idempotency_key: planned.idempotency_key.clone(),
            metadata: planned.metadata.clone(),
        }
    }
}

impl ExecutionFailed {
    /// Stripe refused a step, or our check of Stripe refused to send it:
    /// `error` and `reference` are what the approver was told.
    pub fn refused(
        action: &ActionKind,
        error: &str,
        reference: &str,
        confirmed: &[String],
    ) -> Self {
        Self {
            reference: Some(reference.to_owned()),
            confirmed: Some(confirmed.to_vec()),
            ..Self::bare(action, error)
        }
    }

    /// An unclear answer for `step` that Stripe, asked, showed did nothing.
    pub fn nothing_happened(
        action: &ActionKind,
        why: &str,
        step: &StepName,
        confirmed: &[String],
    ) -> Self {
        Self {
            step: Some(step.clone()),
            nothing_happened: true,
            confirmed: Some(confirmed.to_vec()),
            ..Self::bare(action, why)
        }
    }

    /// A run the reconciler found without an intent: it never reached Stripe.
    pub fn nothing_sent(action: &ActionKind, error: &str) -> Self {
        Self {
            nothing_sent: true,
            ..Self::bare(action, error)
        }
    }

    fn bare(action: &ActionKind, error: &str) -> Self {
        Self {
            action: action.name().to_owned(),
            error: error.to_owned(),
            reference: None,
            step: None,
            nothing_happened: false,
            nothing_sent: false,
            confirmed: None,
        }
    }
}

impl ExecutionReconciled {
    /// A `Verifying` action taken over, to be settled by asking Stripe.
    pub fn verifying(owner: PreviousOwner) -> Self {
        Self {
            verifying: true,
            resumed: None,
            owner,
        }
    }

    /// An `Executing` action taken over: its run `resumed` (its intent is
    /// in the audit), or it never reached Stripe and is failed.
    pub fn resumed(resumed: bool, owner: PreviousOwner) -> Self {
        Self {
            verifying: false,
            resumed: Some(resumed),
            owner,
        }
    }
}

impl TriageOutcome {
    pub fn of(triage: &Triage) -> Self {
        match triage {
            Triage::Classified { category, .. } => Self::Classified(*category),
            Triage::NeedsReview { .. } => Self::NeedsReview,
            Triage::NotFound => Self::NotFound,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeedsReview => "needs_review",
            Self::NotFound => "not_found",
            Self::Classified(category) => match category {
                Category::DuplicatePersonalSubscription => "DuplicatePersonalSubscription",
                Category::GenuineMultiSeatIntent => "GenuineMultiSeatIntent",
                Category::FailedPayment => "FailedPayment",
                Category::MissingSelfServeControl => "MissingSelfServeControl",
                Category::ProductFailure => "ProductFailure",
            },
        }
    }
}

impl From<TriageOutcome> for String {
    fn from(outcome: TriageOutcome) -> Self {
        outcome.as_str().to_owned()
    }
}

impl TryFrom<String> for TriageOutcome {
    type Error = UnknownTriage;
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        [Self::NeedsReview, Self::NotFound]
            .into_iter()
            .chain(Category::ALL.into_iter().map(Self::Classified))
            .find(|outcome| outcome.as_str() == stored)
            .ok_or(UnknownTriage(stored))
    }
}

/// An `approval_refused` detail as stored, before its reason is read.
#[derive(Deserialize)]
struct RefusedAsStored {
    reason: String,
    on: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default, deserialize_with = "present")]
    channel: Option<Option<ChannelId>>,
    #[serde(default, deserialize_with = "present")]
    card_channel: Option<Option<String>>,
    #[serde(default)]
    message: Option<String>,
}

impl TryFrom<RefusedAsStored> for ApprovalRefused {
    type Error = UnknownReason;
    fn try_from(stored: RefusedAsStored) -> Result<Self, Self::Error> {
        let as_code: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            stored.reason.as_str().into_deserializer();
        let code = RefusalCode::deserialize(as_code).ok();
        // `format!("{refusal:?}")` of `Refusal::AlreadyResolved(state)`.
        let resolved_in = stored
            .reason
            .strip_prefix("AlreadyResolved(\"")
            .and_then(|rest| rest.strip_suffix("\")"));
        let (reason, state) = match (code, resolved_in) {
            (Some(code), _) => (RefusalReason::Code(code), stored.state),
            (None, Some(state)) => (
                RefusalReason::Code(RefusalCode::AlreadyResolved),
                Some(state.to_owned()),
            ),
            (None, None) if stored.on == "choose" => {
                (RefusalReason::Sentence(stored.reason), stored.state)
            }
            (None, None) => return Err(UnknownReason(stored.reason)),
        };
        Ok(Self {
            reason,
            on: stored.on,
            state,
            channel: stored.channel,
            card_channel: stored.card_channel,
            message: stored.message,
        })
    }
}

fn to_detail<T: Serialize>(payload: &T) -> serde_json::Value {
    serde_json::to_value(payload)
        .expect("audit payloads hold only strings, numbers, booleans, lists and string-keyed maps, which always serialise to JSON")
}

/// A field that is present, even as `null`, reads as `Some`: with
/// `#[serde(default)]`, an absent one stays `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// Slack user ids stored as one comma-separated string (`"U1,U2"`).
mod comma_separated {
    use crate::domain::SlackUserId;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        users: &[SlackUserId],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let joined = users
            .iter()
            .map(SlackUserId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        serializer.serialize_str(&joined)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<SlackUserId>, D::Error> {
        let stored = String::deserialize(deserializer)?;
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        stored
            .split(',')
            .map(|id| SlackUserId::parse(id).map_err(D::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests;
