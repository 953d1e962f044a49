//! The App Home: built from the store's Home indexes (the cases changed
//! within the approval window, and the user's own), sorted by
//! `card::home` under the same policy as the card, and published with
//! `views.publish`. Someone who may not see billing data
//! (`BILLING_OPERATORS`, guests) gets a Home that says so and shows none.

use super::access;
use super::{now, Deps, WorkflowError};
use crate::card::home::{self, YOUR_CASES_SECS};
use crate::domain::SlackUserId;
use crate::policy::APPROVAL_WINDOW_SECS;
use serde_json::json;

/// At most this many recent cases are read for "Waiting on you" and
/// "Recently done"; at most this many of the user's own for "Your cases".
const MAX_RECENT: usize = 2_000;
const MAX_MINE: usize = 200;

/// At most this many Homes are republished after a change.
const MAX_VIEWERS: usize = 50;

/// Publishes `user`'s Home when they open it, and keeps it up to date from
/// then on (see [`refresh_viewers`]).
///
/// # Errors
/// Redis or Slack errors.
pub async fn opened(deps: &Deps, user: &SlackUserId) -> Result<(), WorkflowError> {
    deps.store.note_home_viewer(user).await?;
    publish(deps, user).await
}

/// Republishes the Home of everyone who opened theirs lately, after a case
/// changed (a card posted or redrawn). Best effort: a failure is logged.
pub async fn refresh_viewers(deps: &Deps) {
    if deps.slack.is_none() {
        return;
    }
    let viewers = match deps.store.home_viewers(MAX_VIEWERS).await {
        Ok(viewers) => viewers,
        Err(e) => {
            tracing::warn!(error = %e, "could not read whose App Home to refresh");
            return;
        }
    };
    for user in viewers {
        if let Err(e) = publish(deps, &user).await {
            tracing::warn!(error = %e, "could not refresh an App Home");
        }
    }
}

/// Publishes `user`'s Home.
///
/// # Errors
/// Redis or Slack errors; a user who may not see billing gets a Home that
/// says why (not an error).
pub async fn publish(deps: &Deps, user: &SlackUserId) -> Result<(), WorkflowError> {
    let Some(slack) = &deps.slack else {
        return Ok(());
    };
    let view = match access::check(deps, user, None).await {
        Ok(()) => view_for(deps, user).await?,
        Err(denied) => refused_view(&denied.text(&deps.access.config)),
    };
    let view = serde_json::from_value(view)
        .map_err(|e| WorkflowError::User(format!("the Home view could not be drawn: {e}")))?;
    slack.publish_home(user, view).await?;
    Ok(())
}

/// The Home's blocks for `user`, read from the store now.
///
/// # Errors
/// Redis errors.
pub async fn view_for(deps: &Deps, user: &SlackUserId) -> Result<serde_json::Value, WorkflowError> {
    let t = now();
    // Done in the last 7 days and waiting: cases changed within the longer
    // of the approval window and "Recently done".
    let since = t - APPROVAL_WINDOW_SECS.max(home::RECENTLY_DONE_SECS);
    let mut ids = deps.store.recent_cases(since, MAX_RECENT).await?;
    for id in deps
        .store
        .cases_of(user, t - YOUR_CASES_SECS, MAX_MINE)
        .await?
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let cases = deps.store.cases_with_states(&ids).await?;
    let sorted = home::home(user, &cases, &deps.policy, t);
    let approver = deps.policy.approvers.contains(user);
    Ok(home::home_view(
        &sorted,
        approver,
        &deps.policy.approvers,
        t,
    ))
}

fn refused_view(text: &str) -> serde_json::Value {
    json!({"type": "home", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    ]})
}
