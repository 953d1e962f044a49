//! What the bot posts in a card's thread: the follow-up draft (first, after
//! added context, after an action ran) and the product-gap note. The
//! workflow posts it; the wording lives here with the card's.

use super::PRODUCT_GAP;
use crate::domain::ProductGap;

/// Why a draft is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftOccasion<'a> {
    /// With the card, when the case opens.
    First,
    /// After an operator added context and the case was triaged again.
    AfterContext,
    /// After action `key` ran: the draft states what was done.
    AfterRun { key: &'a str },
}

/// The draft as posted: a heading naming why and its language, an optional
/// italic note, the text, and the product gap when there is one.
pub fn draft_message(
    occasion: DraftOccasion<'_>,
    locale: &str,
    note: Option<&str>,
    text: &str,
    gap: Option<&ProductGap>,
) -> String {
    let heading = match occasion {
        DraftOccasion::First => format!("*Customer follow-up (draft, {locale})*"),
        DraftOccasion::AfterContext => {
            format!("*Customer follow-up (updated with the added context; draft, {locale})*")
        }
        DraftOccasion::AfterRun { key } => format!(
            "*Customer follow-up (updated after {key} ran: states what was done; draft, {locale})*"
        ),
    };
    let mut message = heading;
    message.push('\n');
    if let Some(note) = note {
        message.push_str(&format!("_{note}_\n"));
    }
    message.push_str(text);
    if let Some(gap) = gap {
        message.push_str(&format!(
            "\n\n*{PRODUCT_GAP}* (`{}`)\n{}",
            gap.surface, gap.note
        ));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_draft_carries_its_note_and_the_product_gap() {
        let gap = ProductGap {
            surface: "no_duplicate_guard".into(),
            note: "Checkout lets a customer buy twice".into(),
        };
        let text = draft_message(
            DraftOccasion::First,
            "en",
            Some("the refund is reviewed first"),
            "Hi Ana",
            Some(&gap),
        );
        assert_eq!(
            text,
            "*Customer follow-up (draft, en)*\n_the refund is reviewed first_\nHi Ana\n\n*Product gap* (`no_duplicate_guard`)\nCheckout lets a customer buy twice"
        );
        assert!(draft_message(
            DraftOccasion::AfterRun { key: "a2" },
            "de",
            None,
            "Hallo",
            None
        )
        .starts_with(
            "*Customer follow-up (updated after a2 ran: states what was done; draft, de)*\nHallo"
        ));
    }
}
