//! The approve / reject workflow (STYLE.md §2 step 5, issue 3): a click is
//! decided by `policy`, the action's state moves by compare-and-set in Redis
//! (`store::actions`), the intent is audited before Stripe is called
//! (write-ahead), Stripe runs with keys derived from the case and action,
//! the result is recorded and audited, and the card and the follow-up draft
//! are updated. The button's value only names the action: its state and
//! targets are always re-read from Redis.
//!
//! Exactly once: only the click whose compare-and-set moves the action into
//! `Executing` calls Stripe; every step carries an idempotency key, and a
//! multi-step action records each finished step, so a reconciled retry
//! repeats nothing that already ran.

use super::{log_error, new_reference, now, Deps, WorkflowError};
use crate::audit::{AuditKind, NewEntry};
use crate::card::{self, CardView};
use crate::domain::{
    ActionKind, ActionStatus, Actor, Case, CaseId, Money, ProposedAction, SlackUserId,
    SubscriptionId,
};
use crate::followup::{self, DoneAction};
use crate::policy::{self, Refusal, Verdict};
use crate::slack::api::Message;
use crate::stripe::StripeError;
use serde_json::json;

/// An `Executing` action older than this is taken to be abandoned by a
/// replica that stopped, and is finished by the reconciler.
pub const STALE_EXECUTION_SECS: i64 = 120;
/// Stripe's clock and ours may disagree by this much.
const CLOCK_SKEW_SECS: i64 = 300;
/// Said when every compare-and-set lost to other clicks.
const RACES_LOST: &str =
    "Several people acted on this at once; look at the card for where it stands";
/// Compare-and-set retries when clicks race; each retry re-reads the state.
const MAX_RACES: usize = 8;

/// Who clicked what, and where to answer them.
#[derive(Debug, Clone)]
pub struct Click {
    pub case_id: CaseId,
    pub key: String,
    pub actor: SlackUserId,
    /// For an ephemeral answer to the clicker only.
    pub response_url: Option<String>,
    pub channel: Option<String>,
}

/// What the clicker is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome(pub String);

/// Loads the case and the action, or says why not.
async fn load(
    deps: &Deps,
    case_id: &CaseId,
    key: &str,
) -> Result<(Case, ProposedAction), WorkflowError> {
    let case = deps.store.load_case(case_id).await?.ok_or_else(|| {
        WorkflowError::User(format!(
            "Case `{case_id}` is unknown or older than 30 days; run the lookup again"
        ))
    })?;
    let action = case
        .actions
        .iter()
        .find(|a| a.key == key)
        .cloned()
        .ok_or_else(|| WorkflowError::User(format!("Case `{case_id}` has no action `{key}`")))?;
    Ok((case, action))
}

async fn status_of(
    deps: &Deps,
    case_id: &CaseId,
    key: &str,
) -> Result<ActionStatus, WorkflowError> {
    deps.store
        .action_status(case_id, key)
        .await?
        .ok_or_else(|| {
            WorkflowError::User(format!(
                "Action `{key}` of `{case_id}` has no recorded state; run the lookup again"
            ))
        })
}

async fn audit(
    deps: &Deps,
    case: &CaseId,
    key: &str,
    kind: AuditKind,
    actor: Actor,
    stripe_ids: Vec<String>,
    detail: serde_json::Value,
) -> Result<(), WorkflowError> {
    deps.store
        .append_audit(NewEntry {
            case_id: Some(case.clone()),
            action: Some(key.to_owned()),
            kind,
            actor,
            at: now(),
            stripe_ids,
            detail,
        })
        .await?;
    Ok(())
}

