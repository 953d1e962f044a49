//! The modals of the approval flow, as Block Kit views: Reject asks for a
//! reason (for the audit trail), Partial refund asks for an amount; and of
//! "More actions…": how much of a chosen charge to refund, and whether a
//! chosen cancellation is now or at the period's end. Pure;
//! `private_metadata` carries `{case_id}/{action_key}` (or the choice's
//! code), which the handler treats as a name to look up, never as the truth.

use crate::domain::ActionKey;
use crate::domain::{CaseId, ChargeId, Money, PauseBehavior, SubscriptionId};
use slack_morphism::prelude::*;

pub use crate::domain::surface::{
    when_at_period_end, AMOUNT_BLOCK, AMOUNT_INPUT, BEHAVIOR_BLOCK, BEHAVIOR_INPUT,
    CHOOSE_CANCEL_CALLBACK, CHOOSE_PAUSE_CALLBACK, CHOOSE_REFUND_CALLBACK, CONTEXT_CALLBACK,
    CONTEXT_INPUT_MAX_CHARS, CONTEXT_KIND_BLOCK, CONTEXT_KIND_INPUT, CONTEXT_TEXT_BLOCK,
    CONTEXT_TEXT_INPUT, CUSTOMER_MESSAGE, OPERATOR_NOTE, PARTIAL_REFUND_ACTION_ID, REASON_BLOCK,
    REASON_INPUT, REASON_MAX_CHARS, REFUND_CALLBACK, REJECT_CALLBACK, RESUME_BLOCK, RESUME_INPUT,
    WHEN_BLOCK, WHEN_INPUT, WHEN_NOW, WHEN_PERIOD_END,
};

/// Slack's limits: modal title 24 characters, section text 3000.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn modal(
    title: &str,
    submit: &str,
    callback: &str,
    case: &CaseId,
    key: &str,
    blocks: Vec<SlackBlock>,
) -> SlackView {
    SlackView::Modal(
        SlackModalView::new(pt!(clip(title, 24)), blocks)
            .with_submit(pt!(submit))
            .with_close(pt!("Cancel"))
            .with_callback_id(SlackCallbackId::new(callback.to_owned()))
            .with_private_metadata(format!("{case}/{key}")),
    )
}

/// Asks why an action is rejected; an empty reason is refused on submit.
pub fn reject_modal(case: &CaseId, key: &ActionKey, summary: &str) -> SlackView {
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(REASON_INPUT.to_owned()))
        .with_multiline(true)
        .with_max_length(REASON_MAX_CHARS as u64)
        .with_placeholder(pt!("Why is this action wrong for this customer?"));
    let blocks = slack_blocks![
        some_into(SlackSectionBlock::new().with_text(md!("Reject *{}*?", clip(summary, 2800)))),
        some_into(
            SlackInputBlock::new(
                pt!("Reason (kept in the audit trail)"),
                SlackInputBlockElement::PlainTextInput(input)
            )
            .with_block_id(SlackBlockId::new(REASON_BLOCK.to_owned()))
        )
    ];
    modal(
        "Reject action",
        "Reject",
        REJECT_CALLBACK,
        case,
        key.as_str(),
        blocks,
    )
}

/// Asks how much to refund, prefilled with the proposed amount.
pub fn refund_modal(case: &CaseId, key: &ActionKey, summary: &str, proposed: Money) -> SlackView {
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(AMOUNT_INPUT.to_owned()))
        .with_initial_value(proposed.major_text());
    let blocks = slack_blocks![
        some_into(SlackSectionBlock::new().with_text(md!(
            "*{}*\nEnter the amount to refund in {}. It cannot be more than is left on the charge; submitting approves it.",
            clip(summary, 2700),
            proposed.currency
        ))),
        some_into(
            SlackInputBlock::new(pt!("Amount ({})", proposed.currency), SlackInputBlockElement::PlainTextInput(input))
                .with_block_id(SlackBlockId::new(AMOUNT_BLOCK.to_owned()))
        )
    ];
    modal(
        "Partial refund",
        "Approve refund",
        REFUND_CALLBACK,
        case,
        key.as_str(),
        blocks,
    )
}

