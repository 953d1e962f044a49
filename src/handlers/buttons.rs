//! Clicks on our messages: one handler per [`Button`]. A button on a case
//! card acts only from the card's channel; its value only names the case
//! and action, whose state is always re-read from Redis.

use super::submissions::spawn_approval;
use super::tell_now;
use crate::audit::{ApprovalRefused, NewEntry};
use crate::card::modals;
use crate::domain::{
    ActionKind, Actor, CaseAction, CaseId, ChannelId, LookupQuery, ResponseUrl, SlackUserId,
    TriggerId,
};
use crate::slack::request::{Button, ButtonsRequest};
use crate::workflow::approve::Click;
use crate::workflow::case_card::CardPlace;
use crate::workflow::lookup::{spawn_slack_lookup, SlackLookup};
use crate::workflow::{new_case_id, now, Deps, WorkflowError};
use std::sync::Arc;

/// What a case-card button asks for, once its click is known to come from
/// the card's channel.
#[derive(Debug, Clone, Copy)]
enum OnCard {
    Approve,
    /// Opens the reject modal.
    Reject,
    /// Opens the partial-refund modal.
    PartialRefund,
}

impl OnCard {
    fn action_id(self) -> &'static str {
        match self {
            Self::Approve => crate::card::APPROVE_ACTION_ID,
            Self::Reject => crate::card::REJECT_ACTION_ID,
            Self::PartialRefund => modals::PARTIAL_REFUND_ACTION_ID,
        }
    }
}

/// Runs after the answer (an empty one), for an allowed operator.
pub(super) fn on_buttons(deps: &Arc<Deps>, clicks: ButtonsRequest) {
    for button in &clicks.buttons {
        match button {
            Button::Approve(target) => on_card(deps, &clicks, target, OnCard::Approve),
            Button::Reject(target) => on_card(deps, &clicks, target, OnCard::Reject),
            Button::PartialRefund(target) => {
                on_card(deps, &clicks, target, OnCard::PartialRefund);
            }
            Button::TriageCustomer(customer) => {
                look_up(
                    deps,
                    &clicks,
                    LookupQuery::Customer(customer.clone()),
                    false,
                );
            }
            Button::LookUp(query) => look_up(deps, &clicks, query.clone(), true),
            Button::AddContext(case_id) => add_context(deps, &clicks, case_id),
            Button::MoreActions(target) => super::more_actions::on_menu(deps, &clicks, target),
            Button::Unreadable { action_id } => {
                tracing::warn!(%action_id, "button without a readable value");
            }
            Button::Unknown { action_id } => {
                tracing::info!(%action_id, "unknown button ignored");
            }
        }
    }
}

/// A churn report row's **Triage** (a new card in the channel) or a card's
/// **Look up** of another customer its message named (a new card in the
/// same thread): looks the customer up as `/billing lookup` does.
fn look_up(deps: &Arc<Deps>, clicks: &ButtonsRequest, query: LookupQuery, in_thread: bool) {
    let Some(channel) = clicks.channel.clone() else {
        tracing::warn!("lookup button outside a channel ignored");
        return;
    };
    let thread = if in_thread {
        clicks.message.as_ref().map(|m| m.thread().clone())
    } else {
        None
    };
    spawn_slack_lookup(
        Arc::clone(deps),
        SlackLookup {
            case_id: new_case_id(),
            actor: Actor::Slack(clicks.user.clone()),
            channel,
            thread,
            response_url: clicks.response_url.clone(),
            query,
            message: None,
            message_given_by: None,
            also_named: Vec::new(),
        },
    );
}

fn on_card(deps: &Arc<Deps>, clicks: &ButtonsRequest, target: &CaseAction, on: OnCard) {
    let click = Click {
        case_id: target.case_id.clone(),
        key: target.key.clone(),
        actor: clicks.user.clone(),
        response_url: clicks.response_url.clone(),
        channel: clicks.channel.clone(),
        card: None,
    };
    let deps = Arc::clone(deps);
    let trigger_id = clicks.trigger_id.clone();
    let in_home = clicks.in_view;
    deps.tasks.clone().spawn(async move {
        // Modal submissions carry no channel: the click that opened the
        // modal was checked here. A click in the App Home (a view only the
        // bot publishes) acts on the card wherever it is.
        let place = if in_home {
            match CardPlace::of(&deps, &click.case_id).await {
                Ok(place) => Some(place),
                Err(e) => {
                    e.report("card location lookup failed");
                    None
                }
            }
        } else {
            from_card_channel(&deps, &CardClick::of(&click), on.action_id()).await
        };
        let Some(place) = place else {
            return;
        };
        let click = Click {
            card: Some(place),
            ..click
        };
        match on {
            OnCard::Approve => spawn_approval(&deps, click, None),
            OnCard::Reject | OnCard::PartialRefund => {
                open_modal(&deps, &click, &trigger_id, on).await;
            }
        }
    });
}

