//! Approval policy: who may approve what (CONTRACT.md BILLING_APPROVERS). Pure.
