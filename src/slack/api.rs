//! The Slack Web API calls the bot makes, through slack-morphism's client:
//! post and update the case card, post in its thread, answer a
//! `response_url`, open a modal. `SLACK_API_URL` points it at a stand-in in
//! tests; the connector then also speaks plain HTTP.

use crate::domain::SlackBotToken;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;

/// A failed Web API call; `Display` is safe to log (no token, no body).
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Slack answered `ok: false`, e.g. `not_in_channel`.
    #[error("Slack refused the call: {code}")]
    Api { code: String },
    #[error("Slack could not be reached: {0}")]
    Unreachable(String),
    #[error("the response_url is not a URL")]
    BadResponseUrl,
    #[error("could not set up the HTTPS client: {0}")]
    Setup(String),
}

impl SlackError {
    /// Text for the operator when the card could not be posted.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Api { code } if code == "not_in_channel" || code == "channel_not_found" => {
                "invite the bot to this channel (`/invite @billing-triage`) and try again"
            }
            Self::Api { .. } => "check the bot's scopes in the Slack app settings",
            _ => "try again in a minute",
        }
    }
}

impl From<SlackClientError> for SlackError {
    fn from(e: SlackClientError) -> Self {
        match e {
            SlackClientError::ApiError(api) => Self::Api { code: api.code },
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// A message body: the fallback `text` plus Block Kit.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<SlackBlock>,
}

impl Message {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            blocks: Vec::new(),
        }
    }

    fn content(&self) -> SlackMessageContent {
        let content = SlackMessageContent::new().with_text(self.text.clone());
        if self.blocks.is_empty() {
            content
        } else {
            content.with_blocks(self.blocks.clone())
        }
    }
}

/// The bot's Web API handle; cheap to clone.
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
}

impl SlackApi {
    /// # Errors
    /// When the TLS roots cannot be loaded.
    pub fn new(bot_token: &SlackBotToken, api_url: &str) -> Result<Self, SlackError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| SlackError::Setup(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
        Ok(Self {
            client: Arc::new(SlackClient::new(connector)),
            token: SlackApiToken::new(SlackApiTokenValue::new(bot_token.expose().to_owned())),
        })
    }

    /// The underlying client, for the Socket Mode listener.
    pub fn client(&self) -> Arc<SlackHyperClient> {
        Arc::clone(&self.client)
    }

    /// `chat.postMessage`; returns the message `ts`.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn post_message(
        &self,
        channel: &str,
        message: &Message,
        thread_ts: Option<&str>,
    ) -> Result<String, SlackError> {
        let mut req = SlackApiChatPostMessageRequest::new(
            SlackChannelId::new(channel.to_owned()),
            message.content(),
        );
        if let Some(ts) = thread_ts {
            req = req.with_thread_ts(SlackTs::new(ts.to_owned()));
        }
        let resp = self
            .client
            .open_session(&self.token)
            .chat_post_message(&req)
            .await?;
        Ok(resp.ts.0)
    }

    /// `chat.update` of a message we posted.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let req = SlackApiChatUpdateRequest::new(
            SlackChannelId::new(channel.to_owned()),
            message.content(),
            SlackTs::new(ts.to_owned()),
        );
        self.client
            .open_session(&self.token)
            .chat_update(&req)
            .await?;
        Ok(())
    }

    /// Answers through a `response_url`: ephemeral, seen only by the person
    /// who acted.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn respond(&self, response_url: &str, message: &Message) -> Result<(), SlackError> {
        let url = url::Url::parse(response_url).map_err(|_| SlackError::BadResponseUrl)?;
        let req = SlackApiPostWebhookMessageRequest::new(message.content());
        self.client.post_webhook_message(&url, &req).await?;
        Ok(())
    }

    /// `chat.postEphemeral`: a message only `user` sees.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let req = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId::new(channel.to_owned()),
            SlackUserId::new(user.to_owned()),
            message.content(),
        );
        self.client
            .open_session(&self.token)
            .chat_post_ephemeral(&req)
            .await?;
        Ok(())
    }

    /// `views.open` for a modal.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn open_modal(&self, trigger_id: &str, view: SlackView) -> Result<(), SlackError> {
        let req = SlackApiViewsOpenRequest::new(SlackTriggerId::new(trigger_id.to_owned()), view);
        self.client
            .open_session(&self.token)
            .views_open(&req)
            .await?;
        Ok(())
    }
}
