//! STUB until the stripe branch lands.
use crate::domain::*;
#[derive(Debug, thiserror::Error)]
pub enum StripeError { #[error("Stripe could not be reached")] Unreachable, #[error("no portal")] PortalNotConfigured }
#[derive(Clone)]
pub struct StripeGateway;
impl StripeGateway {
    pub fn new(_key: &StripeKey, _api_base: &str) -> Result<Self, StripeError> { Ok(Self) }
    pub async fn snapshot(&self, query: &LookupQuery, now: i64) -> Result<BillingSnapshot, StripeError> { Ok(BillingSnapshot { query: query.clone(), customers: vec![], fetched_at: now }) }
    pub async fn charge(&self, _id: &ChargeId) -> Result<Charge, StripeError> { Err(StripeError::Unreachable) }
    pub async fn refund(&self, _charge: &ChargeId, _amount: Money, _key: &str, _metadata: &[(&str, &str)]) -> Result<RefundId, StripeError> { Err(StripeError::Unreachable) }
    pub async fn cancel_subscription(&self, _sub: &SubscriptionId, _at_period_end: bool, _key: &str, _metadata: &[(&str, &str)]) -> Result<(), StripeError> { Err(StripeError::Unreachable) }
    pub async fn portal_session(&self, _customer: &CustomerId, _key: &str) -> Result<String, StripeError> { Err(StripeError::Unreachable) }
}