/// A click on a case card, for the channel check: the case, the action it
/// names (none for the "More actions…" menu), who clicked and from where.
pub(super) struct CardClick<'a> {
    pub case_id: &'a CaseId,
    pub key: Option<&'a str>,
    pub actor: &'a SlackUserId,
    pub channel: Option<&'a ChannelId>,
    pub response_url: Option<&'a ResponseUrl>,
}

impl<'a> CardClick<'a> {
    fn of(click: &'a Click) -> Self {
        Self {
            case_id: &click.case_id,
            key: Some(click.key.as_str()),
            actor: &click.actor,
            channel: click.channel.as_ref(),
            response_url: click.response_url.as_ref(),
        }
    }
}

/// A click counts only from the channel where its case card lives: a button's
/// value only names a case, and the same value on a message elsewhere must
/// not act on it. A click from anywhere else (or on a case with no card) is
/// refused, audited and told to the clicker. The card's place, read here, is
/// the click's for the rest of its handling.
pub(super) async fn from_card_channel(
    deps: &Deps,
    click: &CardClick<'_>,
    action_id: &str,
) -> Option<CardPlace> {
    let location = match deps.store.card_location(click.case_id).await {
        Ok(location) => location,
        Err(e) => {
            let text = WorkflowError::Store(e).report("card location lookup failed");
            tell_now(deps, click.response_url, &text).await;
            return None;
        }
    };
    let from_card = location
        .as_ref()
        .is_some_and(|l| click.channel == Some(&l.channel));
    if from_card {
        return location.map(CardPlace::at);
    }
    let card_channel = location.map(|l| l.channel);
    tracing::warn!(case_id = %click.case_id, action = ?click.key, on = action_id, "click from outside the card's channel refused");
    let entry = NewEntry {
        action: click.key.map(str::to_owned),
        ..NewEntry::new(
            ApprovalRefused::wrong_channel(
                action_id,
                click.channel.cloned(),
                card_channel.as_ref().map(ToString::to_string),
            ),
            Actor::Slack(click.actor.clone()),
            now(),
        )
        .for_case(click.case_id.clone())
    };
    if let Err(e) = deps.store.append_audit(entry).await {
        // The click is refused all the same; only its trace is missing.
        WorkflowError::Store(e).report("could not audit a refused click");
    }
    let text = match card_channel {
        Some(channel) => {
            format!("This button acts only on the case card in <#{channel}>; click it there")
        }
        None => format!(
            "Case `{}` has no card in Slack to act on; run the lookup again",
            click.case_id
        ),
    };
    tell_now(deps, click.response_url, &text).await;
    None
}

/// **Add context** on a card: the context modal, from the card's channel only.
fn add_context(deps: &Arc<Deps>, clicks: &ButtonsRequest, case_id: &CaseId) {
    let (deps, clicks, case_id) = (Arc::clone(deps), clicks.clone(), case_id.clone());
    deps.tasks.clone().spawn(async move {
        let click = CardClick {
            case_id: &case_id,
            key: None,
            actor: &clicks.user,
            channel: clicks.channel.as_ref(),
            response_url: clicks.response_url.as_ref(),
        };
        if from_card_channel(&deps, &click, crate::card::ADD_CONTEXT_ACTION_ID)
            .await
            .is_none()
        {
            return;
        }
        let Some(slack) = &deps.slack else { return };
        let view = modals::context_modal(&case_id);
        if let Err(e) = slack.open_modal(&clicks.trigger_id, view).await {
            tracing::warn!(error = %e, "could not open the context modal");
            tell_now(
                &deps,
                clicks.response_url.as_ref(),
                "Slack did not open the form in time; click again",
            )
            .await;
        }
    });
}

async fn open_modal(deps: &Deps, click: &Click, trigger_id: &TriggerId, on: OnCard) {
    let Some(slack) = &deps.slack else { return };
    let loaded = deps.store.load_case(&click.case_id).await;
    let action = match &loaded {
        Ok(Some(case)) => case.actions.iter().find(|a| click.key == a.key),
        _ => None,
    };
    let Some(action) = action else {
        tell_now(
            deps,
            click.response_url.as_ref(),
            "This case or action is unknown, or Redis is unavailable; run the lookup again",
        )
        .await;
        return;
    };
    let view = match (&action.kind, on) {
        (ActionKind::Refund(target), OnCard::PartialRefund) => {
            modals::refund_modal(&click.case_id, &action.key, &action.summary, target.amount)
        }
        _ => modals::reject_modal(&click.case_id, &action.key, &action.summary),
    };
    if let Err(e) = slack.open_modal(trigger_id, view).await {
        tracing::warn!(error = %e, "could not open the modal");
        tell_now(
            deps,
            click.response_url.as_ref(),
            "Slack did not open the form in time; click again",
        )
        .await;
    }
}
