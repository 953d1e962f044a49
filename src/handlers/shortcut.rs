//! The "Triage billing case" message shortcut: the message names the
//! customer, and is kept (scrubbed, clipped) as the case's context. The
//! card, its draft and its product-gap note go in the message's thread.
//! When the message names several customers, the card is for the most
//! trusted identifier (docs/PLAYBOOK.md §1: a `cus_` id, then another Stripe id,
//! then an email; the first written among equals) and names the others,
//! each with a button that looks it up in the same thread.

use super::{tell, CUSTOMER_WORDS_MAX_CHARS};
use crate::audit::text::OperatorText;
use crate::domain::{Actor, LookupQuery};
use crate::slack::request::ShortcutRequest;
use crate::workflow::lookup::{spawn_slack_lookup, SlackLookup};
use crate::workflow::{new_case_id, Deps};
use std::sync::Arc;

/// Runs after the answer (an empty one), for an allowed operator.
pub(super) fn on_shortcut(deps: &Arc<Deps>, shortcut: ShortcutRequest) {
    let text = &shortcut.message.text;
    // The identifier is read from the message as written; the message
    // itself is kept only scrubbed and clipped, as the case's context.
    let context =
        OperatorText::clipped(text, CUSTOMER_WORDS_MAX_CHARS).map(OperatorText::into_string);
    let mut named = LookupQuery::all_in(text).into_iter();
    match named.next() {
        Some(query) => spawn_slack_lookup(
            Arc::clone(deps),
            SlackLookup {
                case_id: new_case_id(),
                actor: Actor::Slack(shortcut.user),
                channel: shortcut.channel,
                thread: Some(shortcut.message.thread().clone()),
                response_url: Some(shortcut.response_url),
                query,
                message: context,
                message_given_by: None,
                also_named: named.collect(),
            },
        ),
        None => {
            tracing::warn!("shortcut message holds no identifier");
            tell(deps, shortcut.response_url, "That message has no email or Stripe id (cus_, sub_, in_, ch_, pi_) to find the customer by. Use `/billing lookup <email or id>` instead".to_owned());
        }
    }
}
