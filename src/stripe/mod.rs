//! STUB until the stripe branch lands.
use crate::domain::*;
#[derive(Debug, thiserror::Error)]
pub enum StripeError { #[error("Stripe could not be reached")] Unreachable }
#[derive(Clone)]
pub struct StripeGateway;
impl StripeGateway {
    pub fn new(_key: &StripeKey, _api_base: &str) -> Result<Self, StripeError> { Ok(Self) }
    pub async fn snapshot(&self, query: &LookupQuery, now: i64) -> Result<BillingSnapshot, StripeError> { Ok(BillingSnapshot { query: query.clone(), customers: vec![], fetched_at: now }) }
}
