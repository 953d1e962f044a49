//! `/billing …`: one handler per command of the grammar (`BillingCommand`).

use super::{ephemeral, tell_now, Answer, CUSTOMER_WORDS_MAX_CHARS};
use crate::audit::scrub_text;
use crate::audit::text::OperatorText;
use crate::card;
use crate::domain::{Actor, BillingCommand, CaseId, LookupQuery, ReportRequest, USAGE};
use crate::slack::payloads::DeliveryId;
use crate::slack::request::CommandRequest;
use crate::workflow::lookup::{spawn_slack_lookup, SlackLookup};
use crate::workflow::{reports, Deps, WorkflowError};
use std::sync::Arc;

/// The answer names what runs next; the work runs it. `delivery` names the
/// lookup's case, so a delivery seen again is answered with the same case
/// as the first (whose work is the one that runs).
pub(super) fn on_command(deps: &Arc<Deps>, delivery: &DeliveryId, cmd: CommandRequest) -> Answer {
    match &cmd.command {
        Ok(BillingCommand::Help) => Answer::only(help(deps)),
        Ok(BillingCommand::Lookup { query, message }) => {
            let case_id = CaseId::from_random(delivery.leading_bits());
            lookup(deps, &cmd, case_id, query.clone(), message.as_deref())
        }
        Ok(BillingCommand::Audit(case_id)) => audit(deps, &cmd, case_id.clone()),
        Ok(BillingCommand::Report(request)) => report(deps, &cmd, *request),
        Err(e) => {
            // The refusal quotes what was typed, which may hold a card number.
            tracing::warn!(error = %scrub_text(&e.to_string()), "unusable /billing text");
            Answer::only(ephemeral(e.to_string()))
        }
    }
}

fn help(deps: &Deps) -> super::Ack {
    let warnings: Vec<String> = deps
        .policy
        .read_only_warning()
        .into_iter()
        .chain(deps.access.config.warnings())
        .map(|w| format!(":warning: {w}"))
        .collect();
    if warnings.is_empty() {
        ephemeral(USAGE)
    } else {
        ephemeral(format!("{USAGE}\n\n{}", warnings.join("\n")))
    }
}

/// `lookup <identifier> [message…]`: the text after the identifier is the
/// customer's message for the triage, kept scrubbed and clipped as the
/// shortcut keeps its message, and shown on the card as given by the operator.
fn lookup(
    deps: &Arc<Deps>,
    cmd: &CommandRequest,
    case_id: CaseId,
    query: LookupQuery,
    said: Option<&str>,
) -> Answer {
    let message = said
        .and_then(|text| OperatorText::clipped(text, CUSTOMER_WORDS_MAX_CHARS))
        .map(OperatorText::into_string);
    let with = if message.is_some() {
        ", with the customer's message,"
    } else {
        ""
    };
    let ack = format!(
        "Looking up `{query}` ({}){with} as case `{case_id}`…",
        query.kind()
    );
    let actor = Actor::Slack(cmd.user.clone());
    let lookup = SlackLookup {
        case_id,
        actor: actor.clone(),
        channel: cmd.channel.clone(),
        thread: None,
        response_url: Some(cmd.response_url.clone()),
        query,
        message_given_by: message.is_some().then_some(actor),
        message,
        also_named: Vec::new(),
    };
    let deps = Arc::clone(deps);
    Answer::then(ephemeral(ack), async move {
        spawn_slack_lookup(deps, lookup);
    })
}

fn audit(deps: &Arc<Deps>, cmd: &CommandRequest, case_id: CaseId) -> Answer {
    let ack = ephemeral(format!("Fetching the audit trail of `{case_id}`…"));
    let (deps, response_url) = (Arc::clone(deps), cmd.response_url.clone());
    Answer::then(ack, async move {
        let text = match deps.store.audit_trail(&case_id).await {
            Ok(entries) => card::trail::render_trail(&case_id, &entries),
            Err(e) => WorkflowError::Store(e).report("audit trail failed"),
        };
        tell_now(&deps, Some(&response_url), &text).await;
    })
}

fn report(deps: &Arc<Deps>, cmd: &CommandRequest, request: ReportRequest) -> Answer {
    let ack = ephemeral(format!(
        "Running the {} report; progress and the result follow in this channel…",
        reports::name(request)
    ));
    let job = reports::SlackReport {
        actor: Actor::Slack(cmd.user.clone()),
        channel: cmd.channel.clone(),
        response_url: cmd.response_url.clone(),
        request,
    };
    let deps = Arc::clone(deps);
    Answer::then(ack, async move {
        reports::spawn_slack_report(deps, job);
    })
}