/// Handles an Approve click. `amount` overrides a refund's amount (partial
/// refund from the modal); it has been checked against the case already and
/// is checked again against Stripe before the refund.
///
/// # Errors
/// User-facing refusals are `Ok(Outcome)`; errors are Redis/Stripe/Slack.
pub async fn approve(
    deps: &Deps,
    click: &Click,
    amount: Option<Money>,
) -> Result<Outcome, WorkflowError> {
    let (case, action) = load(deps, &click.case_id, &click.key).await?;
    for _ in 0..MAX_RACES {
        let stored = status_of(deps, &case.id, &action.key).await?;
        let t = now();
        let verdict = policy::may_approve(
            &click.actor,
            &action,
            &case.requested_by,
            &policy::approvable(&stored),
            &deps.policy,
            t,
        );
        match verdict {
            Verdict::Refused(refusal) => {
                return refuse(deps, &case, click, &stored, refusal, "approve").await
            }
            Verdict::Recorded {
                approvals,
                still_needed,
            } => {
                let expires_at = match &stored {
                    ActionStatus::Proposed { expires_at, .. } => *expires_at,
                    _ => t + super::lookup::APPROVAL_WINDOW_SECS,
                };
                let next = ActionStatus::Proposed {
                    approvals,
                    expires_at,
                };
                if !deps
                    .store
                    .transition(&case.id, &action.key, &stored, &next)
                    .await?
                {
                    continue;
                }
                audit(
                    deps,
                    &case.id,
                    &action.key,
                    AuditKind::ApprovalGranted,
                    Actor::Slack(click.actor.clone()),
                    vec![],
                    json!({ "still_needed": still_needed }),
                )
                .await?;
                refresh_card(deps, &case).await;
                return Ok(Outcome(format!("Approval recorded. This action needs {still_needed} more approver(s) before it runs")));
            }
            Verdict::Execute { approved_by } => {
                let executing = ActionStatus::Executing {
                    approved_by: approved_by.clone(),
                    at: t,
                };
                if !deps
                    .store
                    .transition(&case.id, &action.key, &stored, &executing)
                    .await?
                {
                    continue;
                }
                if let Some(amount) = amount {
                    deps.store
                        .record_step(&case.id, &action.key, "amount", &amount.minor.to_string())
                        .await?;
                }
                // Write-ahead: no Stripe call unless the intent is in the audit log.
                let intent = audit(
                    deps,
                    &case.id,
                    &action.key,
                    AuditKind::ExecutionIntent,
                    Actor::Slack(click.actor.clone()),
                    target_ids(&action.kind),
                    json!({ "action": action.kind.name(), "approved_by": approved_by, "amount_minor": amount.map(|m| m.minor) }),
                )
                .await;
                if let Err(e) = intent {
                    // Put it back so it can be approved again; if even that fails,
                    // the reconciler finds no intent and marks it failed.
                    let _ = deps
                        .store
                        .transition(&case.id, &action.key, &executing, &stored)
                        .await;
                    return Err(e);
                }
                let private = run(
                    deps,
                    &case,
                    &action,
                    &approved_by,
                    &executing,
                    Actor::Slack(click.actor.clone()),
                )
                .await?;
                return Ok(Outcome(private));
            }
        }
    }
    Ok(Outcome(RACES_LOST.to_owned()))
}

/// Executes an action already moved to `Executing` and records the result.
/// Returns the text shown only to the approver (e.g. a portal link).
async fn run(
    deps: &Deps,
    case: &Case,
    action: &ProposedAction,
    approved_by: &[SlackUserId],
    executing: &ActionStatus,
    actor: Actor,
) -> Result<String, WorkflowError> {
    let started = match executing {
        ActionStatus::Executing { at, .. } => *at,
        _ => now(),
    };
    let result = execute(deps, case, action, approved_by, started).await;
    let t = now();
    let (next, kind, ids, detail, private, done) = match result {
        Ok(done) => {
            let private = done
                .private
                .clone()
                .unwrap_or_else(|| format!("Done: {}", action.summary));
            (
                ActionStatus::Succeeded {
                    approved_by: approved_by.to_vec(),
                    at: t,
                    stripe_ids: done.stripe_ids.clone(),
                },
                AuditKind::ExecutionSucceeded,
                done.stripe_ids.clone(),
                json!({ "action": action.kind.name(), "refunded_minor": done.refunded.map(|m| m.minor), "note": done.audit_note }),
                private,
                Some(done),
            )
        }
        Err(e) => {
            let reference = new_reference();
            log_error(&e, &reference, "action failed");
            let shown = e.shown();
            (
                ActionStatus::Failed { approved_by: approved_by.to_vec(), at: t, error: format!("{shown} (ref {reference})") },
                AuditKind::ExecutionFailed,
                Vec::new(),
                json!({ "action": action.kind.name(), "error": shown, "reference": reference }),
                format!("The action failed: {shown}. The card shows it; approve again to retry with the same idempotency key (ref {reference})"),
                None,
            )
        }
    };
    deps.metrics
        .actions
        .get_or_create(&crate::metrics::ActionLabels {
            action: action.kind.name(),
            outcome: if done.is_some() {
                "succeeded"
            } else {
                "failed"
            },
        })
        .inc();
    let recorded: Result<(), WorkflowError> = async {
        deps.store
            .transition(&case.id, &action.key, executing, &next)
            .await?;
        audit(
            deps,
            &case.id,
            &action.key,
            kind,
            actor,
            ids.clone(),
            detail,
        )
        .await
    }
    .await;
    if let Err(e) = recorded {
        let reference = new_reference();
        log_error(&e, &reference, "could not record an executed action");
        let ran = if done.is_some() {
            format!("ran on Stripe ({})", ids.join(", "))
        } else {
            "failed on Stripe".to_owned()
        };
        return Err(WorkflowError::User(format!(
            "The action {ran}, but the bot could not record it (Redis). It will finish the record by itself within a few minutes; do not run it again (ref {reference})"
        )));
    }
    refresh_card(deps, case).await;
    if let Some(done) = done {
        post_updated_draft(deps, case, &action.key, &done).await;
    }
    Ok(private)
}

