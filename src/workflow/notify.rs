//! Asked once: when actions of a case start waiting for an approval, the
//! approvers who may approve them (the same `policy` as the card and the
//! Home; never the requester) are told once per case, with what waits, who
//! asked and a link to the card: a direct message each, or one message in
//! `BILLING_APPROVAL_NOTIFY`'s channel naming them. Best effort: a failure
//! is logged; the card and the Home still show it.

use super::case_card::CardPlace;
use super::{now, Deps};
use crate::card::home::{self, CaseStates};
use crate::domain::{Actor, ApprovalNotify, Case, ChannelId, ProposedAction, SlackUserId};
use crate::slack::api::Message;
use crate::store::cases::CASE_TTL_SECS;

/// Tells whoever may approve `case`'s waiting actions, once per case and
/// approver (or once per case in a channel).
pub async fn waiting(deps: &Deps, case: &Case, place: &CardPlace) {
    if deps.notify == ApprovalNotify::Off {
        return;
    }
    if deps.slack.is_none() {
        return;
    }
    let states = match deps.store.action_statuses(&case.id, &keys(case)).await {
        Ok(states) => states,
        Err(e) => {
            tracing::warn!(case_id = %case.id, error = %e, "could not read what waits, to tell the approvers");
            return;
        }
    };
    let entry: CaseStates = (case.clone(), states);
    let t = now();
    let requester = match &case.requested_by {
        Actor::Slack(user) => Some(user),
        _ => None,
    };
    // Each approver's lines, and the keys they name: a later action (one
    // chosen from More actions) asks again, the same ones never do.
    let mut asked: Vec<(SlackUserId, Vec<String>)> = Vec::new();
    let mut waiting_keys: Vec<String> = Vec::new();
    for approver in &deps.policy.approvers {
        if Some(approver) == requester {
            continue;
        }
        let sorted = home::home(approver, std::slice::from_ref(&entry), &deps.policy, t);
        let lines: Vec<String> = sorted
            .waiting
            .iter()
            .map(|w| format!("• {}", w.action.summary))
            .collect();
        for w in &sorted.waiting {
            let key = w.action.key.to_string();
            if !waiting_keys.contains(&key) {
                waiting_keys.push(key);
            }
        }
        if !lines.is_empty() {
            asked.push((approver.clone(), lines));
        }
    }
    if asked.is_empty() {
        return;
    }
    let link = card_link(deps, case, place).await;
    let who = requester.map_or_else(|| "the command line".to_owned(), |u| format!("<@{u}>"));
    let text = |lines: &[String]| {
        format!(
            "Waiting for your approval on case `{}`, asked by {who}:\n{}\n{link}",
            case.id,
            lines.join("\n")
        )
    };
    let told = |to: &str| format!("notify:{}:{to}:{}", case.id, waiting_keys.join(","));
    match &deps.notify {
        ApprovalNotify::Off => {}
        ApprovalNotify::DirectMessage => {
            for (approver, lines) in &asked {
                tell(
                    deps,
                    case,
                    &told(approver.as_str()),
                    Place::User(approver),
                    &text(lines),
                )
                .await;
            }
        }
        ApprovalNotify::Channel(channel) => {
            let names = asked
                .iter()
                .map(|(u, _)| format!("<@{u}>"))
                .collect::<Vec<_>>()
                .join(" ");
            let mut lines: Vec<String> = Vec::new();
            for (_, theirs) in &asked {
                for line in theirs {
                    if !lines.contains(line) {
                        lines.push(line.clone());
                    }
                }
            }
            let message = format!("{names} {}", text(&lines));
            tell(
                deps,
                case,
                &told(channel.as_str()),
                Place::Channel(channel),
                &message,
            )
            .await;
        }
    }
}

/// Tells `case`'s requester, once, that `action` lapsed without approval:
/// a direct message, or a line naming them in `BILLING_APPROVAL_NOTIFY`'s
/// channel; nothing when it is `off` or the case came from the command
/// line.
pub async fn lapsed(deps: &Deps, case: &Case, action: &ProposedAction, place: &CardPlace) {
    let Actor::Slack(requester) = &case.requested_by else {
        return;
    };
    let link = card_link(deps, case, place).await;
    let text = format!(
        "An action on your case `{}` lapsed without approval, so nothing was done: {}. Look the customer up again to propose it anew.{link}",
        case.id, action.summary
    );
    let once = format!("lapsed:{}:{}", case.id, action.key);
    match &deps.notify {
        ApprovalNotify::Off => {}
        ApprovalNotify::DirectMessage => {
            tell(deps, case, &once, Place::User(requester), &text).await;
        }
        ApprovalNotify::Channel(channel) => {
            let text = format!("<@{requester}> {text}");
            tell(deps, case, &once, Place::Channel(channel), &text).await;
        }
    }
}

/// Where a message goes.
enum Place<'a> {
    User(&'a SlackUserId),
    Channel(&'a ChannelId),
}

/// Posts `text` at `to` unless `once` was told before. Best effort.
async fn tell(deps: &Deps, case: &Case, once: &str, to: Place<'_>, text: &str) {
    let Some(slack) = &deps.slack else { return };
    if !first(deps, once).await {
        return;
    }
    let message = Message::text(text.to_owned());
    let sent = match to {
        Place::User(user) => slack.post_to_user(user, &message).await,
        Place::Channel(channel) => slack
            .post_message(channel, &message, None)
            .await
            .map(|_| ()),
    };
    if let Err(e) = sent {
        tracing::warn!(case_id = %case.id, error = %e, "could not tell about the case");
    }
}

/// " <link|Open the card>", or nothing without a card.
async fn card_link(deps: &Deps, case: &Case, place: &CardPlace) -> String {
    if place.location().is_none() {
        return String::new();
    }
    super::case_card::link(deps, &case.id)
        .await
        .map(|url| format!(" <{url}|Open the card>"))
        .unwrap_or_default()
}

fn keys(case: &Case) -> Vec<crate::domain::ActionKey> {
    case.actions.iter().map(|a| a.key.clone()).collect()
}

/// Whether this is the first time `what` is told (kept as long as a case).
async fn first(deps: &Deps, what: &str) -> bool {
    match deps.store.claim_delivery(what, CASE_TTL_SECS).await {
        Ok(first) => first,
        Err(e) => {
            tracing::warn!(error = %e, "could not check whether approvers were told; not telling them twice");
            false
        }
    }
}
