//! STUB until the audit branch lands.
use crate::domain::*;
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind { LookupRequested, CaseOpened, LookupFailed, ApprovalGranted, ApprovalRefused, ActionRejected, ActionExpired, ExecutionIntent, ExecutionSucceeded, ExecutionFailed, ExecutionReconciled, PortalLinkCreated, FollowUpPosted, CaseClosed }
pub struct NewEntry { pub case_id: Option<CaseId>, pub action: Option<String>, pub kind: AuditKind, pub actor: Actor, pub at: i64, pub stripe_ids: Vec<String>, pub detail: serde_json::Value }
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct AuditEntry { pub v: u32, pub seq: u64, pub case_id: Option<CaseId>, pub action: Option<String>, pub kind: AuditKind, pub actor: Actor, pub at: i64, pub stripe_ids: Vec<String>, pub detail: serde_json::Value, pub prev_hash: String, pub hash: String }
