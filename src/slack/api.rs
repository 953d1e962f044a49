//! The Slack Web API calls the bot makes, through slack-morphism's client:
//! post and update the case card, post in its thread, answer a
//! `response_url`, open a modal. `SLACK_API_URL` points it at a stand-in in
//! tests; the connector then also speaks plain HTTP.
//!
//! Every call, `response_url` posts included, is retried when Slack answers
//! `ratelimited` (HTTP 429), after its `Retry-After`, within
//! [`RATE_LIMIT_BUDGET`]; its final outcome is counted in `/metrics`
//! (`slack_posts`), so a lost post shows as failed.

use crate::domain::{
    ChannelId, MessageTs, ResponseUrl, SlackAppToken, SlackBotToken, SlackUserId as UserId,
    TriggerId, UserGroupId,
};
use crate::metrics::{Metrics, SlackPostLabels};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one call keeps waiting out rate limits before it is given up:
/// long enough for Slack's usual `Retry-After` of a few seconds, short
/// enough to finish inside the shutdown grace period.
pub const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(20);
/// Waits when Slack sends no `Retry-After`.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// A card post or update that met a 5xx is sent once more after this. A
/// second copy of a card is harmless (both act on the same case's actions,
/// exactly once), and the card's location is the one Slack answered last.
pub const SERVER_ERROR_PAUSE: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// A failed Web API call; `Display` is safe to log (no token, no body).
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Slack answered `ok: false`, e.g. `not_in_channel`.
    #[error("Slack refused the call: {code}")]
    Api { code: String },
    #[error("Slack could not be reached: {0}")]
    Unreachable(String),
    /// Slack answered with a 5xx: worth one more try for a post.
    #[error("Slack had a server error (HTTP status {status})")]
    ServerError { status: u16 },
    /// Still `ratelimited` after waiting out [`RATE_LIMIT_BUDGET`].
    #[error("Slack kept rate-limiting the call (ratelimited)")]
    RateLimited { retry_after: Option<Duration> },
    /// Slack's answer held a field that is not what Slack sends (names the
    /// field, never its value).
    #[error("Slack answered with an unreadable {0}")]
    Unreadable(&'static str),
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
            SlackClientError::ApiError(api) if api.code == "ratelimited" => {
                Self::RateLimited { retry_after: None }
            }
            SlackClientError::ApiError(api) => Self::Api { code: api.code },
            SlackClientError::RateLimitError(limited) => Self::RateLimited {
                retry_after: limited.retry_after,
            },
            // Their `Display` carries the answer's body (a Socket Mode URL,
            // say): only the status or the JSON error's category is kept.
            SlackClientError::HttpError(http) if http.status_code.is_server_error() => {
                Self::ServerError {
                    status: http.status_code.as_u16(),
                }
            }
            SlackClientError::HttpError(http) => {
                Self::Unreachable(format!("HTTP status {}", http.status_code))
            }
            SlackClientError::ProtocolError(protocol) => Self::Unreachable(format!(
                "unreadable answer (JSON {:?} error)",
                protocol.json_error.classify()
            )),
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// The `wss://` URL `apps.connections.open` hands out: it carries a
/// connection ticket, so it has no `Display` and its `Debug` hides it.
pub struct SocketUrl(String);

impl SocketUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SocketUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SocketUrl([redacted])")
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
    /// Where final outcomes are counted; absent until `with_metrics`.
    metrics: Option<Metrics>,
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
            metrics: None,
        })
    }

    /// Counts every call's final outcome in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs `call` until it is not rate-limited or [`RATE_LIMIT_BUDGET`]
    /// would be passed, then counts the outcome under `method`.
    async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, SlackError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SlackError>>,
    {
        use backon::{BackoffBuilder, Retryable};
        let deadline = Instant::now() + RATE_LIMIT_BUDGET;
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(FIRST_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_jitter()
            .without_max_times()
            .build();
        let result = call
            .retry(backoff)
            .when(|e| matches!(e, SlackError::RateLimited { .. }))
            .adjust(|e, backoff| rate_limit_wait(e, backoff, Instant::now(), deadline))
            .notify(|_, wait| {
                tracing::info!(
                    method,
                    wait_ms = wait.as_millis() as u64,
                    "Slack rate-limited the call; retrying"
                )
            })
            .await;
        if let Some(metrics) = &self.metrics {
            let outcome = if result.is_ok() { "posted" } else { "failed" };
            metrics
                .slack_posts
                .get_or_create(&SlackPostLabels { method, outcome })
                .inc();
        }
        result
    }

    /// One read of the Web API into our own shape (only the fields the
    /// bot reads), rate limits waited out like every call.
    async fn read<RS>(
        &self,
        method: &'static str,
        params: Vec<(&'static str, Option<String>)>,
    ) -> Result<RS, SlackError>
    where
        RS: serde::de::DeserializeOwned + Send,
    {
        self.call(method, || async {
            Ok(self
                .client
                .open_session(&self.token)
                .http_session_api
                .http_get::<RS, _, String>(method, &params, None)
                .await?)
        })
        .await
    }

    /// `users.info`: whether `user` is a guest or of another organisation
    /// (`users:read`).
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn user_info(&self, user: &UserId) -> Result<UserInfo, SlackError> {
        let answer: UserInfoAnswer = self
            .read("users.info", vec![("user", Some(user.as_str().to_owned()))])
            .await?;
        Ok(answer.user)
    }

    /// `conversations.info`: whether `channel` is shared with another
    /// organisation, or a direct message (`channels:read`, `groups:read`,
    /// `im:read`, `mpim:read`).
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn channel_info(&self, channel: &ChannelId) -> Result<ChannelInfo, SlackError> {
        let answer: ChannelInfoAnswer = self
            .read(
                "conversations.info",
                vec![("channel", Some(channel.as_str().to_owned()))],
            )
            .await?;
        Ok(answer.channel)
    }

    /// `usergroups.users.list`: the members of `group` (`usergroups:read`).
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn group_members(&self, group: &UserGroupId) -> Result<Vec<UserId>, SlackError> {
        let answer: GroupMembersAnswer = self
            .read(
                "usergroups.users.list",
                vec![("usergroup", Some(group.as_str().to_owned()))],
            )
            .await?;
        // An id Slack lists that is not a user id is nobody we know.
        Ok(answer
            .users
            .iter()
            .filter_map(|id| UserId::parse(id).ok())
            .collect())
    }

    /// `auth.test`: the workspace (team) the bot is installed in.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn team_id(&self) -> Result<String, SlackError> {
        let answer: AuthTestAnswer = self.read("auth.test", Vec::new()).await?;
        Ok(answer.team_id)
    }

    /// `conversations.history`: one page (up to 200, newest first) of a
    /// channel's messages, from `cursor` (`channels:history`, or
    /// `groups:history` for a private channel). The audit witness reads
    /// its published heads back with it.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn channel_history(
        &self,
        channel: &ChannelId,
        cursor: Option<&str>,
    ) -> Result<HistoryPage, SlackError> {
        self.read(
            "conversations.history",
            vec![
                ("channel", Some(channel.as_str().to_owned())),
                ("limit", Some(HISTORY_PAGE.to_string())),
                ("cursor", cursor.map(str::to_owned)),
            ],
        )
        .await
    }

    /// `apps.connections.open` with the app-level token: the URL of a new
    /// Socket Mode websocket. A refused token is `SlackError::Api` with
    /// Slack's code (`invalid_auth`, `token_revoked`, …).
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn open_socket(&self, app_token: &SlackAppToken) -> Result<SocketUrl, SlackError> {
        let token = SlackApiToken::new(SlackApiTokenValue::new(app_token.expose().to_owned()));
        let req = SlackApiAppsConnectionOpenRequest::new();
        let resp = self
            .call("apps.connections.open", || async {
                Ok(self
                    .client
                    .open_session(&token)
                    .apps_connections_open(&req)
                    .await?)
            })
            .await?;
        Ok(SocketUrl(String::from(resp.url.0)))
    }

    /// `chat.postMessage`; returns the message `ts`, read as one.
    ///
    /// # Errors
    /// See [`SlackError`]; [`SlackError::Unreadable`] when the `ts` Slack
    /// answers is not one.
    pub async fn post_message(
        &self,
        channel: &ChannelId,
        message: &Message,
        thread_ts: Option<&MessageTs>,
    ) -> Result<MessageTs, SlackError> {
        self.post(channel.as_str(), message, thread_ts).await
    }

    /// `chat.postMessage` to a user: a direct message from the bot.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn post_to_user(&self, user: &UserId, message: &Message) -> Result<(), SlackError> {
        self.post(user.as_str(), message, None).await.map(|_| ())
    }

    /// `chat.postMessage` to a conversation: a channel's id, or a user's
    /// for a direct message.
    async fn post(
        &self,
        conversation: &str,
        message: &Message,
        thread_ts: Option<&MessageTs>,
    ) -> Result<MessageTs, SlackError> {
        let mut req = SlackApiChatPostMessageRequest::new(
            SlackChannelId::new(conversation.to_owned()),
            message.content(),
        );
        if let Some(ts) = thread_ts {
            req = req.with_thread_ts(SlackTs::new(ts.as_str().to_owned()));
        }
        let post = || {
            self.call("chat.postMessage", || async {
                Ok(self
                    .client
                    .open_session(&self.token)
                    .chat_post_message(&req)
                    .await?)
            })
        };
        let resp = once_more_after_5xx("chat.postMessage", post).await?;
        MessageTs::parse(&resp.ts.0).map_err(|_| SlackError::Unreadable("message ts"))
    }

    /// `chat.getPermalink`: a link to one of our messages.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn permalink(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
    ) -> Result<String, SlackError> {
        let req = SlackApiChatGetPermalinkRequest::new(
            SlackChannelId::new(channel.as_str().to_owned()),
            SlackTs::new(ts.as_str().to_owned()),
        );
        let resp = self
            .call("chat.getPermalink", || async {
                Ok(self
                    .client
                    .open_session(&self.token)
                    .chat_get_permalink(&req)
                    .await?)
            })
            .await?;
        Ok(resp.permalink.to_string())
    }

    /// `chat.update` of a message we posted.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn update_message(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        message: &Message,
    ) -> Result<(), SlackError> {
        let req = SlackApiChatUpdateRequest::new(
            SlackChannelId::new(channel.as_str().to_owned()),
            message.content(),
            SlackTs::new(ts.as_str().to_owned()),
        );
        let update = || {
            self.call("chat.update", || async {
                Ok(self
                    .client
                    .open_session(&self.token)
                    .chat_update(&req)
                    .await?)
            })
        };
        once_more_after_5xx("chat.update", update).await?;
        Ok(())
    }

    /// Answers through a `response_url`: ephemeral, seen only by the person
    /// who acted, beside the message acted on (`replace_original: false`).
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn respond(
        &self,
        response_url: &ResponseUrl,
        message: &Message,
    ) -> Result<(), SlackError> {
        let url = response_url.url().clone();
        // Never replaces the message acted on (a card stays a card).
        let req =
            SlackApiPostWebhookMessageRequest::new(message.content()).with_replace_original(false);
        self.call("response_url", || async {
            Ok(self.client.post_webhook_message(&url, &req).await?)
        })
        .await?;
        Ok(())
    }

    /// `chat.postEphemeral`: a message only `user` sees.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &UserId,
        message: &Message,
    ) -> Result<(), SlackError> {
        let req = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId::new(channel.as_str().to_owned()),
            SlackUserId::new(user.as_str().to_owned()),
            message.content(),
        );
        self.call("chat.postEphemeral", || async {
            Ok(self
                .client
                .open_session(&self.token)
                .chat_post_ephemeral(&req)
                .await?)
        })
        .await?;
        Ok(())
    }

    /// `views.publish`: `view` becomes `user`'s App Home.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn publish_home(&self, user: &UserId, view: SlackView) -> Result<(), SlackError> {
        let req =
            SlackApiViewsPublishRequest::new(SlackUserId::new(user.as_str().to_owned()), view);
        self.call("views.publish", || async {
            Ok(self
                .client
                .open_session(&self.token)
                .views_publish(&req)
                .await?)
        })
        .await?;
        Ok(())
    }

    /// `views.open` for a modal.
    ///
    /// # Errors
    /// See [`SlackError`].
    pub async fn open_modal(
        &self,
        trigger_id: &TriggerId,
        view: SlackView,
    ) -> Result<(), SlackError> {
        let req = SlackApiViewsOpenRequest::new(
            SlackTriggerId::new(trigger_id.as_str().to_owned()),
            view,
        );
        self.call("views.open", || async {
            Ok(self
                .client
                .open_session(&self.token)
                .views_open(&req)
                .await?)
        })
        .await?;
        Ok(())
    }
}

