//! `app_home_opened`: the user's Home is published, once per event however
//! often Slack delivers it (its `event_id` names the delivery). Answered at
//! once; the Home is built in the background.

use super::first_delivery;
use crate::domain::SlackUserId;
use crate::slack::payloads::DeliveryId;
use crate::workflow::{home, Deps};
use std::sync::Arc;

pub fn opened(deps: &Arc<Deps>, event_id: &str, user: &str) {
    let Ok(user) = SlackUserId::parse(user) else {
        tracing::warn!("app_home_opened names no Slack user id the bot can read");
        return;
    };
    let deps = Arc::clone(deps);
    let delivery = DeliveryId::of_body(format!("event:{event_id}").as_bytes());
    tokio::spawn(async move {
        if !first_delivery(&deps, &delivery).await {
            return;
        }
        if let Err(e) = home::opened(&deps, &user).await {
            e.report("could not publish the App Home");
        }
    });
}
