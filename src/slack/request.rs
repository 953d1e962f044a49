//! One typed request per Slack delivery, read once at the edge. The HTTP
//! routes (a form body) and Socket Mode (an envelope's payload, as JSON)
//! both read Slack's shapes through the lenient [`payloads`](super::payloads)
//! types and then through [`Request::from_command`] /
//! [`Request::from_interaction`], so the `slack::Handler` receives the same
//! [`Request`] either way: Slack ids, timestamps, the `response_url`, the
//! trigger, the case and action a button names, and what was typed into a
//! modal are types here, and the workflow only dispatches on them.
//!
//! Adding a button: a constant for its `action_id` beside the code that
//! renders it, a [`Button`] variant and its arm in [`Button::parse`], and
//! its handler in `crate::handlers`.

use super::payloads::{self, BlockAction, Interaction, PayloadError, SlashCommand, View};
use crate::domain::choice::{CaseChoice, Terms};
use crate::domain::surface;
use crate::domain::text::{OperatorText, TextError};
use crate::domain::{
    BillingCommand, CaseAction, CaseId, ChannelId, CommandError, CustomerId, LookupQuery,
    MessageTs, ResponseUrl, SlackUserId, TriggerId,
};

/// The callback id of the "Triage billing case" message shortcut (manifest.yml).
pub const TRIAGE_SHORTCUT: &str = "triage_billing_case";
/// How an unreadable slash command is named in [`Unreadable::kind`].
pub const COMMAND_KIND: &str = "slash command";
/// A typed partial-refund amount longer than this is not an amount; it is
/// refused without being echoed back.
pub const AMOUNT_MAX_CHARS: usize = 32;

/// Every request Slack sends us that the bot acts on, typed.
#[derive(Debug)]
pub enum Request {
    /// `/billing …`.
    Command(CommandRequest),
    /// The "Triage billing case" message shortcut.
    Shortcut(ShortcutRequest),
    /// One or more buttons clicked on one of our messages.
    Buttons(ButtonsRequest),
    /// A modal we opened was submitted.
    Submission(SubmissionRequest),
    /// Read, and not ours to act on (global shortcuts, view closed…).
    Ignored { kind: &'static str },
    /// A field Slack always sends could not be read; nothing can run.
    Unreadable(Unreadable),
}

/// Which field of which kind of request could not be read. Names the field,
/// never its value (a `response_url` is a credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Slack sent a {field} the bot cannot read in a {kind}")]
pub struct Unreadable {
    pub kind: &'static str,
    pub field: &'static str,
}

/// `/billing <text>`.
#[derive(Debug)]
pub struct CommandRequest {
    pub user: SlackUserId,
    pub channel: ChannelId,
    pub response_url: ResponseUrl,
    pub trigger_id: Option<TriggerId>,
    /// The typed text, read as a command; its error is the usage reply.
    pub command: Result<BillingCommand, CommandError>,
}

/// The message shortcut, run on one message.
#[derive(Debug, Clone)]
pub struct ShortcutRequest {
    pub user: SlackUserId,
    pub channel: ChannelId,
    pub message: MessageRef,
    pub response_url: ResponseUrl,
    pub trigger_id: TriggerId,
}

/// A message as an interaction names it.
#[derive(Debug, Clone)]
pub struct MessageRef {
    pub ts: MessageTs,
    /// Set when the message is itself a reply in a thread.
    pub thread_ts: Option<MessageTs>,
    /// As written (not yet scrubbed): the caller reads identifiers from it
    /// and keeps only a scrubbed copy.
    pub text: String,
}

impl MessageRef {
    /// The thread this message belongs to: its parent's ts, or its own.
    pub fn thread(&self) -> &MessageTs {
        self.thread_ts.as_ref().unwrap_or(&self.ts)
    }
}

/// Buttons clicked on one message.
#[derive(Debug, Clone)]
pub struct ButtonsRequest {
    pub user: SlackUserId,
    /// Where the clicked message is; absent on messages outside channels.
    pub channel: Option<ChannelId>,
    pub message: Option<MessageRef>,
    pub response_url: Option<ResponseUrl>,
    pub trigger_id: TriggerId,
    pub buttons: Vec<Button>,
    /// Clicked in a view (the App Home), not on a message.
    pub in_view: bool,
}

/// One clicked button, by its `action_id`, with its value read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// Approve an action of a case card.
    Approve(CaseAction),
    /// Reject one (opens the reason modal).
    Reject(CaseAction),
    /// Refund part of a proposed refund (opens the amount modal).
    PartialRefund(CaseAction),
    /// A churn report row's **Triage**: look the customer up.
    TriageCustomer(CustomerId),
    /// A card's **Add context**: opens the context modal for this case.
    AddContext(CaseId),
    /// A card's **Look up** of another identifier its message named: look
    /// it up in the card's thread.
    LookUp(LookupQuery),
    /// An option of a card's "More actions…" menu.
    MoreActions(CaseChoice),
    /// One of ours whose value is not what we put there.
    Unreadable { action_id: String },
    /// Not one of ours.
    Unknown { action_id: String },
}