/// Runs `send`, and once more after [`SERVER_ERROR_PAUSE`] when Slack
/// answered with a 5xx: a single server error should not lose a card.
async fn once_more_after_5xx<T, F, Fut>(method: &'static str, send: F) -> Result<T, SlackError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, SlackError>>,
{
    match send().await {
        Err(SlackError::ServerError { status }) => {
            tracing::warn!(
                method,
                status,
                "Slack answered with a server error; sending once more"
            );
            tokio::time::sleep(SERVER_ERROR_PAUSE).await;
            send().await
        }
        other => other,
    }
}

/// What `users.info` says of a user, as far as access is decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub is_restricted: bool,
    #[serde(default)]
    pub is_ultra_restricted: bool,
    #[serde(default)]
    pub is_stranger: bool,
    #[serde(default)]
    pub deleted: bool,
}

/// What `conversations.info` says of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ChannelInfo {
    #[serde(default)]
    pub is_shared: bool,
    #[serde(default)]
    pub is_ext_shared: bool,
    #[serde(default)]
    pub is_pending_ext_shared: bool,
    #[serde(default)]
    pub is_im: bool,
}

/// Messages per `conversations.history` page: Slack's recommended most.
const HISTORY_PAGE: u32 = 200;

/// One page of `conversations.history`, as far as the bot reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct HistoryPage {
    #[serde(default)]
    pub messages: Vec<HistoryMessage>,
    #[serde(default)]
    response_metadata: Option<ResponseMetadata>,
}

