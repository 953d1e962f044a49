//! The "Triage billing case" message shortcut: the message names the
//! customer, and is kept (scrubbed, clipped) as the case's context.

use super::{tell, Ack, CONTEXT_MAX_CHARS};
use crate::audit::text::OperatorText;
use crate::domain::{Actor, LookupQuery};
use crate::slack::request::ShortcutRequest;
use crate::workflow::lookup::{spawn_slack_lookup, SlackLookup};
use crate::workflow::{new_case_id, Deps};
use std::sync::Arc;

pub(super) fn on_shortcut(deps: &Arc<Deps>, shortcut: ShortcutRequest) -> Ack {
    let text = &shortcut.message.text;
    // The identifier is read from the message as written; the message
    // itself is kept only scrubbed and clipped, as the case's context.
    let context = OperatorText::clipped(text, CONTEXT_MAX_CHARS).map(OperatorText::into_string);
    match LookupQuery::find_in(text) {
        Some(query) => spawn_slack_lookup(
            Arc::clone(deps),
            SlackLookup {
                case_id: new_case_id(),
                actor: Actor::Slack(shortcut.user),
                channel: shortcut.channel,
                thread: None,
                response_url: Some(shortcut.response_url),
                query,
                message: context,
            },
        ),
        None => {
            tracing::warn!("shortcut message holds no identifier");
            tell(deps, shortcut.response_url, "That message has no email or Stripe id (cus_, sub_, in_, ch_, pi_) to find the customer by. Use `/billing lookup <email or id>` instead".to_owned());
        }
    }
    Ack::Empty
}