impl Button {
    /// Its `action_id` as the audit names what was tried.
    pub fn action_id(&self) -> &str {
        match self {
            Self::Approve(_) => surface::APPROVE_ACTION_ID,
            Self::Reject(_) => surface::REJECT_ACTION_ID,
            Self::PartialRefund(_) => surface::PARTIAL_REFUND_ACTION_ID,
            Self::TriageCustomer(_) => surface::TRIAGE_ACTION_ID,
            Self::AddContext(_) => surface::ADD_CONTEXT_ACTION_ID,
            Self::LookUp(_) => surface::LOOK_UP_ACTION_ID,
            Self::MoreActions(_) => surface::MORE_ACTIONS_ACTION_ID,
            Self::Unreadable { action_id } | Self::Unknown { action_id } => action_id,
        }
    }

    /// The customer identifier it asks about, when it names one.
    pub fn identifier(&self) -> Option<String> {
        match self {
            Self::TriageCustomer(customer) => Some(customer.to_string()),
            Self::LookUp(query) => Some(query.to_string()),
            _ => None,
        }
    }

    /// Reads one clicked button by its `action_id`.
    pub fn parse(action: &BlockAction) -> Self {
        let id = action.action_id.as_str();
        let value = action.value.as_deref().unwrap_or_default();
        let on_case = |make: fn(CaseAction) -> Button| match CaseAction::parse(value) {
            Some(target) => make(target),
            None => Button::Unreadable {
                action_id: id.to_owned(),
            },
        };
        match id {
            surface::APPROVE_ACTION_ID => on_case(Button::Approve),
            surface::REJECT_ACTION_ID => on_case(Button::Reject),
            surface::PARTIAL_REFUND_ACTION_ID => on_case(Button::PartialRefund),
            surface::ADD_CONTEXT_ACTION_ID => match CaseId::parse(value) {
                Ok(case_id) => Button::AddContext(case_id),
                Err(_) => Button::Unreadable {
                    action_id: id.to_owned(),
                },
            },
            id if surface::is_look_up(id) => match LookupQuery::parse(value) {
                Ok(query) => Button::LookUp(query),
                Err(_) => Button::Unreadable {
                    action_id: id.to_owned(),
                },
            },
            surface::MORE_ACTIONS_ACTION_ID => match action
                .selected_option
                .as_ref()
                .and_then(|o| CaseChoice::parse(&o.value))
            {
                Some(target) => Button::MoreActions(target),
                None => Button::Unreadable {
                    action_id: id.to_owned(),
                },
            },
            surface::TRIAGE_ACTION_ID => match CustomerId::parse(value) {
                Ok(customer) => Button::TriageCustomer(customer),
                Err(_) => Button::Unreadable {
                    action_id: id.to_owned(),
                },
            },
            _ => Button::Unknown {
                action_id: id.chars().take(64).collect(),
            },
        }
    }
}

/// A submitted modal.
#[derive(Debug, Clone)]
pub struct SubmissionRequest {
    pub user: SlackUserId,
    pub form: Submission,
}

