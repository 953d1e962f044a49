//! The port through which both Slack modes hand on what they read: the HTTP
//! endpoints (`http`) and Socket Mode (`socket`) read a delivery into a
//! typed [`Request`] and give it to a [`Handler`], whose [`Ack`] they send
//! back to Slack. The bot's handlers (`crate::handlers`) implement it, so
//! the adapter never names the workflows.

use super::payloads::{DeliveryId, EventEnvelope};
use super::request::Request;
use futures::future::BoxFuture;

/// The immediate answer to Slack: an HTTP response body, or the payload of
/// a Socket Mode acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// 200 with an empty body.
    Empty,
    /// 200 with this JSON (an ephemeral reply, a challenge…).
    Json(serde_json::Value),
}

/// What a Slack delivery is handed to.
pub trait Handler: Send + Sync {
    /// Answers one delivery of a command or an interaction at once (the
    /// answer waits on no Redis or Slack call, a modal's checks excepted);
    /// what it starts runs in the background, once per `delivery` however
    /// often Slack sends it.
    fn on_request<'a>(&'a self, delivery: &'a DeliveryId, request: Request) -> BoxFuture<'a, Ack>;

    /// Answers an Events API envelope.
    fn on_event(&self, event: EventEnvelope) -> Ack;
}
