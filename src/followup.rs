//! STUB until the card branch lands.
use crate::domain::*;
pub struct FollowUpSettings { pub portal_login_url: Option<String> }
pub struct DoneAction { pub key: String, pub refunded: Option<Money>, pub canceled: Option<SubscriptionId> }
pub fn locale_of(_s: &BillingSnapshot) -> &'static str { "en" }
pub fn draft(_t: &Triage, _s: &BillingSnapshot, _a: &[ProposedAction], _d: &[DoneAction], _st: &FollowUpSettings) -> FollowUp { FollowUp { locale: "en".into(), text: String::new() } }
pub fn product_gap(_t: &Triage, _s: &[Signal]) -> Option<ProductGap> { None }