/// What a modal's fields said, read.
#[derive(Debug, Clone)]
pub enum Submission {
    /// The reject modal: why (scrubbed here, before it reaches the card,
    /// Redis, the audit or a log).
    Reject {
        target: CaseAction,
        reason: Result<OperatorText, TextError>,
    },
    /// The partial-refund modal: the amount typed.
    PartialRefund {
        target: CaseAction,
        amount: Result<TypedAmount, AmountTooLong>,
    },
    /// The context modal: the customer's message or an operator note
    /// (scrubbed here), for this case.
    AddContext {
        case_id: CaseId,
        kind: ContextKind,
        text: Result<OperatorText, TextError>,
    },
    /// A "More actions…" form (`actions::terms`), with what was entered.
    ChooseTerms { target: CaseChoice, terms: Terms },
    /// One of ours whose `private_metadata` is not what we put there.
    Unreadable { callback_id: String },
    /// Not one of ours.
    Unknown { callback_id: String },
}

/// What an operator adds to a case through **Add context**.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextKind {
    /// What the customer wrote: the case is triaged again with it.
    CustomerMessage,
    /// The operator's own note: shown on the card and audited.
    OperatorNote,
}

impl ContextKind {
    fn parse(value: &str) -> Option<Self> {
        match value {
            surface::CUSTOMER_MESSAGE => Some(Self::CustomerMessage),
            surface::OPERATOR_NOTE => Some(Self::OperatorNote),
            _ => None,
        }
    }

    /// As the audit names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::CustomerMessage => surface::CUSTOMER_MESSAGE,
            Self::OperatorNote => surface::OPERATOR_NOTE,
        }
    }
}

/// An amount as typed in major units ("12.50"), not yet in a currency: the
/// currency is the charge's, known from the stored case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedAmount(String);

/// The typed amount is longer than any amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("That is not an amount: type a positive number such as 12.50")]
pub struct AmountTooLong;

impl TypedAmount {
    /// # Errors
    /// When the text is longer than [`AMOUNT_MAX_CHARS`] (not echoed back).
    pub fn parse(typed: &str) -> Result<Self, AmountTooLong> {
        if typed.trim().chars().take(AMOUNT_MAX_CHARS + 1).count() > AMOUNT_MAX_CHARS {
            Err(AmountTooLong)
        } else {
            Ok(Self(typed.to_owned()))
        }
    }

    /// In `currency`'s minor units.
    ///
    /// # Errors
    /// When it is not a positive amount with at most the currency's decimals.
    pub fn in_currency(
        &self,
        currency: crate::domain::Currency,
    ) -> Result<crate::domain::Money, crate::domain::AmountError> {
        crate::domain::Money::parse_major(&self.0, currency)
    }
}

impl Submission {
    /// The modal's `callback_id`, as the audit names what was tried.
    pub fn callback_id(&self) -> &str {
        match self {
            Self::Reject { .. } => surface::REJECT_CALLBACK,
            Self::PartialRefund { .. } => surface::REFUND_CALLBACK,
            Self::AddContext { .. } => surface::CONTEXT_CALLBACK,
            Self::ChooseTerms { .. } => "choose_terms",
            Self::Unreadable { callback_id } | Self::Unknown { callback_id } => callback_id,
        }
    }

