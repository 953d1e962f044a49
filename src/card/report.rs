//! A report's Slack pages: the text in code-fenced sections, a **Triage**
//! button per row a person can act on, paged so that no message passes
//! Slack's 50 blocks and nothing is cut. Pure; `workflow::reports` posts
//! them (the first replaces the progress message, the rest go in its
//! thread).

use crate::domain::surface::TRIAGE_ACTION_ID;
use crate::reports::chunk_lines;
use slack_morphism::blocks::{SlackBlock, SlackBlockButtonElement, SlackSectionBlock};
use slack_morphism::{md, pt, SlackActionId};

/// A Slack section's text limit is 3000 characters; the code fence takes 6.
const SECTION_CHARS: usize = 2900;
/// Slack allows 50 blocks per message; the header takes one and the chart
/// one more.
const SECTIONS_PER_MESSAGE: usize = 45;

/// One message of a report: its notification text and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub text: String,
    pub blocks: Vec<SlackBlock>,
}

/// A report's Slack messages: the first replaces the progress message (a
/// chart, when there is one, goes in as its second block), the rest go on
/// in its thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub first: Page,
    pub thread: Vec<Page>,
}

/// Lays `text` out in code-fenced sections of at most [`SECTION_CHARS`],
/// [`SECTIONS_PER_MESSAGE`] to a message ("part i of n" when more than
/// one), then a **Triage** button per `rows` entry (label, customer id),
/// paged the same way: no message passes Slack's 50 blocks, and nothing is
/// cut.
pub fn layout(title: &str, text: &str, rows: &[(String, String)]) -> Layout {
    let chunks = chunk_lines(text, SECTION_CHARS);
    let groups: Vec<&[String]> = chunks.chunks(SECTIONS_PER_MESSAGE).collect();
    let n_groups = groups.len().max(1);
    let summary = format!("{title}: {}", text.lines().next().unwrap_or_default());
    let mut messages: Vec<Page> = (0..n_groups)
        .map(|i| {
            let header = if n_groups > 1 {
                format!("*{title}* (part {} of {n_groups})", i + 1)
            } else {
                format!("*{title}*")
            };
            let mut blocks: Vec<SlackBlock> =
                vec![SlackSectionBlock::new().with_text(md!(header)).into()];
            for chunk in groups.get(i).copied().unwrap_or_default() {
                blocks.push(
                    SlackSectionBlock::new()
                        .with_text(md!(format!("```{chunk}```")))
                        .into(),
                );
            }
            Page {
                text: summary.clone(),
                blocks,
            }
        })
        .collect();
    let n_pages = rows.len().div_ceil(SECTIONS_PER_MESSAGE);
    for (i, page) in rows.chunks(SECTIONS_PER_MESSAGE).enumerate() {
        let mut blocks: Vec<SlackBlock> = vec![SlackSectionBlock::new()
            .with_text(md!(format!(
                "*Triage* opens the customer's case card; every fix goes through the usual approvals ({} of {n_pages})",
                i + 1
            )))
            .into()];
        for (label, customer) in page {
            blocks.push(
                SlackSectionBlock::new()
                    .with_text(md!(label.clone()))
                    .with_accessory(
                        SlackBlockButtonElement::new(pt!("Triage"))
                            .with_action_id(SlackActionId(TRIAGE_ACTION_ID.into()))
                            .with_value(customer.clone())
                            .into(),
                    )
                    .into(),
            );
        }
        messages.push(Page {
            text: format!("{title}: customers to triage"),
            blocks,
        });
    }
    let first = messages.remove(0);
    Layout {
        first,
        thread: messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(m: &Page) -> Vec<serde_json::Value> {
        serde_json::to_value(&m.blocks)
            .expect("blocks serialise")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// "Show more" is the thread: a report of any length and any number
    /// of rows is posted whole, every message within Slack's limits.
    #[test]
    fn a_long_report_goes_on_in_the_thread_within_slack_limits_and_loses_nothing() {
        let text: String = (0..3000)
            .map(|i| format!("row {i:05} {}\n", "x".repeat(60)))
            .collect();
        let rows: Vec<(String, String)> = (0..100)
            .map(|i| (format!("`cus_{i:03}` past_due"), format!("cus_{i:03}")))
            .collect();
        let l = layout("Churn report", &text, &rows);
        let messages: Vec<&Page> = std::iter::once(&l.first).chain(&l.thread).collect();
        let mut fenced = String::new();
        let mut buttons = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let b = blocks(m);
            // The first message also takes the chart block.
            let limit = if i == 0 { 49 } else { 50 };
            assert!(b.len() <= limit, "message {i} has {} blocks", b.len());
            for block in &b {
                let t = block["text"]["text"].as_str().expect("section text");
                assert!(t.chars().count() <= 3000, "a section of {}", t.len());
                if let Some(inner) = t.strip_prefix("```").and_then(|t| t.strip_suffix("```")) {
                    fenced.push_str(inner);
                    fenced.push('\n');
                }
                if block["accessory"]["action_id"] == TRIAGE_ACTION_ID {
                    buttons.push(block["accessory"]["value"].as_str().expect("id").to_owned());
                }
            }
        }
        assert_eq!(fenced, text, "the text is posted whole, in order");
        let customers: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
        assert_eq!(buttons, customers, "one Triage button per row, in order");
        let headers: Vec<String> = messages
            .iter()
            .map(|m| {
                blocks(m)[0]["text"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert!(headers[0].contains("(part 1 of 2)"), "{headers:?}");
        assert!(headers[1].contains("(part 2 of 2)"), "{headers:?}");
        assert!(headers[4].contains("(3 of 3)"), "{headers:?}");
        assert_eq!(messages.len(), 5);
    }

    #[test]
    fn a_short_report_is_one_message() {
        let l = layout("Plans report", "Plans: 3\nrow", &[]);
        assert!(l.thread.is_empty());
        assert_eq!(blocks(&l.first).len(), 2);
        assert_eq!(l.first.text, "Plans report: Plans: 3");
    }
}