impl HistoryPage {
    /// The cursor of the next page; `None` on the last.
    pub fn next_cursor(&self) -> Option<&str> {
        self.response_metadata
            .as_ref()
            .map(|meta| meta.next_cursor.as_str())
            .filter(|cursor| !cursor.is_empty())
    }
}

/// A message of a channel's history: its `ts` and text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct HistoryMessage {
    #[serde(default)]
    pub ts: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
struct ResponseMetadata {
    #[serde(default)]
    next_cursor: String,
}

#[derive(serde::Deserialize)]
struct UserInfoAnswer {
    user: UserInfo,
}

#[derive(serde::Deserialize)]
struct ChannelInfoAnswer {
    channel: ChannelInfo,
}

#[derive(serde::Deserialize)]
struct GroupMembersAnswer {
    #[serde(default)]
    users: Vec<String>,
}

#[derive(serde::Deserialize)]
struct AuthTestAnswer {
    team_id: String,
}

/// The wait before retrying a rate-limited call: Slack's `Retry-After`, or
/// the backoff's when it sent none; `None` (give up) past `deadline`.
fn rate_limit_wait(
    error: &SlackError,
    backoff: Option<Duration>,
    now: Instant,
    deadline: Instant,
) -> Option<Duration> {
    let SlackError::RateLimited { retry_after } = error else {
        return None;
    };
    let wait = retry_after.or(backoff)?;
    (now + wait <= deadline).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_waits_retry_after_within_the_budget() {
        let now = Instant::now();
        let deadline = now + RATE_LIMIT_BUDGET;
        let limited = |secs| SlackError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
        };
        let backoff = Some(Duration::from_secs(1));
        assert_eq!(
            rate_limit_wait(&limited(3), backoff, now, deadline),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            rate_limit_wait(
                &SlackError::RateLimited { retry_after: None },
                backoff,
                now,
                deadline
            ),
            backoff
        );
        assert_eq!(
            rate_limit_wait(&limited(60), backoff, now, deadline),
            None,
            "past the budget: lost now, not later"
        );
        assert_eq!(
            rate_limit_wait(
                &SlackError::Api {
                    code: "not_in_channel".into()
                },
                backoff,
                now,
                deadline
            ),
            None
        );
    }
}
