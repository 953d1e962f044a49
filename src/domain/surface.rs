//! The ids of the bot's Slack surfaces: the `action_id`s of the card's and
//! the reports' buttons and menus, the modals' `callback_id`s and their
//! block and input ids, and the limits the modals set. Rendering (`card`)
//! writes them and request parsing (`slack::request`) reads them back, so
//! both name them from here.

// The card's buttons and menu.

/// `action_id` of the Approve button (read by the interactions handler).
pub const APPROVE_ACTION_ID: &str = "approve_action";
/// `action_id` of the Reject button.
pub const REJECT_ACTION_ID: &str = "reject_action";
/// `action_id` of a **Look up** button: another identifier the triaged
/// message named; its value is the identifier.
/// Each Look up button's action_id is this, `:` and its position (Slack
/// wants them distinct within a block); [`is_look_up`] reads them back.
pub const LOOK_UP_ACTION_ID: &str = "look_up_named";

/// Whether `action_id` is one of a card's Look up buttons.
pub fn is_look_up(action_id: &str) -> bool {
    action_id
        .strip_prefix(LOOK_UP_ACTION_ID)
        .is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix(':')
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
}
/// `action_id` of the **Add context** button; its value is the case id.
pub const ADD_CONTEXT_ACTION_ID: &str = "add_context";
/// `action_id` of the "More actions…" menu; each option's value is
/// `{case_id}/{choice code}` (`actions::choose::Choice::code`).
pub const MORE_ACTIONS_ACTION_ID: &str = "more_actions";

// The modals (`card::modals`).

pub const REJECT_CALLBACK: &str = "reject_reason";
pub const REFUND_CALLBACK: &str = "refund_amount";
pub const REASON_BLOCK: &str = "reason_block";
pub const REASON_INPUT: &str = "reason";
pub const AMOUNT_BLOCK: &str = "amount_block";
pub const AMOUNT_INPUT: &str = "amount";
/// The longest reject reason kept: the modal's `max_length`, enforced
/// again on submission since a request need not come from the modal.
pub const REASON_MAX_CHARS: usize = 500;
/// The button that opens the partial-refund modal.
pub const PARTIAL_REFUND_ACTION_ID: &str = "partial_refund";
pub const CONTEXT_CALLBACK: &str = "add_context";
pub const CONTEXT_KIND_BLOCK: &str = "context_kind_block";
pub const CONTEXT_KIND_INPUT: &str = "context_kind";
pub const CONTEXT_TEXT_BLOCK: &str = "context_text_block";
pub const CONTEXT_TEXT_INPUT: &str = "context_text";
/// The context modal's choices: the customer's words, or the operator's.
pub const CUSTOMER_MESSAGE: &str = "customer_message";
pub const OPERATOR_NOTE: &str = "operator_note";
/// Slack's limit on a plain-text input: the most the **Add context**
/// modal's text box takes.
pub const CONTEXT_INPUT_MAX_CHARS: usize = 3000;
/// "More actions…": the refund modal (its amount input is [`AMOUNT_BLOCK`]).
pub const CHOOSE_REFUND_CALLBACK: &str = "choose_refund";
/// "More actions…": the cancellation modal, with its now / period-end choice.
pub const CHOOSE_CANCEL_CALLBACK: &str = "choose_cancel";
pub const WHEN_BLOCK: &str = "when_block";
pub const WHEN_INPUT: &str = "when";
pub const WHEN_NOW: &str = "now";
pub const WHEN_PERIOD_END: &str = "period_end";

/// Every "More actions…" form's `callback_id` starts with this; its
/// `private_metadata` is the `CaseChoice`.
pub const CHOICE_FORM_PREFIX: &str = "choose_";

/// The block of a form field: its name (the input's `action_id`) and
/// `_block`.
pub fn field_block(name: &str) -> String {
    format!("{name}_block")
}

// The reports (`workflow::reports`).

/// The action id of a churn row's **Triage** button; its value is the
/// customer id, and the click opens a case card through the usual lookup.
pub const TRIAGE_ACTION_ID: &str = "report_triage";
