//! The case and its card, in one place: load a case with its action states
//! and where its card is, redraw the card, post in the card's thread, post a
//! follow-up draft there. A click reads the card's location once
//! ([`CardPlace`]) and hands it on; the case and its states are read again
//! only to redraw, so an action chosen (or context added) meanwhile stays on
//! the card. Wording comes from `card::thread`.

use super::{log_error, new_reference, now, Deps, WorkflowError};
use crate::card::{self, CardView};
use crate::domain::ActionKey;
use crate::domain::{ActionStatus, Case, CaseId, ChannelId};
use crate::slack::api::Message;
use crate::store::cases::CardLocation;

/// A case as stored now, with its action states.
#[derive(Debug, Clone)]
pub struct CaseCard {
    pub case: Case,
    pub statuses: Vec<(ActionKey, ActionStatus)>,
}

/// Where a case's card is in Slack, read once per click; `None` when the
/// case has no card (a CLI lookup) or Slack is not configured.
#[derive(Debug, Clone, Default)]
pub struct CardPlace(Option<CardLocation>);

impl CardPlace {
    /// No card (nothing to redraw or post in).
    pub const NONE: CardPlace = CardPlace(None);

    /// A card at `location`.
    pub fn at(location: CardLocation) -> Self {
        Self(Some(location))
    }

    /// Reads where `case`'s card is (one Redis read).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn of(deps: &Deps, case: &CaseId) -> Result<Self, WorkflowError> {
        if deps.slack.is_none() {
            return Ok(Self(None));
        }
        Ok(Self(deps.store.card_location(case).await?))
    }

    /// The location, when there is a card.
    pub fn location(&self) -> Option<&CardLocation> {
        self.0.as_ref()
    }

    /// The card's channel, when there is a card.
    pub fn channel(&self) -> Option<ChannelId> {
        self.0.as_ref().map(|l| l.channel.clone())
    }
}

impl CaseCard {
    /// The case as stored now, or `at_hand` when Redis cannot say (logged):
    /// what a card or a draft is drawn from after the outcome is recorded.
    ///
    /// # Errors
    /// Redis errors reading the states.
    pub async fn reload(deps: &Deps, at_hand: &Case) -> Result<Self, WorkflowError> {
        let case = match deps.store.load_case(&at_hand.id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => at_hand.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "could not re-read the case; drawn from the copy at hand");
                at_hand.clone()
            }
        };
        let statuses = states_of(deps, &case).await?;
        Ok(Self { case, statuses })
    }

    /// The card's message at `now`.
    pub fn message(&self, now: i64) -> Message {
        card_message(&self.case, &self.statuses, now)
    }

    /// Redraws the card in place (chat.update).
    ///
    /// # Errors
    /// Slack errors.
    pub async fn redraw(&self, deps: &Deps, place: &CardPlace) -> Result<(), WorkflowError> {
        let (Some(slack), Some(location)) = (&deps.slack, place.location()) else {
            return Ok(());
        };
        slack
            .update_message(&location.channel, &location.ts, &self.message(now()))
            .await?;
        Ok(())
    }
}

/// A case card's message (Block Kit and its fallback text) at `now`.
pub fn card_message(case: &Case, statuses: &[(ActionKey, ActionStatus)], now: i64) -> Message {
    let view = CardView {
        case,
        statuses,
        now,
    };
    Message {
        text: card::fallback_text(case),
        blocks: card::render_blocks(&view),
    }
}

/// Redraws `case`'s card from the case as stored now. Best effort: the
/// outcome is already recorded; a stale card is logged.
pub async fn refresh(deps: &Deps, place: &CardPlace, case: &Case) {
    if place.location().is_none() {
        return;
    }
    let result = async {
        CaseCard::reload(deps, case)
            .await?
            .redraw(deps, place)
            .await
    }
    .await;
    if let Err(e) = result {
        log_error(&e, &new_reference(), "could not update the case card");
    }
    deps.homes.changed(case);
}

/// The link to `case`'s card (`chat.getPermalink`), kept in Redis once
/// asked; `None` without a card or when Slack or Redis fails (logged).
pub async fn link(deps: &Deps, case: &CaseId) -> Option<String> {
    deps.slack.as_ref()?;
    match deps.store.card_links(std::slice::from_ref(case)).await {
        Ok(mut kept) => match kept.pop().flatten() {
            Some(url) => Some(url),
            None => new_link(deps, case).await,
        },
        Err(e) => {
            tracing::warn!(case_id = %case, error = %e, "could not read the card's link");
            None
        }
    }
}

/// Asks Slack for the link to `case`'s card and keeps it: what [`link`]
/// does when none is kept, and what the Home does for those its one read
/// did not find. `None` without a card or when Slack or Redis fails
/// (logged).
pub async fn new_link(deps: &Deps, case: &CaseId) -> Option<String> {
    let slack = deps.slack.as_ref()?;
    let result = async {
        let Some(at) = deps.store.card_location(case).await? else {
            return Ok(None);
        };
        let url = slack.permalink(&at.channel, &at.ts).await?;
        deps.store.save_card_link(case, &url).await?;
        Ok::<_, WorkflowError>(Some(url))
    }
    .await;
    result.unwrap_or_else(|e| {
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        tracing::warn!(case_id = %case, error = %e, cause, "could not find the card's link");
        None
    })
}

/// Posts `text` in the card's thread.
///
/// # Errors
/// Slack errors.
pub async fn post_in_thread(
    deps: &Deps,
    place: &CardPlace,
    text: String,
) -> Result<(), WorkflowError> {
    let (Some(slack), Some(location)) = (&deps.slack, place.location()) else {
        return Ok(());
    };
    slack
        .post_message(
            &location.channel,
            &Message::text(text),
            Some(location.thread()),
        )
        .await?;
    Ok(())
}

/// The stored state of every action of `case`, in card order.
///
/// # Errors
/// Redis errors.
pub async fn states_of(
    deps: &Deps,
    case: &Case,
) -> Result<Vec<(ActionKey, ActionStatus)>, WorkflowError> {
    let keys: Vec<ActionKey> = case.actions.iter().map(|a| a.key.clone()).collect();
    Ok(deps.store.action_statuses(&case.id, &keys).await?)
}
