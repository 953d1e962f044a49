//! The case card for a terminal (`billing-triage lookup --format text`) and
//! as versioned JSON (`--format json`). A terminal has no thread, so the text
//! page also prints the follow-up draft.

use super::{outline, CardView, Markup, Section};
use serde_json::json;

/// Format version of [`render_json`]'s output.
pub const JSON_VERSION: u32 = 1;

/// The card as plain text, same order and content as the Block Kit card.
pub fn render_text(view: &CardView) -> String {
    let outline = outline(view, Markup::Plain);
    let mut out = format!(
        "{}\n{}\n",
        outline.header,
        "=".repeat(outline.header.chars().count())
    );
    for section in &outline.sections {
        push_section(&mut out, section);
    }
    if !outline.actions.is_empty() {
        out.push_str("\nProposed actions\n");
        for action in &outline.actions {
            out.push_str(&format!(
                "{}\n  {}\n",
                action.body.replace('\n', "\n  "),
                action.state
            ));
            if action.buttons.is_some() {
                out.push_str("  (approve or reject on the Slack card)\n");
            }
        }
        if outline.n_actions_hidden > 0 {
            out.push_str(&format!(
                "…and {} more proposed actions (see --format json)\n",
                outline.n_actions_hidden
            ));
        }
    }
    for section in &outline.closing {
        push_section(&mut out, section);
    }
    let followup = &view.case.followup;
    out.push_str(&format!("\nFollow-up draft ({})\n", followup.locale));
    for line in followup.text.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

fn push_section(out: &mut String, section: &Section) {
    out.push_str(&format!("\n{}\n", section.title));
    for line in &section.lines {
        out.push_str(&format!("  {line}\n"));
    }
}

/// The case plus each action's status, keyed by action key (`null` when the
/// store does not track it yet).
pub fn render_json(view: &CardView) -> serde_json::Value {
    let statuses: serde_json::Map<String, serde_json::Value> = view
        .case
        .actions
        .iter()
        .map(|action| {
            let status = view
                .statuses
                .iter()
                .find(|(key, _)| *key == action.key)
                .and_then(|(_, status)| serde_json::to_value(status).ok())
                .unwrap_or(serde_json::Value::Null);
            (action.key.clone(), status)
        })
        .collect();
    json!({
        "version": JSON_VERSION,
        "case": view.case,
        "statuses": statuses,
    })
}
