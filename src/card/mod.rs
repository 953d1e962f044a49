//! STUB until the card branch lands.
use crate::domain::*;
use slack_morphism::prelude::*;
pub const APPROVE_ACTION_ID: &str = "approve_action";
pub const REJECT_ACTION_ID: &str = "reject_action";
pub struct CardView<'a> { pub case: &'a Case, pub statuses: &'a [(String, ActionStatus)], pub now: i64 }
pub fn render_blocks(_v: &CardView) -> Vec<SlackBlock> { Vec::new() }
pub fn fallback_text(c: &Case) -> String { c.id.to_string() }
pub fn render_text(v: &CardView) -> String { v.case.id.to_string() }
pub fn render_json(v: &CardView) -> serde_json::Value { serde_json::json!({"id": v.case.id}) }
pub fn button_value(case: &CaseId, key: &str) -> String { format!("{case}/{key}") }
pub fn parse_button_value(value: &str) -> Option<(CaseId, String)> { let (c, k) = value.split_once('/')?; Some((CaseId::parse(c).ok()?, k.to_owned())) }
pub mod modals;
pub mod trail;