    fn read(view: &View) -> Self {
        let target = CaseAction::parse(&view.private_metadata);
        let text = |block, input| view.state.text(block, input).unwrap_or_default();
        let callback_id = view.callback_id.clone();
        let chosen = CaseChoice::parse(&view.private_metadata);
        if view.callback_id.starts_with(surface::CHOICE_FORM_PREFIX) {
            return match chosen {
                Some(target) => Self::ChooseTerms {
                    target,
                    terms: view.state.inputs().into_iter().collect(),
                },
                None => Self::Unreadable { callback_id },
            };
        }
        match (view.callback_id.as_str(), target) {
            (surface::REJECT_CALLBACK, Some(target)) => Self::Reject {
                target,
                reason: OperatorText::parse(
                    text(surface::REASON_BLOCK, surface::REASON_INPUT),
                    surface::REASON_MAX_CHARS,
                ),
            },
            (surface::REFUND_CALLBACK, Some(target)) => Self::PartialRefund {
                target,
                amount: TypedAmount::parse(text(surface::AMOUNT_BLOCK, surface::AMOUNT_INPUT)),
            },
            (surface::REJECT_CALLBACK | surface::REFUND_CALLBACK, None) => {
                Self::Unreadable { callback_id }
            }
            (surface::CONTEXT_CALLBACK, _) => {
                let case_id = CaseId::parse(&view.private_metadata).ok();
                let kind = view
                    .state
                    .selected(surface::CONTEXT_KIND_BLOCK, surface::CONTEXT_KIND_INPUT)
                    .and_then(ContextKind::parse);
                match (case_id, kind) {
                    (Some(case_id), Some(kind)) => Self::AddContext {
                        case_id,
                        kind,
                        text: OperatorText::parse(
                            text(surface::CONTEXT_TEXT_BLOCK, surface::CONTEXT_TEXT_INPUT),
                            surface::CONTEXT_INPUT_MAX_CHARS,
                        ),
                    },
                    _ => Self::Unreadable { callback_id },
                }
            }
            _ => Self::Unknown {
                callback_id: callback_id.chars().take(64).collect(),
            },
        }
    }
}

fn field<T, E>(
    kind: &'static str,
    field: &'static str,
    read: Result<T, E>,
) -> Result<T, Unreadable> {
    read.map_err(|_| Unreadable { kind, field })
}

fn optional<T, E>(raw: Option<&str>, parse: impl Fn(&str) -> Result<T, E>) -> Option<T> {
    raw.filter(|s| !s.is_empty()).and_then(|s| parse(s).ok())
}

impl Request {
    /// A slash command's form, typed.
    pub fn from_command(raw: SlashCommand) -> Self {
        let read = || -> Result<CommandRequest, Unreadable> {
            const KIND: &str = COMMAND_KIND;
            Ok(CommandRequest {
                user: field(KIND, "user id", SlackUserId::parse(&raw.user_id))?,
                channel: field(KIND, "channel id", ChannelId::parse(&raw.channel_id))?,
                response_url: field(KIND, "response_url", ResponseUrl::parse(&raw.response_url))?,
                trigger_id: optional(raw.trigger_id.as_deref(), TriggerId::parse),
                command: BillingCommand::parse(&raw.text),
            })
        };
        read().map_or_else(Self::Unreadable, Self::Command)
    }

    /// An interaction payload, typed.
    pub fn from_interaction(raw: Interaction) -> Self {
        let read = || -> Result<Self, Unreadable> {
            Ok(match raw {
                Interaction::MessageAction {
                    callback_id,
                    user,
                    channel,
                    message,
                    response_url,
                    trigger_id,
                } if callback_id == TRIAGE_SHORTCUT => {
                    const KIND: &str = "message shortcut";
                    Self::Shortcut(ShortcutRequest {
                        user: field(KIND, "user id", SlackUserId::parse(&user.id))?,
                        channel: field(KIND, "channel id", ChannelId::parse(&channel.id))?,
                        message: field(KIND, "message ts", message_ref(message))?,
                        response_url: field(
                            KIND,
                            "response_url",
                            ResponseUrl::parse(&response_url),
                        )?,
                        trigger_id: field(KIND, "trigger id", TriggerId::parse(&trigger_id))?,
                    })
                }
                Interaction::MessageAction { .. } => Self::Ignored {
                    kind: "message_action",
                },
                Interaction::BlockActions {
                    user,
                    container,
                    channel,
                    message,
                    actions,
                    response_url,
                    trigger_id,
                } => {
                    const KIND: &str = "button click";
                    Self::Buttons(ButtonsRequest {
                        user: field(KIND, "user id", SlackUserId::parse(&user.id))?,
                        channel: optional(
                            channel.as_ref().map(|c| c.id.as_str()),
                            ChannelId::parse,
                        ),
                        message: message.and_then(|m| message_ref(m).ok()),
                        response_url: optional(response_url.as_deref(), ResponseUrl::parse),
                        trigger_id: field(KIND, "trigger id", TriggerId::parse(&trigger_id))?,
                        buttons: actions.iter().map(Button::parse).collect(),
                        in_view: container.is_some_and(|c| c.kind == "view"),
                    })
                }
                Interaction::ViewSubmission { user, view } => Self::Submission(SubmissionRequest {
                    user: field("modal", "user id", SlackUserId::parse(&user.id))?,
                    form: Submission::read(&view),
                }),
                Interaction::Other => Self::Ignored { kind: "other" },
            })
        };
        read().unwrap_or_else(Self::Unreadable)
    }

