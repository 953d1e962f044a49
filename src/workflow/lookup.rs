//! The lookup workflow (docs/STYLE.md §2 step 4): audit who asked → fetch the
//! Stripe snapshot → `assess` → post the card → store the case → audit the
//! outcome. The command line uses the first half (`open_case`) and prints
//! instead of posting.

use super::case_card::{card_message, post_in_thread, CardPlace};
use super::{now, Deps, WorkflowError};
use crate::assess::{assess, Intake};
use crate::audit::{AuditEvent, CaseOpened, LookupFailed, LookupRequested, NewEntry};
use crate::card::{self, thread::DraftOccasion};
use crate::domain::ActionKey;
use crate::domain::{
    ActionStatus, Actor, Case, CaseId, ChannelId, LookupQuery, MessageTs, ResponseUrl, Triage,
};
use crate::slack::api::Message;
use crate::store::cases::CardLocation;
use std::sync::Arc;
use tracing::Instrument;

/// A lookup asked for in Slack.
#[derive(Debug, Clone)]
pub struct SlackLookup {
    pub case_id: CaseId,
    pub actor: Actor,
    /// Where the card goes.
    pub channel: ChannelId,
    /// The thread the card goes in, if any; else it starts its own.
    pub thread: Option<MessageTs>,
    /// Where failures are told to the operator (none for a click on a
    /// message outside a conversation).
    pub response_url: Option<ResponseUrl>,
    pub query: LookupQuery,
    /// The customer's words (scrubbed, clipped), when there are some.
    pub message: Option<String>,
    /// Who typed `message`, when an operator did (`/billing lookup <id>
    /// <message…>`) rather than the shortcut reading it from Slack.
    pub message_given_by: Option<Actor>,
    /// Other identifiers the message named: each gets a button on the card
    /// that looks it up (those that are this case's customers are dropped).
    pub also_named: Vec<LookupQuery>,
}

/// Audits the request, fetches and assesses. Returns the case (NotFound
/// included) and audits its outcome.
///
/// # Errors
/// Redis (the request could not be audited, so nothing was fetched) or Stripe.
pub async fn open_case(
    deps: &Deps,
    case_id: CaseId,
    actor: Actor,
    query: &LookupQuery,
    message: Option<&str>,
) -> Result<Case, WorkflowError> {
    let started = std::time::Instant::now();
    deps.store
        .append_audit(
            NewEntry::new(
                LookupRequested {
                    identifier: query.kind().to_owned(),
                },
                actor.clone(),
                now(),
            )
            .for_case(case_id.clone())
            .with_stripe_ids(query_stripe_ids(query)),
        )
        .await?;
    let snapshot = match deps.stripe.snapshot(query, now()).await {
        Ok(snapshot) => snapshot,
        Err(e) => {
            deps.metrics
                .lookups
                .get_or_create(&outcome("stripe_error"))
                .inc();
            // Best effort: the failure itself is worth a trace, but the
            // operator's error is the Stripe one.
            let _ = deps
                .store
                .append_audit(
                    NewEntry::new(LookupFailed::stripe_error(), actor, now()).for_case(case_id),
                )
                .await;
            return Err(e.into());
        }
    };
    let intake = Intake {
        id: case_id,
        requested_by: actor.clone(),
        message,
        added: &[],
        now: now(),
    };
    let case = assess(intake, snapshot, &deps.followup);
    let customer_ids: Vec<String> = case
        .snapshot
        .customers
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    let event: AuditEvent = match &case.triage {
        Triage::NotFound => LookupFailed::not_found(case.actions.len()).into(),
        triage => CaseOpened::of(triage, case.actions.len()).into(),
    };
    deps.store
        .append_audit(
            NewEntry::new(event, actor, now())
                .for_case(case.id.clone())
                .with_stripe_ids(customer_ids),
        )
        .await?;
    deps.metrics
        .lookup_seconds
        .observe(started.elapsed().as_secs_f64());
    deps.metrics
        .lookups
        .get_or_create(&outcome(if matches!(case.triage, Triage::NotFound) {
            "not_found"
        } else {
            "case"
        }))
        .inc();
    Ok(case)
}

