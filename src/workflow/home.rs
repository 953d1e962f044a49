//! The App Home: built from the store's Home indexes (the cases changed
//! within the approval window, and the user's own), sorted by
//! `card::home` under the same policy as the card, and published with
//! `views.publish`. Someone who may not see billing data
//! (`BILLING_OPERATORS`, guests) gets a Home that says so and shows none.

use super::{access, case_card};
use super::{now, Deps, WorkflowError};
use crate::card::home::{self, Links, YOUR_CASES_SECS};
use crate::domain::{Actor, Case, CaseId, SlackUserId};
use crate::policy::APPROVAL_WINDOW_SECS;
use serde_json::json;
use std::sync::Arc;

/// At most this many recent cases are read for "Waiting on you" and
/// "Recently done"; at most this many of the user's own for "Your cases".
const MAX_RECENT: usize = 2_000;
const MAX_MINE: usize = 200;

/// At most this many changed cases wait for their Homes to be redrawn;
/// past it a change is dropped (logged) and those Homes catch up at the
/// next change or opening.
const MAX_PENDING: usize = 1_000;

/// Cases that changed, whose viewers' Homes are to be redrawn by
/// [`redraw_forever`] off the request's path. Changes that arrive while a
/// batch is drawn are merged, so a burst redraws each Home once.
#[derive(Default)]
pub struct HomeRedraws {
    pending: std::sync::Mutex<Vec<Changed>>,
    wake: tokio::sync::Notify,
}

/// A changed case, and its requester (it may newly show for them, as for
/// the approvers).
struct Changed {
    case: CaseId,
    requester: Option<SlackUserId>,
}

impl HomeRedraws {
    /// Notes that `case` changed. Never waits.
    pub fn changed(&self, case: &Case) {
        let requester = match &case.requested_by {
            Actor::Slack(user) => Some(user.clone()),
            _ => None,
        };
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.iter().any(|c| c.case == case.id) {
            return;
        }
        if pending.len() >= MAX_PENDING {
            tracing::warn!(case_id = %case.id, "too many App Home redraws waiting; this change shows at the next one");
            return;
        }
        pending.push(Changed {
            case: case.id.clone(),
            requester,
        });
        drop(pending);
        self.wake.notify_one();
    }

    /// The changes noted since the last call; waits while there are none.
    async fn next(&self) -> Vec<Changed> {
        loop {
            let taken =
                std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
            if !taken.is_empty() {
                return taken;
            }
            self.wake.notified().await;
        }
    }
}

/// Redraws, for as long as the replica runs, the Homes a change touches:
/// everyone whose Home showed the case, and those it may newly show for
/// (its requester, the approvers) among the users who opened their Home in
/// the last 7 days. Each Home once per batch; failures are logged.
pub async fn redraw_forever(deps: Arc<Deps>) {
    loop {
        let batch = deps.homes.next().await;
        if deps.slack.is_none() {
            continue;
        }
        for user in audience(&deps, &batch).await {
            if let Err(e) = publish(&deps, &user).await {
                tracing::warn!(error = %e, "could not redraw an App Home");
            }
        }
    }
}

/// Whose Homes `batch` touches, among the users who opened theirs in the
/// last 7 days: those whose Home showed a changed case, and those a case
/// may newly show for. Two round trips.
async fn audience(deps: &Deps, batch: &[Changed]) -> Vec<SlackUserId> {
    let viewers = match deps.store.home_viewers(MAX_VIEWERS).await {
        Ok(viewers) => viewers,
        Err(e) => {
            tracing::warn!(error = %e, "could not read whose App Home to redraw");
            return Vec::new();
        }
    };
    let showing = deps
        .store
        .homes_showing(&viewers)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read what the open App Homes show");
            Vec::new()
        });
    let approver = |user: &SlackUserId| deps.policy.approvers.contains(user);
    let touched = |user: &SlackUserId, shown: Option<&Vec<CaseId>>| {
        batch.iter().any(|changed| {
            approver(user)
                || changed.requester.as_ref() == Some(user)
                || shown.is_some_and(|s| s.contains(&changed.case))
        })
    };
    viewers
        .iter()
        .enumerate()
        .filter(|(i, user)| touched(user, showing.get(*i)))
        .map(|(_, user)| user.clone())
        .collect()
}

/// At most this many recent viewers are read to find who a change may
/// newly show for.
const MAX_VIEWERS: usize = 1_000;

/// At most this many card links are asked of Slack while drawing one Home;
/// the others show without a link until a later drawing.
const MAX_NEW_LINKS: usize = 10;

/// Publishes `user`'s Home when they open it, and keeps it up to date from
/// then on (see [`redraw_forever`]).
///
/// # Errors
/// Redis or Slack errors.
pub async fn opened(deps: &Deps, user: &SlackUserId) -> Result<(), WorkflowError> {
    deps.store.note_home_viewer(user).await?;
    publish(deps, user).await
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
    let shown = home::shown_cases(&sorted);
    deps.store.note_home_shown(user, &shown).await?;
    let links = links(deps, &shown).await?;
    Ok(home::home_view(
        &sorted,
        approver,
        &deps.policy.approvers,
        &links,
        t,
    ))
}

/// The card links of `cases`: kept ones from Redis (one round trip), and
/// up to [`MAX_NEW_LINKS`] more asked of Slack now and kept
/// ([`case_card::new_link`]).
async fn links(deps: &Deps, cases: &[CaseId]) -> Result<Links, WorkflowError> {
    let kept = deps.store.card_links(cases).await?;
    let mut links = Links::new();
    let mut missing = Vec::new();
    for (case, link) in cases.iter().zip(kept) {
        match link {
            Some(url) => {
                links.insert(case.clone(), url);
            }
            None => missing.push(case),
        }
    }
    let asked = missing
        .into_iter()
        .take(MAX_NEW_LINKS)
        .map(|case| async move { (case, case_card::new_link(deps, case).await) });
    for (case, url) in futures::future::join_all(asked).await {
        if let Some(url) = url {
            links.insert(case.clone(), url);
        }
    }
    Ok(links)
}

fn refused_view(text: &str) -> serde_json::Value {
    json!({"type": "home", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    ]})
}
