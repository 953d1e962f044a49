//! The modals of the approval flow, as Block Kit views: Reject asks for a
//! reason (for the audit trail), Partial refund asks for an amount; and of
//! "More actions…": how much of a chosen charge to refund, and whether a
//! chosen cancellation is now or at the period's end. Pure;
//! `private_metadata` carries `{case_id}/{action_key}` (or the choice's
//! code), which the handler treats as a name to look up, never as the truth.

use crate::actions::terms::{Form, Input};
use crate::domain::surface::field_block;
use crate::domain::ActionKey;
use crate::domain::{CaseId, Money};
use slack_morphism::prelude::*;

pub use crate::domain::surface::{
    AMOUNT_BLOCK, AMOUNT_INPUT, CHOOSE_CANCEL_CALLBACK, CHOOSE_REFUND_CALLBACK, CONTEXT_CALLBACK,
    CONTEXT_INPUT_MAX_CHARS, CONTEXT_KIND_BLOCK, CONTEXT_KIND_INPUT, CONTEXT_TEXT_BLOCK,
    CONTEXT_TEXT_INPUT, CUSTOMER_MESSAGE, OPERATOR_NOTE, PARTIAL_REFUND_ACTION_ID, REASON_BLOCK,
    REASON_INPUT, REASON_MAX_CHARS, REFUND_CALLBACK, REJECT_CALLBACK, WHEN_BLOCK, WHEN_INPUT,
    WHEN_NOW, WHEN_PERIOD_END,
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

/// "More actions…": the form a choice needs (`actions::terms::form`), one
/// input block per field (`surface::field_block`); `private_metadata` is
/// the choice's code, a name the handler looks up again.
pub fn choice_modal(case: &CaseId, code: &str, form: &Form) -> SlackView {
    let mut blocks: Vec<SlackBlock> = vec![SlackSectionBlock::new()
        .with_text(md!("{}", form.intro))
        .into()];
    for field in &form.fields {
        let action = SlackActionId::new(field.name.to_owned());
        let element = match &field.input {
            Input::Text { initial } => {
                let mut text = SlackBlockPlainTextInputElement::new().with_action_id(action);
                if let Some(initial) = initial {
                    text = text.with_initial_value(initial.clone());
                }
                SlackInputBlockElement::PlainTextInput(text)
            }
            Input::Pick { options, initial } => {
                let item = |(value, label): &(String, String)| {
                    SlackBlockChoiceItem::new(SlackBlockText::Plain(pt!(label)), value.clone())
                };
                let items: Vec<_> = options.iter().map(item).collect();
                let mut radio = SlackBlockRadioButtonsElement::new(items).with_action_id(action);
                if let Some(first) = options.iter().find(|(v, _)| Some(v) == initial.as_ref()) {
                    radio = radio.with_initial_option(item(first));
                }
                SlackInputBlockElement::RadioButtons(radio)
            }
            Input::Date => SlackInputBlockElement::DatePicker(
                SlackBlockDatePickerElement::new().with_action_id(action),
            ),
        };
        let mut input = SlackInputBlock::new(pt!(field.label.clone()), element)
            .with_block_id(SlackBlockId::new(field_block(field.name)));
        if field.optional {
            input = input.with_optional(true);
        }
        blocks.push(input.into());
    }
    modal(
        form.title,
        "Add to the card",
        form.callback,
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
    fn a_choice_form_draws_each_field_in_its_block_with_the_choice_as_metadata() {
        use crate::actions::terms::{Field, CHOOSE_PAUSE_CALLBACK, RESUME_INPUT};
        let case = CaseId::from_random(3);
        let form = Form {
            callback: CHOOSE_PAUSE_CALLBACK,
            title: "Choose a pause, with a title too long for Slack",
            intro: "*Pause sub_1*".to_owned(),
            fields: vec![
                Field {
                    name: AMOUNT_INPUT,
                    label: "Amount (EUR)".to_owned(),
                    input: Input::Text {
                        initial: Some("19.50".to_owned()),
                    },
                    optional: false,
                },
                Field {
                    name: WHEN_INPUT,
                    label: "When".to_owned(),
                    input: Input::Pick {
                        options: vec![
                            (WHEN_NOW.to_owned(), "Now".to_owned()),
                            (WHEN_PERIOD_END.to_owned(), "Later".to_owned()),
                        ],
                        initial: Some(WHEN_PERIOD_END.to_owned()),
                    },
                    optional: false,
                },
                Field {
                    name: RESUME_INPUT,
                    label: "Resume on".to_owned(),
                    input: Input::Date,
                    optional: true,
                },
            ],
        };
        let json = serde_json::to_value(choice_modal(&case, "pause:sub_1", &form)).expect("json");
        assert_eq!(json["callback_id"], CHOOSE_PAUSE_CALLBACK);
        assert_eq!(json["private_metadata"], "case_000000000003/pause:sub_1");
        assert!(json["title"]["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() <= 24));
        assert_eq!(json["blocks"][1]["block_id"], AMOUNT_BLOCK);
        assert_eq!(json["blocks"][1]["element"]["initial_value"], "19.50");
        let radio = &json["blocks"][2]["element"];
        assert_eq!(json["blocks"][2]["block_id"], WHEN_BLOCK);
        assert_eq!(radio["action_id"], WHEN_INPUT);
        assert_eq!(radio["initial_option"]["value"], WHEN_PERIOD_END);
        assert_eq!(radio["options"].as_array().map(Vec::len), Some(2));
        assert_eq!(json["blocks"][3]["block_id"], "resume_on_block");
        assert_eq!(json["blocks"][3]["element"]["type"], "datepicker");
        assert_eq!(json["blocks"][3]["optional"], true);
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