/// Asks for more context on a case: the customer's message (read by the
/// triage) or an operator note (shown on the card). `private_metadata` is the
/// case id.
pub fn context_modal(case: &CaseId) -> SlackView {
    let choice = |value: &str, label: &str| {
        SlackBlockChoiceItem::new(SlackBlockText::Plain(pt!(label)), value.to_owned())
    };
    let customer = choice(
        CUSTOMER_MESSAGE,
        "What the customer wrote (the case is triaged again)",
    );
    let kind = SlackBlockRadioButtonsElement::new(vec![
        customer.clone(),
        choice(OPERATOR_NOTE, "A note from me (shown on the card)"),
    ])
    .with_action_id(SlackActionId::new(CONTEXT_KIND_INPUT.to_owned()))
    .with_initial_option(customer);
    let text = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(CONTEXT_TEXT_INPUT.to_owned()))
        .with_multiline(true)
        .with_max_length(CONTEXT_INPUT_MAX_CHARS as u64)
        .with_placeholder(pt!("Paste the customer's message, or write your note"));
    let blocks = slack_blocks![
        some_into(
            SlackInputBlock::new(pt!("This is"), SlackInputBlockElement::RadioButtons(kind))
                .with_block_id(SlackBlockId::new(CONTEXT_KIND_BLOCK.to_owned()))
        ),
        some_into(
            SlackInputBlock::new(pt!("Context"), SlackInputBlockElement::PlainTextInput(text))
                .with_block_id(SlackBlockId::new(CONTEXT_TEXT_BLOCK.to_owned()))
        )
    ];
    SlackView::Modal(
        SlackModalView::new(pt!("Add context"), blocks)
            .with_submit(pt!("Add and triage"))
            .with_close(pt!("Cancel"))
            .with_callback_id(SlackCallbackId::new(CONTEXT_CALLBACK.to_owned()))
            .with_private_metadata(case.to_string()),
    )
}

/// "More actions…", a refund: how much of `charge`, prefilled with all
/// that is left. `code` is the choice's code, kept in `private_metadata`.
pub fn choose_refund_modal(case: &CaseId, code: &str, charge: &ChargeId, left: Money) -> SlackView {
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(AMOUNT_INPUT.to_owned()))
        .with_initial_value(left.major_text());
    let blocks = slack_blocks![
        some_into(SlackSectionBlock::new().with_text(md!(
            "*Refund {charge}*\n{left} is left to refund. Enter all of it or part, in {}. Submitting adds the refund to the card as chosen by you; it runs only when another approver approves it.",
            left.currency
        ))),
        some_into(
            SlackInputBlock::new(pt!("Amount ({})", left.currency), SlackInputBlockElement::PlainTextInput(input))
                .with_block_id(SlackBlockId::new(AMOUNT_BLOCK.to_owned()))
        )
    ];
    modal(
        "Choose a refund",
        "Add to the card",
        CHOOSE_REFUND_CALLBACK,
        case,
        code,
        blocks,
    )
}

/// "More actions…", a cancellation: now, or at the end of the period (the
/// default, being reversible; not offered when it is already set).
pub fn choose_cancel_modal(
    case: &CaseId,
    code: &str,
    subscription: &SubscriptionId,
    offer_period_end: bool,
) -> SlackView {
    let option = |value: &str, label: &str| {
        SlackBlockChoiceItem::new(SlackBlockText::Plain(pt!(label)), value.to_owned())
    };
    let now = option(WHEN_NOW, "Now: ends it and its billing today");
    let mut options = vec![now.clone()];
    let mut initial = now;
    if offer_period_end {
        let end = option(WHEN_PERIOD_END, "At the end of the period (can be undone)");
        options.push(end.clone());
        initial = end;
    }
    let radio = SlackBlockRadioButtonsElement::new(options)
        .with_action_id(SlackActionId::new(WHEN_INPUT.to_owned()))
        .with_initial_option(initial);
    let blocks = slack_blocks![
        some_into(SlackSectionBlock::new().with_text(md!(
            "*Cancel {}*\nSubmitting adds the cancellation to the card as chosen by you; it runs only when another approver approves it.",
            subscription
        ))),
        some_into(
            SlackInputBlock::new(pt!("When"), SlackInputBlockElement::RadioButtons(radio))
                .with_block_id(SlackBlockId::new(WHEN_BLOCK.to_owned()))
        )
    ];
    modal(
        "Choose a cancellation",
        "Add to the card",
        CHOOSE_CANCEL_CALLBACK,
        case,
        code,
        blocks,
    )
}

