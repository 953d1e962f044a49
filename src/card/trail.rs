//! An audit trail as text, for `/billing audit` (Slack mrkdwn) and
//! `billing-triage audit show`. Pure.

use crate::audit::AuditEntry;
use crate::domain::CaseId;

/// Slack's message text limit is 40 000 characters; keep well inside it.
const MAX_CHARS: usize = 35_000;

/// One line per entry: time, event, who, action, Stripe ids, detail.
pub fn render_trail(case: &CaseId, entries: &[(String, AuditEntry)]) -> String {
    if entries.is_empty() {
        return format!("No audit entries for `{case}` (unknown case id, or nothing happened yet)");
    }
    let mut out = format!("Audit trail of `{case}` ({} entries)\n", entries.len());
    for (n, (stream_id, e)) in entries.iter().enumerate() {
        let when = time::OffsetDateTime::from_unix_timestamp(e.at)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
            })
            .unwrap_or_else(|| e.at.to_string());
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut line = format!("{when} UTC  {kind}  by {}", e.actor);
        if let Some(action) = &e.action {
            line.push_str(&format!("  action {action}"));
        }
        if !e.stripe_ids.is_empty() {
            line.push_str(&format!("  [{}]", e.stripe_ids.join(", ")));
        }
        if !e.detail.is_null() && e.detail != serde_json::json!({}) {
            line.push_str(&format!("  {}", e.detail));
        }
        line.push_str(&format!("  (#{} {stream_id})\n", e.seq));
        if out.len() + line.len() > MAX_CHARS {
            out.push_str(&format!(
                "…and {} more; see `billing-triage audit show {case}`\n",
                entries.len() - n
            ));
            break;
        }
        out.push_str(&line);
    }
    out
}