/// What an executed action produced.
#[derive(Debug, Clone, Default)]
struct Done {
    stripe_ids: Vec<String>,
    refunded: Option<Money>,
    canceled: Option<SubscriptionId>,
    /// Shown only to the approver (a portal session URL is a credential).
    private: Option<String>,
    /// Audit text; never a URL.
    audit_note: Option<String>,
}

/// An execution failure, with what the operator is shown.
#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error("Stripe call failed")]
    Stripe(#[from] StripeError),
    #[error("Redis call failed")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Refused(String),
}

impl ExecError {
    fn shown(&self) -> String {
        match self {
            Self::Stripe(e) => format!("Stripe: {e}"),
            Self::Store(e) => format!("Redis: {e}"),
            Self::Refused(text) => text.clone(),
        }
    }
}

/// The idempotency key of one step: stable across clicks, retries and replicas.
fn step_key(case: &CaseId, key: &str, step: &str) -> String {
    format!("billing-triage:{case}:{key}:{step}")
}

async fn execute(
    deps: &Deps,
    case: &Case,
    action: &ProposedAction,
    approved_by: &[SlackUserId],
    started: i64,
) -> Result<Done, ExecError> {
    let approvers = approved_by
        .iter()
        .map(SlackUserId::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let metadata = [
        ("case_id", case.id.as_str()),
        ("approved_by", approvers.as_str()),
        ("action", action.key.as_str()),
    ];
    let steps = deps.store.steps(&case.id, &action.key).await?;
    let mut done = Done::default();
    match &action.kind {
        ActionKind::Refund(target) => {
            let amount = match steps.get("amount").and_then(|m| m.parse::<i64>().ok()) {
                Some(minor) => target.amount.with_minor(minor),
                None => target.amount,
            };
            let refund = refund_step(
                deps,
                case,
                &action.key,
                &target.charge,
                amount,
                &metadata,
                &steps,
                started,
            )
            .await?;
            done.stripe_ids.push(refund);
            done.refunded = Some(amount);
        }
        ActionKind::CancelDuplicate {
            subscription,
            refunds,
        } => {
            let step = "cancel";
            if !steps.contains_key(step) {
                deps.stripe
                    .cancel_subscription(
                        subscription,
                        false,
                        &step_key(&case.id, &action.key, step),
                        &metadata,
                    )
                    .await?;
                deps.store
                    .record_step(&case.id, &action.key, step, subscription.as_str())
                    .await?;
            }
            done.stripe_ids.push(subscription.to_string());
            done.canceled = Some(subscription.clone());
            let mut total: Option<Money> = None;
            for target in refunds {
                let refund = refund_step(
                    deps,
                    case,
                    &action.key,
                    &target.charge,
                    target.amount,
                    &metadata,
                    &steps,
                    started,
                )
                .await?;
                done.stripe_ids.push(refund);
                total = Some(match total {
                    Some(t) if t.currency == target.amount.currency => {
                        t.with_minor(t.minor + target.amount.minor)
                    }
                    Some(t) => t,
                    None => target.amount,
                });
            }
            done.refunded = total;
        }
        ActionKind::CancelSubscription {
            subscription,
            at_period_end,
        } => {
            deps.stripe
                .cancel_subscription(
                    subscription,
                    *at_period_end,
                    &step_key(&case.id, &action.key, "cancel"),
                    &metadata,
                )
                .await?;
            done.stripe_ids.push(subscription.to_string());
            done.canceled = Some(subscription.clone());
        }
        ActionKind::PortalLink { customer } => {
            match deps
                .stripe
                .portal_session(customer, &step_key(&case.id, &action.key, "portal"))
                .await
            {
                Ok(url) => {
                    done.private = Some(format!(
                        "Billing-portal link for {customer}, for you only and valid for a short time: {url}\nDo not paste it in a channel or a ticket; it logs whoever holds it into the customer's portal"
                    ));
                    done.audit_note = Some("portal session created; URL not recorded".to_owned());
                    // A separate entry, as the contract asks: a link was created.
                    // Best effort: the result entry records it as well.
                    let ids = vec![customer.to_string()];
                    let _ = audit(
                        deps,
                        &case.id,
                        &action.key,
                        AuditKind::PortalLinkCreated,
                        Actor::System,
                        ids,
                        json!({ "shown_to": approvers }),
                    )
                    .await;
                }
                Err(StripeError::PortalNotConfigured { .. }) => {
                    let invoice = case.snapshot.invoices().find(|i| {
                        i.status == crate::domain::InvoiceStatus::Open
                            && i.hosted_invoice_url.is_some()
                    });
                    done.private = Some(match invoice.and_then(|i| i.hosted_invoice_url.as_ref().map(|u| (i, u))) {
                        Some((invoice, url)) => format!(
                            "This Stripe account has no customer portal configured (Settings > Billing > Customer portal). Instead, the customer can pay open invoice {} on its hosted page: {url}",
                            invoice.id
                        ),
                        None => "This Stripe account has no customer portal configured (Settings > Billing > Customer portal), and the customer has no open invoice to link to; ask them to reply with what they need".to_owned(),
                    });
                    done.audit_note =
                        Some("no portal configured; offered the hosted invoice page".to_owned());
                }
                Err(e) => return Err(e.into()),
            }
        }
        ActionKind::InvoiceLink { invoice } => {
            let url = case
                .snapshot
                .invoices()
                .find(|i| &i.id == invoice)
                .and_then(|i| i.hosted_invoice_url.clone());
            done.private = Some(match url {
                Some(url) => {
                    format!("Hosted page of {invoice} (safe to send to the customer): {url}")
                }
                None => format!("{invoice} has no hosted page; open it in the Stripe dashboard"),
            });
            done.stripe_ids.push(invoice.to_string());
        }
        ActionKind::ClarifyBillingModel => {
            done.private = Some(
                "Noted: explain the billing model to the customer; the draft is in the thread"
                    .to_owned(),
            );
        }
        ActionKind::CloseNoAction => {
            done.private = Some("Case closed with no action".to_owned());
            let _ = audit(
                deps,
                &case.id,
                &action.key,
                AuditKind::CaseClosed,
                Actor::System,
                vec![],
                json!({}),
            )
            .await;
        }
    }
    Ok(done)
}

/// One refund, run once: skipped when already recorded; otherwise checked
/// against what Stripe says is left on the charge (the bot never relies on
/// Stripe refusing an over-refund), then sent with its own key.
///
/// A retry after a crash between Stripe's answer and the step's record finds
/// the charge already refunded: a refund of exactly this amount made since
/// the execution started is taken to be ours rather than refused.
#[allow(clippy::too_many_arguments)]
async fn refund_step(
    deps: &Deps,
    case: &Case,
    key: &str,
    charge: &crate::domain::ChargeId,
    amount: Money,
    metadata: &[(&str, &str)],
    steps: &std::collections::HashMap<String, String>,
    started: i64,
) -> Result<String, ExecError> {
    let step = format!("refund:{charge}");
    if let Some(done) = steps.get(&step) {
        return Ok(done.clone());
    }
    let current = deps.stripe.charge(charge).await?;
    let left = current.refundable();
    if let Some(ours) = current
        .refunds
        .iter()
        .find(|r| r.amount == amount && r.created >= started - CLOCK_SKEW_SECS)
    {
        if amount.minor > left.minor {
            deps.store
                .record_step(&case.id, key, &step, ours.id.as_str())
                .await?;
            return Ok(ours.id.to_string());
        }
    }
    if amount.currency != left.currency || amount.minor <= 0 || amount.minor > left.minor {
        return Err(ExecError::Refused(format!(
            "refusing to refund {amount} on {charge}: only {left} is left to refund"
        )));
    }
    let refund = deps
        .stripe
        .refund(charge, amount, &step_key(&case.id, key, &step), metadata)
        .await?;
    deps.store
        .record_step(&case.id, key, &step, refund.as_str())
        .await?;
    Ok(refund.to_string())
}

/// Handles a Reject (after the modal gave a reason).
///
/// # Errors
/// Redis errors; refusals are `Ok(Outcome)`.
pub async fn reject(deps: &Deps, click: &Click, reason: &str) -> Result<Outcome, WorkflowError> {
    let (case, action) = load(deps, &click.case_id, &click.key).await?;
    for _ in 0..MAX_RACES {
        let stored = status_of(deps, &case.id, &action.key).await?;
        let t = now();
        if let Err(refusal) = policy::may_reject(&click.actor, &stored, &deps.policy, t) {
            return refuse(deps, &case, click, &stored, refusal, "reject").await;
        }
        let next = ActionStatus::Rejected {
            by: click.actor.clone(),
            at: t,
            reason: reason.to_owned(),
        };
        if !deps
            .store
            .transition(&case.id, &action.key, &stored, &next)
            .await?
        {
            continue;
        }
        audit(
            deps,
            &case.id,
            &action.key,
            AuditKind::ActionRejected,
            Actor::Slack(click.actor.clone()),
            vec![],
            json!({ "reason": reason }),
        )
        .await?;
        refresh_card(deps, &case).await;
        return Ok(Outcome(format!("Rejected: {}", action.summary)));
    }
    Ok(Outcome(RACES_LOST.to_owned()))
}

/// A refused click: audited, an expired action marked so (and its card
/// redrawn), and the refusal told to the clicker.
async fn refuse(
    deps: &Deps,
    case: &Case,
    click: &Click,
    stored: &ActionStatus,
    refusal: Refusal,
    on: &str,
) -> Result<Outcome, WorkflowError> {
    let detail = json!({ "reason": format!("{refusal:?}"), "on": on });
    audit(
        deps,
        &case.id,
        &click.key,
        AuditKind::ApprovalRefused,
        Actor::Slack(click.actor.clone()),
        vec![],
        detail,
    )
    .await?;
    if refusal == Refusal::Expired {
        expire(deps, case, &click.key, stored).await?;
    }
    tracing::warn!(case_id = %case.id, action = %click.key, reason = ?refusal, on, "click refused");
    Ok(Outcome(refusal.to_string()))
}

async fn expire(
    deps: &Deps,
    case: &Case,
    key: &str,
    stored: &ActionStatus,
) -> Result<(), WorkflowError> {
    if matches!(stored, ActionStatus::Proposed { .. }) {
        let next = ActionStatus::Expired { at: now() };
        if deps.store.transition(&case.id, key, stored, &next).await? {
            audit(
                deps,
                &case.id,
                key,
                AuditKind::ActionExpired,
                Actor::System,
                vec![],
                json!({}),
            )
            .await?;
            refresh_card(deps, case).await;
        }
    }
    Ok(())
}

/// Re-renders the card from the stored states (chat.update). Best effort:
/// the action's outcome is already recorded; a stale card is logged.
pub async fn refresh_card(deps: &Deps, case: &Case) {
    let Some(slack) = &deps.slack else { return };
    let result: Result<(), WorkflowError> = async {
        let Some(location) = deps.store.card_location(&case.id).await? else {
            return Ok(());
        };
        let keys: Vec<String> = case.actions.iter().map(|a| a.key.clone()).collect();
        let statuses = deps.store.action_statuses(&case.id, &keys).await?;
        let t = now();
        let view = CardView {
            case,
            statuses: &statuses,
            now: t,
        };
        let message = Message {
            text: card::fallback_text(case),
            blocks: card::render_blocks(&view),
        };
        slack
            .update_message(&location.channel, &location.ts, &message)
            .await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        log_error(&e, &new_reference(), "could not update the case card");
    }
}

/// Posts the follow-up draft again in the card's thread, now stating what
/// was done (the refund amount, the cancellation).
async fn post_updated_draft(deps: &Deps, case: &Case, key: &str, done: &Done) {
    let Some(slack) = &deps.slack else { return };
    let result: Result<(), WorkflowError> = async {
        let Some(location) = deps.store.card_location(&case.id).await? else {
            return Ok(());
        };
        let done = [DoneAction {
            key: key.to_owned(),
            refunded: done.refunded,
            canceled: done.canceled.clone(),
        }];
        let draft = followup::draft(
            &case.triage,
            &case.snapshot,
            &case.actions,
            &done,
            &deps.followup,
        );
        let text = format!(
            "*Customer follow-up (updated after {key}, draft, {})*\n{}",
            draft.locale, draft.text
        );
        slack
            .post_message(&location.channel, &Message::text(text), Some(&location.ts))
            .await?;
        audit(
            deps,
            &case.id,
            key,
            AuditKind::FollowUpPosted,
            Actor::System,
            vec![],
            json!({ "locale": draft.locale }),
        )
        .await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        log_error(&e, &new_reference(), "could not post the updated draft");
    }
}

/// The Stripe objects an action will touch, for the intent entry.
fn target_ids(kind: &ActionKind) -> Vec<String> {
    match kind {
        ActionKind::PortalLink { customer } => vec![customer.to_string()],
        ActionKind::InvoiceLink { invoice } => vec![invoice.to_string()],
        ActionKind::CancelSubscription { subscription, .. } => vec![subscription.to_string()],
        ActionKind::CancelDuplicate {
            subscription,
            refunds,
        } => std::iter::once(subscription.to_string())
            .chain(refunds.iter().map(|r| r.charge.to_string()))
            .collect(),
        ActionKind::Refund(target) => vec![target.charge.to_string()],
        ActionKind::ClarifyBillingModel | ActionKind::CloseNoAction => Vec::new(),
    }
}

/// Finishes actions a stopped replica left in `Executing`: with an intent in
/// the audit log, Stripe may have run, so it runs again with the same keys
/// (a no-op at Stripe if it had); without one, Stripe was never called, so
/// the action is marked failed and can be approved again.
///
/// # Errors
/// Redis errors.
pub async fn reconcile(deps: &Deps) -> Result<usize, WorkflowError> {
    let mut n = 0;
    for (case_id, key) in deps.store.executing_actions().await? {
        let Ok((case, action)) = load(deps, &case_id, &key).await else {
            continue;
        };
        let Some(stored) = deps.store.action_status(&case_id, &key).await? else {
            continue;
        };
        let ActionStatus::Executing { approved_by, at } = &stored else {
            continue;
        };
        if now() - at < STALE_EXECUTION_SECS {
            continue; // another replica may still be on it
        }
        let trail = deps.store.audit_trail(&case_id).await?;
        let has_intent = trail.iter().any(|(_, e)| {
            e.action.as_deref() == Some(key.as_str())
                && e.kind == AuditKind::ExecutionIntent
                && e.at >= *at
        });
        if has_intent {
            tracing::info!(case_id = %case_id, action = %key, "re-running an interrupted action");
            audit(
                deps,
                &case_id,
                &key,
                AuditKind::ExecutionReconciled,
                Actor::System,
                vec![],
                json!({ "resumed": true }),
            )
            .await?;
            let _ = run(deps, &case, &action, approved_by, &stored, Actor::System).await?;
        } else {
            let failed = ActionStatus::Failed {
                approved_by: approved_by.clone(),
                at: now(),
                error: "interrupted before Stripe was called; approve again".to_owned(),
            };
            if deps
                .store
                .transition(&case_id, &key, &stored, &failed)
                .await?
            {
                audit(
                    deps,
                    &case_id,
                    &key,
                    AuditKind::ExecutionReconciled,
                    Actor::System,
                    vec![],
                    json!({ "resumed": false }),
                )
                .await?;
                refresh_card(deps, &case).await;
            }
        }
        n += 1;
    }
    Ok(n)
}
