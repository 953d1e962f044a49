//! The case card for a terminal (`billing-triage lookup --format text`) and
//! as versioned JSON (`--format json`). A terminal has no thread, so the text
//! page's Follow-up part prints the draft itself.

use super::{outline, CardView, Markup, Part, Section};
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
    for part in &outline.parts {
        out.push_str(&format!("\n{}\n", part.title()));
        match part {
            Part::Section(section) => push_lines(&mut out, "  ", &section.lines),
            Part::Group { parts, .. } => {
                for Section { title, lines } in parts {
                    out.push_str(&format!("  {title}\n"));
                    push_lines(&mut out, "    ", lines);
                }
            }
            Part::Actions(actions) => {
                push_lines(&mut out, "  ", &actions.summary);
                for action in &actions.actions {
                    out.push_str(&format!(
                        "  {}\n    {}\n",
                        action.body.replace('\n', "\n    "),
                        action.state
                    ));
                    if action.buttons.is_some() {
                        out.push_str("    (approve or reject on the Slack card)\n");
                    }
                }
                if actions.n_hidden > 0 {
                    out.push_str(&format!(
                        "  …and {} more actions (see --format json)\n",
                        actions.n_hidden
                    ));
                }
            }
        }
    }
    out
}

fn push_lines(out: &mut String, indent: &str, lines: &[String]) {
    for line in lines {
        match line.as_str() {
            "" => out.push('\n'),
            line => out.push_str(&format!("{indent}{line}\n")),
        }
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
            (action.key.to_string(), status)
        })
        .collect();
    json!({
        "version": JSON_VERSION,
        "case": view.case,
        "statuses": statuses,
    })
}
