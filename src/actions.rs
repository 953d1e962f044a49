//! STUB until the triage branch lands.
use crate::domain::*;
pub fn propose(_t: &Triage, _s: &BillingSnapshot, _sig: &[Signal], _now: i64) -> Vec<ProposedAction> { Vec::new() }
pub fn revenue_impact(_a: &[ProposedAction], _s: &BillingSnapshot) -> RevenueImpact { RevenueImpact::default() }
