//! The shapes Slack sends us, read leniently: only the fields we use, as
//! plain strings checked into domain types by the caller. Slack documents
//! them at <https://api.slack.com/interactivity/slash-commands>,
//! <https://api.slack.com/reference/interaction-payloads> and
//! <https://api.slack.com/events/url_verification>.

use serde::Deserialize;

/// A slash command (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Deserialize)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    pub channel_id: String,
    pub response_url: String,
    #[serde(default)]
    pub trigger_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Channel {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessageRef {
    pub ts: String,
    /// The parent's ts when the message is a reply in a thread.
    #[serde(default)]
    pub thread_ts: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BlockAction {
    pub action_id: String,
    #[serde(default)]
    pub value: Option<String>,
    /// A select menu's choice (a button has `value` instead).
    #[serde(default)]
    pub selected_option: Option<SelectedOption>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SelectedOption {
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct View {
    #[serde(default)]
    pub callback_id: String,
    #[serde(default)]
    pub private_metadata: String,
    #[serde(default)]
    pub state: ViewState,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ViewState {
    /// `block_id → action_id → { type, value }`, kept as JSON and read by
    /// [`ViewState::text`].
    #[serde(default)]
    pub values: serde_json::Value,
}

impl ViewState {
    /// The option chosen in the select or radio input `action_id` of block
    /// `block_id`.
    pub fn selected(&self, block_id: &str, action_id: &str) -> Option<&str> {
        self.values
            .get(block_id)?
            .get(action_id)?
            .get("selected_option")?
            .get("value")?
            .as_str()
    }

    /// Every input's value by its `action_id`, whatever its block and kind:
    /// the option picked (select, radio), the day picked (`YYYY-MM-DD`), or
    /// the text typed; inputs left empty are left out.
    pub fn inputs(&self) -> Vec<(String, String)> {
        let Some(blocks) = self.values.as_object() else {
            return Vec::new();
        };
        blocks
            .values()
            .filter_map(serde_json::Value::as_object)
            .flat_map(|inputs| inputs.iter())
            .filter_map(|(action_id, input)| {
                let value = input
                    .get("selected_option")
                    .and_then(|o| o.get("value"))
                    .or_else(|| input.get("selected_date"))
                    .or_else(|| input.get("value"))?
                    .as_str()?;
                Some((action_id.clone(), value.to_owned()))
            })
            .collect()
    }

    /// The text typed into the input `action_id` of block `block_id`.
    pub fn text(&self, block_id: &str, action_id: &str) -> Option<&str> {
        self.values
            .get(block_id)?
            .get(action_id)?
            .get("value")?
            .as_str()
    }
}

/// The `payload` form field of `/slack/interactions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Interaction {
    /// A button on one of our messages.
    BlockActions {
        user: User,
        /// Where the buttons are: `message`, or `view` (a modal, the Home).
        #[serde(default)]
        container: Option<Container>,
        #[serde(default)]
        channel: Option<Channel>,
        #[serde(default)]
        message: Option<MessageRef>,
        actions: Vec<BlockAction>,
        #[serde(default)]
        response_url: Option<String>,
        trigger_id: String,
    },
    /// A modal we opened was submitted.
    ViewSubmission { user: User, view: View },
    /// A message shortcut ("Triage billing case").
    MessageAction {
        callback_id: String,
        user: User,
        channel: Channel,
        message: MessageRef,
        response_url: String,
        trigger_id: String,
    },
    /// Anything else (global shortcuts, view closed, …): acknowledged, ignored.
    #[serde(other)]
    Other,
}

/// What holds clicked buttons.
#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    #[serde(rename = "type")]
    pub kind: String,
}

/// The JSON body of `/slack/events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventEnvelope {
    UrlVerification {
        challenge: String,
    },
    /// An event the app subscribed to (`manifest.yml`). Slack sends it again
    /// when the answer is slow (`X-Slack-Retry-Num`) with the same
    /// `event_id`, which names the delivery.
    EventCallback {
        event_id: String,
        event: Event,
    },
    #[serde(other)]
    Other,
}

/// The events the bot acts on.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A user opened one of the app's tabs (`tab`: `home` or `messages`).
    AppHomeOpened {
        user: String,
        #[serde(default)]
        tab: Option<String>,
    },
    #[serde(other)]
    Other,
}

/// What identifies one delivery of a request: SHA-256 of the signed body
/// (HTTP) or of the event as received (Socket Mode), lower-case hex. The
/// signature timestamp is left out on purpose: a Slack retry may be signed
/// anew, while its body is the same, and every real request's body differs
/// from every other's (Slack puts a fresh `trigger_id` or `action_ts` in
/// each), so equal bodies within the replay window are one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub fn of_body(body: &[u8]) -> Self {
        use sha2::Digest;
        Self(hex::encode(sha2::Sha256::digest(body)))
    }

    /// For Socket Mode, where the listener hands over the parsed event.
    pub fn of_json(value: &serde_json::Value) -> Self {
        Self::of_body(value.to_string().as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest's first 64 bits: the same for every delivery of one
    /// request, so what is named after them (a lookup's case) is too.
    pub fn leading_bits(&self) -> u64 {
        self.0
            .get(..16)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or_default()
    }
}

/// Why a body could not be read; the caller answers 400 and logs it.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the form body is malformed: {0}")]
    Form(#[from] serde_urlencoded::de::Error),
    #[error("the JSON payload is malformed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the interaction body has no `payload` field")]
    NoPayload,
}

/// Slack's periodic certificate check of a slash-command URL
/// (`ssl_check=1`, no user or command): answered 200, nothing else.
pub fn is_ssl_check(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Form {
        ssl_check: Option<String>,
    }
    serde_urlencoded::from_bytes::<Form>(body).is_ok_and(|f| f.ssl_check.as_deref() == Some("1"))
}

/// # Errors
/// When the body is not a slash-command form.
pub fn slash_command(body: &[u8]) -> Result<SlashCommand, PayloadError> {
    Ok(serde_urlencoded::from_bytes(body)?)
}

/// # Errors
/// When the body has no `payload` field or it is not an interaction.
pub fn interaction(body: &[u8]) -> Result<Interaction, PayloadError> {
    #[derive(Deserialize)]
    struct Form {
        payload: Option<String>,
    }
    let form: Form = serde_urlencoded::from_bytes(body)?;
    let payload = form.payload.ok_or(PayloadError::NoPayload)?;
    Ok(serde_json::from_str(&payload)?)
}

/// # Errors
/// When the body is not JSON with a `type`.
pub fn event(body: &[u8]) -> Result<EventEnvelope, PayloadError> {
    Ok(serde_json::from_slice(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_slash_command_form() {
        let body = b"token=x&team_id=T1&team_domain=acme&channel_id=C1&channel_name=billing&user_id=U1&user_name=ana&command=%2Fbilling&text=lookup+ana%40example.com&api_app_id=A1&is_enterprise_install=false&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1%2F2%2F3&trigger_id=1.2.3";
        let cmd = slash_command(body).expect("form");
        assert_eq!(cmd.text, "lookup ana@example.com");
        assert_eq!(cmd.user_id, "U1");
        assert_eq!(cmd.response_url, "https://hooks.slack.com/commands/1/2/3");
    }

    #[test]
    fn recognises_slacks_ssl_check() {
        assert!(is_ssl_check(b"ssl_check=1&token=x"));
        assert!(!is_ssl_check(b"command=%2Fbilling&text=help"));
    }

    #[test]
    fn reads_interactions_and_ignores_unknown_types() {
        let json = r#"{"type":"block_actions","user":{"id":"U2"},"channel":{"id":"C1"},"message":{"ts":"1.2"},"trigger_id":"t","actions":[{"action_id":"approve_action","value":"case_0123456789ab/a1"}]}"#;
        let body = serde_urlencoded::to_string([("payload", json)]).expect("encode");
        assert!(matches!(
            interaction(body.as_bytes()),
            Ok(Interaction::BlockActions { .. })
        ));
        let body = serde_urlencoded::to_string([("payload", r#"{"type":"view_closed"}"#)])
            .expect("encode");
        assert!(matches!(
            interaction(body.as_bytes()),
            Ok(Interaction::Other)
        ));
        assert!(matches!(
            interaction(b"nothing=here"),
            Err(PayloadError::NoPayload)
        ));
        assert!(interaction(b"payload=%7Bnot+json").is_err());
    }

    #[test]
    fn a_delivery_is_named_by_its_body() {
        let a = DeliveryId::of_body(b"command=%2Fbilling&trigger_id=1");
        assert_eq!(a, DeliveryId::of_body(b"command=%2Fbilling&trigger_id=1"));
        assert_ne!(a, DeliveryId::of_body(b"command=%2Fbilling&trigger_id=2"));
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(
            a.leading_bits(),
            u64::from_str_radix(&a.as_str()[..16], 16).expect("hex")
        );
        assert_ne!(
            a.leading_bits(),
            DeliveryId::of_body(b"command=%2Fbilling&trigger_id=2").leading_bits()
        );
        let json = serde_json::json!({"type": "block_actions", "trigger_id": "t"});
        assert_eq!(
            DeliveryId::of_json(&json),
            DeliveryId::of_json(&json.clone())
        );
    }

    #[test]
    fn reads_url_verification() {
        let e =
            event(br#"{"token":"x","challenge":"abc","type":"url_verification"}"#).expect("event");
        assert!(matches!(e, EventEnvelope::UrlVerification { challenge } if challenge == "abc"));
    }

    #[test]
    fn reads_app_home_opened_and_passes_over_other_events() {
        let home = event(br#"{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1,"event":{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home","event_ts":"1.2"}}"#).expect("event");
        assert!(matches!(
            home,
            EventEnvelope::EventCallback { ref event_id, event: Event::AppHomeOpened { ref user, ref tab } }
                if event_id == "Ev1" && user == "U1" && tab.as_deref() == Some("home")
        ));
        let other = event(
            br#"{"type":"event_callback","event_id":"Ev2","event":{"type":"message","text":"hi"}}"#,
        )
        .expect("event");
        assert!(matches!(
            other,
            EventEnvelope::EventCallback {
                event: Event::Other,
                ..
            }
        ));
        assert!(matches!(
            event(br#"{"type":"app_rate_limited"}"#).expect("event"),
            EventEnvelope::Other
        ));
    }
}
