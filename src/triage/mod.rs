//! STUB until the triage branch lands.
use crate::domain::*;
pub fn read_signals(_message: &str) -> Vec<Signal> { Vec::new() }
pub fn classify(snapshot: &BillingSnapshot, _signals: &[Signal], _now: i64) -> Triage {
    if snapshot.customers.is_empty() { Triage::NotFound } else { Triage::NeedsReview { evidence: vec![], missing: vec![] } }
}
