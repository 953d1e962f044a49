//! The case card as Block Kit (slack-morphism's block models only, no
//! client). Lays out the shared outline and enforces Slack's size limits:
//! at most 50 blocks (every heading kept: the actions give way), 3000
//! characters per section, 150 per header and 75 per button label.

use super::{
    outline, truncate, ActionOutline, ActionsOutline, CardView, Markup, MenuOption, Part, Section,
    ADD_CONTEXT_ACTION_ID, APPROVE_ACTION_ID, CUSTOMER, DECISION, LOOK_UP_ACTION_ID, MAX_BLOCKS,
    MAX_BUTTON_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT, MORE_ACTIONS_ACTION_ID, REJECT_ACTION_ID,
};
use slack_morphism::blocks::*;
use slack_morphism::{md, pt, SlackActionId};

/// Blocks of the Actions part besides the actions themselves: a divider
/// before and after, its heading, the "…and N more" note and the
/// "More actions…" menu.
const ACTIONS_FRAME: usize = 5;

/// The card's blocks, in the playbook's order (docs/PLAYBOOK.md §5). Every part
/// keeps its heading whatever the account's size: long lists collapse inside
/// their section, and the actions take only the blocks the other parts leave
/// under [`MAX_BLOCKS`], the rest counted in a note.
pub fn render_blocks(view: &CardView) -> Vec<SlackBlock> {
    let outline = outline(view, Markup::Slack);
    // Every part but the actions first, to know what room the actions have.
    let rendered: Vec<Option<Vec<SlackBlock>>> = outline
        .parts
        .iter()
        .map(|part| match part {
            Part::Section(section) if section.title == CUSTOMER => {
                let mut blocks = vec![section_block(section)];
                blocks.extend(look_up_block(&outline.look_ups));
                Some(blocks)
            }
            Part::Section(section) if section.title == DECISION => {
                let mut blocks = vec![section_block(section)];
                blocks.extend(outline.add_context.as_deref().map(add_context_block));
                Some(blocks)
            }
            Part::Section(section) => Some(vec![section_block(section)]),
            Part::Group { title, parts } => Some(group_blocks(title, parts)),
            Part::Actions(_) => None,
        })
        .collect();
    // The header, the parts and the actions' frame; a block added beside the
    // parts (say, a row of card-wide buttons) must be counted here too.
    let fixed = 1 + ACTIONS_FRAME + rendered.iter().flatten().map(Vec::len).sum::<usize>();
    let budget = MAX_BLOCKS.saturating_sub(fixed);
    let mut blocks: Vec<SlackBlock> =
        vec![SlackHeaderBlock::new(pt!(truncate(&outline.header, MAX_HEADER_TEXT))).into()];
    for (part, rendered) in outline.parts.iter().zip(rendered) {
        match part {
            Part::Actions(actions) => blocks.extend(actions_blocks(actions, budget)),
            _ => blocks.extend(rendered.into_iter().flatten()),
        }
    }
    blocks
}

/// One block per sub-part, each within the section limit; the group's
/// heading rides on the first.
fn group_blocks(title: &str, parts: &[Section]) -> Vec<SlackBlock> {
    parts
        .iter()
        .enumerate()
        .map(|(i, sub)| {
            let heading = if i == 0 {
                format!("*{title}*\n")
            } else {
                String::new()
            };
            text_block(format!(
                "{heading}_{}_\n{}",
                sub.title,
                sub.lines.join("\n")
            ))
        })
        .collect()
}

pub(super) fn actions_blocks(actions: &ActionsOutline, budget: usize) -> Vec<SlackBlock> {
    let mut blocks = vec![
        SlackDividerBlock::new().into(),
        section_block(&Section {
            title: super::ACTIONS,
            lines: actions.summary.clone(),
        }),
    ];
    let sized: Vec<Vec<SlackBlock>> = actions.actions.iter().map(action_blocks).collect();
    let shown = fitting(actions, &sized, budget);
    let n_hidden = actions.n_hidden + shown.iter().filter(|shown| !**shown).count();
    for (action, shown) in sized.into_iter().zip(shown) {
        if shown {
            blocks.extend(action);
        }
    }
    if n_hidden > 0 {
        blocks.push(context(format!(
            "…and {n_hidden} more actions not shown (Slack allows 50 blocks a message); those awaiting a decision are shown first"
        )));
    }
    if !actions.more.is_empty() {
        blocks.push(more_actions(&actions.more));
    }
    blocks.push(SlackDividerBlock::new().into());
    blocks
}

/// Which actions fit in `budget` blocks: every one when they all fit;
/// otherwise those still awaiting a decision (with buttons: a chosen action
/// just added must stay clickable) before settled ones, each group in card
/// order. The card keeps its order among those shown.
fn fitting(actions: &ActionsOutline, sized: &[Vec<SlackBlock>], budget: usize) -> Vec<bool> {
    let mut shown = vec![false; sized.len()];
    let awaiting = |i: &usize| actions.actions[*i].buttons.is_some();
    let order = (0..sized.len())
        .filter(awaiting)
        .chain((0..sized.len()).filter(|i| !awaiting(i)));
    let mut used = 0;
    for i in order {
        if used + sized[i].len() <= budget {
            used += sized[i].len();
            shown[i] = true;
        }
    }
    shown
}

/// The "More actions…" menu: choosing an option adds that action to the
/// card (after a modal for a refund's amount or a cancellation's timing),
/// to be approved like a proposal.
fn more_actions(options: &[MenuOption]) -> SlackBlock {
    let options = options
        .iter()
        .map(|o| {
            SlackBlockChoiceItem::new(pt!(truncate(&o.label, MAX_BUTTON_TEXT)), o.value.clone())
        })
        .collect();
    let select = SlackBlockStaticSelectElement::new()
        .with_action_id(SlackActionId(MORE_ACTIONS_ACTION_ID.to_owned()))
        .with_placeholder(pt!("More actions…"))
        .with_options(options);
    SlackActionsBlock::new(vec![select.into()])
        .with_block_id(SlackBlockId("more_actions".to_owned()))
        .into()
}

fn section_block(section: &Section) -> SlackBlock {
    text_block(format!("*{}*\n{}", section.title, section.lines.join("\n")))
}

fn text_block(text: String) -> SlackBlock {
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

/// One **Look up** button per other identifier the message named; none
/// when it named one.
fn look_up_block(look_ups: &[String]) -> Option<SlackBlock> {
    if look_ups.is_empty() {
        return None;
    }
    // Slack refuses a message whose actions block repeats an action_id.
    let elements: Vec<SlackActionBlockElement> = look_ups
        .iter()
        .enumerate()
        .map(|(i, q)| {
            SlackBlockButtonElement::new(pt!(truncate(&format!("Look up {q}"), MAX_BUTTON_TEXT)))
                .with_action_id(SlackActionId(format!("{LOOK_UP_ACTION_ID}:{i}")))
                .with_value(q.clone())
                .into()
        })
        .collect();
    Some(
        SlackActionsBlock::new(elements)
            .with_block_id(SlackBlockId("look_ups".to_owned()))
            .into(),
    )
}

/// **Add context**: the customer's message or an operator note, in a
/// modal; the case is then triaged again in place.
fn add_context_block(case_id: &str) -> SlackBlock {
    SlackActionsBlock::new(vec![SlackBlockButtonElement::new(pt!("Add context…"))
        .with_action_id(SlackActionId(ADD_CONTEXT_ACTION_ID.to_owned()))
        .with_value(case_id.to_owned())
        .into()])
    .with_block_id(SlackBlockId("add_context".to_owned()))
    .into()
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