/// The initial state of every proposed action.
pub fn initial_statuses(case: &Case, now: i64) -> Vec<(ActionKey, ActionStatus)> {
    case.actions
        .iter()
        .map(|a| (a.key.clone(), crate::policy::fresh_state(now)))
        .collect()
}

/// Runs a Slack lookup to the end in the background; every failure reaches
/// the operator through the `response_url`.
pub fn spawn_slack_lookup(deps: Arc<Deps>, req: SlackLookup) {
    let span = tracing::info_span!("lookup", case_id = %req.case_id, actor = %req.actor, identifier = req.query.kind());
    deps.tasks.clone().spawn(
        async move {
            let response_url = req.response_url.clone();
            if let Err(e) = slack_lookup(&deps, req).await {
                let text = e.report("lookup failed");
                if let (Some(slack), Some(url)) = (&deps.slack, &response_url) {
                    if let Err(e) = slack.respond(url, &Message::text(text)).await {
                        tracing::warn!(error = %e, "could not tell the operator");
                    }
                }
            }
        }
        .instrument(span),
    );
}

async fn slack_lookup(deps: &Deps, req: SlackLookup) -> Result<(), WorkflowError> {
    let slack = deps
        .slack
        .as_ref()
        .ok_or_else(|| WorkflowError::User("Slack is not configured".into()))?;
    let mut case = open_case(
        deps,
        req.case_id,
        req.actor,
        &req.query,
        req.message.as_deref(),
    )
    .await?;
    if matches!(case.triage, Triage::NotFound) {
        tracing::warn!("no customer found");
        return Err(WorkflowError::User(format!(
            "No Stripe customer matches `{}` ({}). Check the spelling, or try another identifier: a cus_ id is exact, an email may be stored differently",
            case.snapshot.query,
            case.snapshot.query.kind()
        )));
    }
    case.context.message_given_by = req.message_given_by;
    case.context.also_named = req
        .also_named
        .into_iter()
        .filter(|q| !case.snapshot.names(q))
        .collect();
    deps.store.save_case(&case).await?;
    let now = now();
    let statuses = initial_statuses(&case, now);
    deps.store.init_actions(&case.id, &statuses).await?;
    let card = card_message(&case, &statuses, now);
    let ts = slack
        .post_message(&req.channel, &card, req.thread.as_ref())
        .await?;
    let location = CardLocation {
        channel: req.channel.clone(),
        ts,
        thread_ts: req.thread.clone(),
    };
    deps.store.save_card_location(&case.id, &location).await?;
    // The drafts go in the card's thread (docs/PLAYBOOK.md §5): the one it was
    // posted in, or the one it starts.
    let thread = card::thread::draft_message(
        DraftOccasion::First,
        &case.followup.locale,
        crate::followup::pending_note(&case.actions).as_deref(),
        &case.followup.text,
        case.product_gap.as_ref(),
    );
    let place = CardPlace::at(location);
    post_in_thread(deps, &place, thread).await?;
    // Its actions may wait on someone: told once, and on open Homes.
    super::notify::waiting(deps, &case, &place).await;
    deps.homes.changed(&case);
    tracing::info!(
        customers = case.snapshot.customers.len(),
        n_actions = case.actions.len(),
        "case card posted"
    );
    Ok(())
}

fn outcome(outcome: &'static str) -> crate::metrics::OutcomeLabels {
    crate::metrics::OutcomeLabels { outcome }
}

/// The Stripe ids an identifier names, for the audit entry (never an email:
/// the audit records which customer was looked at by id).
fn query_stripe_ids(query: &LookupQuery) -> Vec<String> {
    match query {
        LookupQuery::Email(_) => Vec::new(),
        other => vec![other.to_string()],
    }
}
