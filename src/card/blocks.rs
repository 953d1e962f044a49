//! The case card as Block Kit (slack-morphism's block models only, no
//! client). Lays out the shared outline and enforces Slack's size limits:
//! at most 50 blocks, 3000 characters per section, 150 per header and 75 per
//! button label.

use super::{
    outline, truncate, ActionOutline, CardView, Markup, Section, APPROVE_ACTION_ID, MAX_BLOCKS,
    MAX_BUTTON_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT, REJECT_ACTION_ID,
};
use slack_morphism::blocks::*;
use slack_morphism::{md, pt, SlackActionId};

/// The card's blocks, in the playbook's order (PLAYBOOK.md §5).
pub fn render_blocks(view: &CardView) -> Vec<SlackBlock> {
    let outline = outline(view, Markup::Slack);
    let mut blocks: Vec<SlackBlock> =
        vec![SlackHeaderBlock::new(pt!(truncate(&outline.header, MAX_HEADER_TEXT))).into()];
    for section in &outline.sections {
        blocks.push(section_block(section));
    }
    if !outline.actions.is_empty() {
        blocks.push(SlackDividerBlock::new().into());
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!("*Proposed actions*"))
                .into(),
        );
        for action in &outline.actions {
            blocks.extend(action_blocks(action));
        }
        if outline.n_actions_hidden > 0 {
            blocks.push(context(format!(
                "…and {} more proposed actions: see `billing-triage lookup` for the full list",
                outline.n_actions_hidden
            )));
        }
    }
    blocks.push(SlackDividerBlock::new().into());
    for section in &outline.closing {
        blocks.push(section_block(section));
    }
    fit(blocks)
}

fn section_block(section: &Section) -> SlackBlock {
    let text = format!("*{}*\n{}", section.title, section.lines.join("\n"));
    SlackSectionBlock::new()
        .with_text(md!(truncate(&text, MAX_SECTION_TEXT)))
        .into()
}

fn context(text: String) -> SlackBlock {
    // A context element's text shares the section limit.
    SlackContextBlock::new(vec![md!(truncate(&text, MAX_SECTION_TEXT))]).into()
}

fn action_blocks(action: &ActionOutline) -> Vec<SlackBlock> {
    // The state shares the action's section, so that an action costs at most
    // two blocks (section + buttons) and fifteen of them fit the limit.
    let body: SlackBlock = SlackSectionBlock::new()
        .with_block_id(SlackBlockId(format!("action_{}", action.key)))
        .with_text(md!(truncate(
            &format!("{}\n{}", action.body, action.state),
            MAX_SECTION_TEXT
        )))
        .into();
    let Some(buttons) = &action.buttons else {
        return vec![body];
    };
    let label = if buttons.retry { "Retry" } else { "Approve" };
    let mut approve = button(
        label,
        APPROVE_ACTION_ID,
        &buttons.value,
        SlackBlockButtonStyle::Primary,
    );
    if let Some(summary) = &buttons.confirm {
        approve = approve.with_confirm(SlackBlockConfirmItem::new(
            pt!("Approve this action?"),
            md!(truncate(
                &format!("{summary}\nThis moves money or ends a subscription, and runs once."),
                300
            )),
            pt!("Approve"),
            pt!("Cancel"),
        ));
    }
    let mut elements: Vec<SlackActionBlockElement> = vec![approve.into()];
    if buttons.partial {
        elements.push(
            SlackBlockButtonElement::new(pt!("Partial refund…"))
                .with_action_id(SlackActionId(
                    super::modals::PARTIAL_REFUND_ACTION_ID.to_owned(),
                ))
                .with_value(buttons.value.clone())
                .into(),
        );
    }
    if !buttons.retry {
        elements.push(
            button(
                "Reject",
                REJECT_ACTION_ID,
                &buttons.value,
                SlackBlockButtonStyle::Danger,
            )
            .into(),
        );
    }
    vec![
        body,
        SlackActionsBlock::new(elements)
            .with_block_id(SlackBlockId(format!("buttons_{}", action.key)))
            .into(),
    ]
}

fn button(
    label: &str,
    action_id: &str,
    value: &str,
    style: SlackBlockButtonStyle,
) -> SlackBlockButtonElement {
    SlackBlockButtonElement::new(pt!(truncate(label, MAX_BUTTON_TEXT)))
        .with_action_id(SlackActionId(action_id.to_owned()))
        .with_value(value.to_owned())
        .with_style(style)
}

/// Keeps the message within Slack's block limit whatever the input: the
/// tail gives way to a note, since the header and customer come first.
fn fit(mut blocks: Vec<SlackBlock>) -> Vec<SlackBlock> {
    if blocks.len() <= MAX_BLOCKS {
        return blocks;
    }
    let n_cut = blocks.len() - (MAX_BLOCKS - 1);
    blocks.truncate(MAX_BLOCKS - 1);
    blocks.push(context(format!(
        "…and {n_cut} more blocks: see `billing-triage lookup` for the whole case"
    )));
    blocks
}