    /// A form body of `/slack/commands`, typed.
    ///
    /// # Errors
    /// When the body is not a slash-command form.
    pub fn command_body(body: &[u8]) -> Result<Self, PayloadError> {
        payloads::slash_command(body).map(Self::from_command)
    }

    /// A form body of `/slack/interactions`, typed.
    ///
    /// # Errors
    /// When the body has no `payload` field or it is not an interaction.
    pub fn interaction_body(body: &[u8]) -> Result<Self, PayloadError> {
        payloads::interaction(body).map(Self::from_interaction)
    }

    /// A slash command as JSON (a Socket Mode envelope's payload), typed.
    ///
    /// # Errors
    /// When the JSON is not a slash command.
    pub fn command_json(value: serde_json::Value) -> Result<Self, PayloadError> {
        Ok(Self::from_command(serde_json::from_value(value)?))
    }

    /// An interaction as JSON (a Socket Mode envelope's payload), typed.
    ///
    /// # Errors
    /// When the JSON is not an interaction.
    pub fn interaction_json(value: serde_json::Value) -> Result<Self, PayloadError> {
        Ok(Self::from_interaction(serde_json::from_value(value)?))
    }
}

fn message_ref(raw: payloads::MessageRef) -> Result<MessageRef, crate::domain::IdError> {
    Ok(MessageRef {
        ts: MessageTs::parse(&raw.ts)?,
        thread_ts: optional(raw.thread_ts.as_deref(), MessageTs::parse),
        text: raw.text.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interaction(json: serde_json::Value) -> Request {
        Request::interaction_json(json).expect("an interaction")
    }

    #[test]
    fn a_slash_command_is_typed_once() {
        let body = b"token=x&team_id=T1&channel_id=C1&user_id=U1&command=%2Fbilling&text=lookup+ana%40example.com&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1%2F2%2F3&trigger_id=1.2.3";
        let Ok(Request::Command(cmd)) = Request::command_body(body) else {
            panic!("a command");
        };
        assert_eq!(cmd.user.as_str(), "U1");
        assert_eq!(cmd.channel.as_str(), "C1");
        assert_eq!(
            cmd.response_url.as_str(),
            "https://hooks.slack.com/commands/1/2/3"
        );
        assert!(matches!(cmd.command, Ok(BillingCommand::Lookup { .. })));

        let body = b"channel_id=C1&user_id=nobody&command=%2Fbilling&text=help&response_url=https%3A%2F%2Fhooks.slack.com%2Fx";
        assert!(matches!(
            Request::command_body(body),
            Ok(Request::Unreadable(Unreadable {
                field: "user id",
                ..
            }))
        ));
        let body = b"channel_id=C1&user_id=U1&command=%2Fbilling&text=help&response_url=nope";
        assert!(matches!(
            Request::command_body(body),
            Ok(Request::Unreadable(Unreadable {
                field: "response_url",
                ..
            }))
        ));
        assert!(
            Request::command_body(b"text=help").is_err(),
            "no user at all"
        );
    }

    use crate::domain::ActionKey;

    #[test]
    fn buttons_are_read_by_their_action_id() {
        let request = interaction(serde_json::json!({
            "type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C1"},
            "message": {"ts": "1.2", "thread_ts": "1.1"}, "trigger_id": "t",
            "response_url": "https://hooks.slack.com/actions/1",
            "actions": [
                {"action_id": "approve_action", "value": "case_0123456789ab/a1"},
                {"action_id": "partial_refund", "value": "case_0123456789ab/a2"},
                {"action_id": "approve_action", "value": "case_0123456789ab/../x"},
                {"action_id": "report_triage", "value": "cus_A1"},
                {"action_id": "someone_elses", "value": "x"}
            ]
        }));
        let Request::Buttons(clicks) = request else {
            panic!("buttons");
        };
        let target = |key: &str| CaseAction {
            case_id: CaseId::parse("case_0123456789ab").expect("case"),
            key: ActionKey::parse(key).expect("key"),
        };
        assert_eq!(
            clicks.buttons,
            vec![
                Button::Approve(target("a1")),
                Button::PartialRefund(target("a2")),
                Button::Unreadable {
                    action_id: "approve_action".into()
                },
                Button::TriageCustomer(CustomerId::parse("cus_A1").expect("id")),
                Button::Unknown {
                    action_id: "someone_elses".into()
                },
            ]
        );
        assert_eq!(clicks.channel.map(String::from).as_deref(), Some("C1"));
        assert_eq!(
            clicks.message.as_ref().map(|m| m.thread().as_str()),
            Some("1.1")
        );
    }

    #[test]
    fn shortcuts_and_submissions() {
        let request = interaction(serde_json::json!({
            "type": "message_action", "callback_id": TRIAGE_SHORTCUT, "user": {"id": "U2"},
            "channel": {"id": "C1"}, "message": {"ts": "1.2", "text": "cus_A1 was charged twice"},
            "response_url": "https://hooks.slack.com/app/1", "trigger_id": "t"
        }));
        let Request::Shortcut(shortcut) = request else {
            panic!("the triage shortcut");
        };
        assert_eq!(shortcut.message.thread().as_str(), "1.2");
        let other = interaction(serde_json::json!({
            "type": "message_action", "callback_id": "another", "user": {"id": "U2"},
            "channel": {"id": "C1"}, "message": {"ts": "1.2"},
            "response_url": "https://hooks.slack.com/app/1", "trigger_id": "t"
        }));
        assert!(matches!(other, Request::Ignored { .. }));

        let submitted = |callback: &str, metadata: &str, value: &str| {
            interaction(serde_json::json!({
                "type": "view_submission", "user": {"id": "U2"},
                "view": {"callback_id": callback, "private_metadata": metadata, "state": {"values": {
                    surface::REASON_BLOCK: {surface::REASON_INPUT: {"value": value}},
                    surface::AMOUNT_BLOCK: {surface::AMOUNT_INPUT: {"value": value}}
                }}}
            }))
        };
        let Request::Submission(s) =
            submitted(surface::REJECT_CALLBACK, "case_0123456789ab/a1", "")
        else {
            panic!("a submission");
        };
        assert!(matches!(
            s.form,
            Submission::Reject {
                reason: Err(TextError::Empty),
                ..
            }
        ));
        let Request::Submission(s) = submitted(
            surface::REFUND_CALLBACK,
            "case_0123456789ab/a1",
            &"9".repeat(40),
        ) else {
            panic!("a submission");
        };
        assert!(matches!(
            s.form,
            Submission::PartialRefund {
                amount: Err(AmountTooLong),
                ..
            }
        ));
        let Request::Submission(s) = submitted(surface::REFUND_CALLBACK, "nonsense", "1") else {
            panic!("a submission");
        };
        assert!(matches!(s.form, Submission::Unreadable { .. }));
    }

    /// A Socket Mode envelope's payload (JSON) makes the same typed request
    /// as the HTTP form, thread included.
    #[test]
    fn a_socket_mode_shortcut_in_a_thread_keeps_its_thread() {
        let payload = serde_json::json!({
            "type": "message_action", "callback_id": TRIAGE_SHORTCUT, "trigger_id": "1.2.3",
            "team": {"id": "T1"}, "user": {"id": "U2"}, "channel": {"id": "C1", "name": "billing"},
            "response_url": "https://hooks.slack.com/app/1",
            "message": {"type": "message", "ts": "1700000000.000400", "thread_ts": "1700000000.000300", "text": "cus_A1"}
        });
        let request = Request::interaction_json(payload).expect("ours");
        let Request::Shortcut(shortcut) = request else {
            panic!("a shortcut: {request:?}");
        };
        assert_eq!(shortcut.message.thread().as_str(), "1700000000.000300");
        assert_eq!(shortcut.message.text, "cus_A1");
    }

    #[test]
    fn the_more_actions_menu_and_its_modals_are_typed() {
        use crate::domain::choice::Choice;
        let request = interaction(serde_json::json!({
            "type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C1"}, "trigger_id": "t",
            "actions": [
                {"action_id": surface::MORE_ACTIONS_ACTION_ID, "selected_option": {"value": "case_0123456789ab/refund:ch_1"}},
                {"action_id": surface::MORE_ACTIONS_ACTION_ID, "selected_option": {"value": "case_0123456789ab/drop:ch_1"}},
                {"action_id": surface::MORE_ACTIONS_ACTION_ID}
            ]
        }));
        let Request::Buttons(clicks) = request else {
            panic!("buttons");
        };
        let case_id = crate::domain::CaseId::parse("case_0123456789ab").expect("case");
        let unreadable = Button::Unreadable {
            action_id: surface::MORE_ACTIONS_ACTION_ID.into(),
        };
        assert_eq!(
            clicks.buttons,
            vec![
                Button::MoreActions(CaseChoice {
                    case_id: case_id.clone(),
                    choice: Choice::Refund {
                        charge: crate::domain::ChargeId::parse("ch_1").expect("id"),
                        amount: None
                    }
                }),
                unreadable.clone(),
                unreadable,
            ]
        );

        let submitted = |callback: &str, values: serde_json::Value| {
            interaction(serde_json::json!({
                "type": "view_submission", "user": {"id": "U2"},
                "view": {"callback_id": callback, "private_metadata": "case_0123456789ab/cancel:sub_1",
                         "state": {"values": values}}
            }))
        };
        let Request::Submission(s) = submitted(
            "choose_pause",
            serde_json::json!({
                surface::WHEN_BLOCK: { surface::WHEN_INPUT: { "type": "radio_buttons", "selected_option": { "value": "period_end" } } },
                "resume_on_block": { "resume_on": { "type": "datepicker", "selected_date": "2099-01-01" } },
                surface::AMOUNT_BLOCK: { surface::AMOUNT_INPUT: { "type": "plain_text_input", "value": "12.50" } },
                "empty_block": { "empty": { "type": "datepicker", "selected_date": null } }
            }),
        ) else {
            panic!("a submission");
        };
        let Submission::ChooseTerms { target, terms } = s.form else {
            panic!("a choice's terms: {:?}", s.form);
        };
        assert_eq!(target.choice.code(), "cancel:sub_1");
        assert_eq!(terms.get(surface::WHEN_INPUT), Some("period_end"));
        assert_eq!(terms.get("resume_on"), Some("2099-01-01"));
        assert_eq!(terms.get(surface::AMOUNT_INPUT), Some("12.50"));
        assert_eq!(terms.get("empty"), None);
        let Request::Submission(s) = interaction(serde_json::json!({
            "type": "view_submission", "user": {"id": "U2"},
            "view": {"callback_id": surface::CHOOSE_REFUND_CALLBACK, "private_metadata": "case_0123456789ab/a1"}
        })) else {
            panic!("a submission");
        };
        assert!(
            matches!(s.form, Submission::Unreadable { .. }),
            "an action key is not a choice"
        );
    }

    #[test]
    fn typed_amounts_take_the_charges_currency() {
        let usd = crate::domain::Currency::parse("usd").expect("usd");
        let amount = TypedAmount::parse("12.50").expect("short");
        assert_eq!(amount.in_currency(usd).map(|m| m.minor), Ok(1250));
        assert!(TypedAmount::parse("1.234")
            .expect("short")
            .in_currency(usd)
            .is_err());
    }
}
