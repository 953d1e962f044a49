//! STUB until the audit branch lands.
use super::{Store, StoreError};
use crate::audit::{AuditEntry, NewEntry};
use crate::domain::CaseId;
impl Store {
    pub async fn append_audit(&self, _new: NewEntry) -> Result<(), StoreError> { self.ping().await }
    pub async fn audit_trail(&self, _case: &CaseId) -> Result<Vec<(String, AuditEntry)>, StoreError> { Ok(vec![]) }
}