/// "More actions…": pause collecting payment on `subscription`: what
/// happens to its invoices meanwhile, and optionally when Stripe resumes by
/// itself.
pub fn choose_pause_modal(case: &CaseId, code: &str, subscription: &SubscriptionId) -> SlackView {
    let option = |behavior: PauseBehavior, label: &str| {
        SlackBlockChoiceItem::new(
            SlackBlockText::Plain(pt!(label)),
            behavior.as_str().to_owned(),
        )
    };
    let draft = option(
        PauseBehavior::KeepAsDraft,
        "Keep invoices as drafts (collected after the pause)",
    );
    let options = vec![
        draft.clone(),
        option(
            PauseBehavior::MarkUncollectible,
            "Mark invoices uncollectible",
        ),
        option(
            PauseBehavior::Void,
            "Void invoices (the paused time is free)",
        ),
    ];
    let radio = SlackBlockRadioButtonsElement::new(options)
        .with_action_id(SlackActionId::new(BEHAVIOR_INPUT.to_owned()))
        .with_initial_option(draft);
    let date = SlackBlockDatePickerElement::new()
        .with_action_id(SlackActionId::new(RESUME_INPUT.to_owned()));
    let blocks = slack_blocks![
        some_into(SlackSectionBlock::new().with_text(md!(
            "*Pause collecting payment on {}*\nThe subscription stays; Stripe stops collecting until the date below, or until someone resumes it. Submitting adds the pause to the card as chosen by you; it runs only when another approver approves it.",
            subscription
        ))),
        some_into(
            SlackInputBlock::new(pt!("Invoices meanwhile"), SlackInputBlockElement::RadioButtons(radio))
                .with_block_id(SlackBlockId::new(BEHAVIOR_BLOCK.to_owned()))
        ),
        some_into(
            SlackInputBlock::new(pt!("Resume on (UTC)"), SlackInputBlockElement::DatePicker(date))
                .with_block_id(SlackBlockId::new(RESUME_BLOCK.to_owned()))
                .with_optional(true)
        )
    ];
    modal(
        "Choose a pause",
        "Add to the card",
        CHOOSE_PAUSE_CALLBACK,
        case,
        code,
        blocks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn reject_modal_carries_the_action_and_a_reason_input() {
        let case = CaseId::from_random(1);
        let json = serde_json::to_value(reject_modal(
            &case,
            &crate::domain::test_key("a2"),
            "Refund ch_1 EUR 39.00",
        ))
        .expect("json");
        assert_eq!(json["type"], "modal");
        assert_eq!(json["callback_id"], REJECT_CALLBACK);
        assert_eq!(json["private_metadata"], "case_000000000001/a2");
        assert_eq!(json["blocks"][1]["block_id"], REASON_BLOCK);
        assert_eq!(json["blocks"][1]["element"]["action_id"], REASON_INPUT);
        assert!(json["title"]["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() <= 24));
    }

    #[test]
    fn context_modal_names_the_case_and_asks_which_kind() {
        let json = serde_json::to_value(context_modal(&CaseId::from_random(3))).expect("json");
        assert_eq!(json["callback_id"], CONTEXT_CALLBACK);
        assert_eq!(json["private_metadata"], "case_000000000003");
        assert_eq!(json["blocks"][0]["element"]["type"], "radio_buttons");
        assert_eq!(
            json["blocks"][0]["element"]["initial_option"]["value"],
            CUSTOMER_MESSAGE
        );
        assert_eq!(
            json["blocks"][1]["element"]["action_id"],
            CONTEXT_TEXT_INPUT
        );
    }

    #[test]
    fn the_more_actions_modals_carry_the_choice_and_ask_for_the_rest() {
        let case = CaseId::from_random(3);
        let eur = Currency::parse("eur").expect("eur");
        let charge = ChargeId::parse("ch_1").expect("id");
        let json = serde_json::to_value(choose_refund_modal(
            &case,
            "refund:ch_1",
            &charge,
            Money::new(1950, eur),
        ))
        .expect("json");
        assert_eq!(json["callback_id"], CHOOSE_REFUND_CALLBACK);
        assert_eq!(json["private_metadata"], "case_000000000003/refund:ch_1");
        assert_eq!(json["blocks"][1]["block_id"], AMOUNT_BLOCK);
        assert_eq!(json["blocks"][1]["element"]["initial_value"], "19.50");
        assert!(json["title"]["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() <= 24));

        let sub = SubscriptionId::parse("sub_1").expect("id");
        let json = serde_json::to_value(choose_cancel_modal(&case, "cancel:sub_1", &sub, true))
            .expect("json");
        assert_eq!(json["callback_id"], CHOOSE_CANCEL_CALLBACK);
        assert!(json["title"]["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() <= 24));
        let radio = &json["blocks"][1]["element"];
        assert_eq!(json["blocks"][1]["block_id"], WHEN_BLOCK);
        assert_eq!(radio["action_id"], WHEN_INPUT);
        let values: Vec<&str> = radio["options"]
            .as_array()
            .expect("options")
            .iter()
            .filter_map(|o| o["value"].as_str())
            .collect();
        assert_eq!(values, [WHEN_NOW, WHEN_PERIOD_END]);
        assert_eq!(radio["initial_option"]["value"], WHEN_PERIOD_END);
        assert_eq!(
            values
                .iter()
                .map(|v| when_at_period_end(v))
                .collect::<Vec<_>>(),
            [Some(false), Some(true)]
        );
        assert_eq!(when_at_period_end("tomorrow"), None);
        let json = serde_json::to_value(choose_cancel_modal(&case, "cancel:sub_1", &sub, false))
            .expect("json");
        assert_eq!(
            json["blocks"][1]["element"]["options"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn refund_modal_is_prefilled_in_major_units() {
        let jpy = Currency::parse("jpy").expect("jpy");
        let json = serde_json::to_value(refund_modal(
            &CaseId::from_random(2),
            &crate::domain::test_key("a3"),
            "Refund",
            Money::new(5000, jpy),
        ))
        .expect("json");
        assert_eq!(json["callback_id"], REFUND_CALLBACK);
        assert_eq!(json["blocks"][1]["element"]["initial_value"], "5000");
    }
}
