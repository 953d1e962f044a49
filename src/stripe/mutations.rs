//! The Stripe calls behind approved actions: read a charge, refund it,
//! cancel a subscription, create a billing-portal session. Each write is sent
//! once with the caller's idempotency key (derived from the action id), so a
//! retry or a second replica replays Stripe's first answer instead of acting
//! twice. Whether the action is allowed, and how much is left to refund, is
//! the caller's check: Stripe stand-ins accept refunds above what is left.
//!
//! Each write carries the case id and approver in `metadata` (PLAYBOOK.md,
//! "Leave a trace in Stripe too").

use serde::Deserialize;

use super::models::{HasId, StripeCharge, StripePortalSession, StripeSubscription};
use super::{StripeError, StripeGateway};
use crate::domain::{
    Charge, ChargeId, CustomerId, Money, PortalSessionUrl, RefundId, Subscription, SubscriptionId,
};

#[derive(Debug, Deserialize)]
struct Ignored {}

impl StripeGateway {
    /// Current state of one charge, refunds included.
    ///
    /// # Errors
    /// [`StripeError::NotFound`] for an unknown charge; any other failure.
    pub async fn charge(&self, id: &ChargeId) -> Result<Charge, StripeError> {
        let raw: StripeCharge = self
            .get(
                &format!("/charges/{id}"),
                &[("expand[]", "refunds")],
                id.as_str(),
            )
            .await?;
        raw.into_domain().map_err(|bad| StripeError::Unreadable {
            what: id.to_string(),
            detail: bad.0,
            source: None,
        })
    }

    /// Current state of one subscription, metadata included: how a
    /// cancellation whose answer was lost is verified.
    ///
    /// # Errors
    /// [`StripeError::NotFound`] for an unknown subscription; any other failure.
    pub async fn subscription(&self, id: &SubscriptionId) -> Result<Subscription, StripeError> {
        let raw: StripeSubscription = self
            .get(&format!("/subscriptions/{id}"), &[], id.as_str())
            .await?;
        raw.into_domain().map_err(|bad| StripeError::Unreadable {
            what: id.to_string(),
            detail: bad.0,
            source: None,
        })
    }

    /// Refunds `amount` of `charge`, with `metadata` pairs (e.g. `case_id`,
    /// `approved_by`, `action`) on the refund.
    ///
    /// # Errors
    /// Any [`StripeError`]; Stripe's refusal comes back as `Rejected`.
    #[tracing::instrument(skip_all, fields(charge_id = %charge, amount = amount.minor))]
    pub async fn refund(
        &self,
        charge: &ChargeId,
        amount: Money,
        idempotency_key: &str,
        metadata: &[(&str, &str)],
    ) -> Result<RefundId, StripeError> {
        let amount_text = amount.minor.to_string();
        let keys = metadata_keys(metadata);
        let mut form: Vec<(&str, &str)> = vec![
            ("charge", charge.as_str()),
            ("amount", amount_text.as_str()),
        ];
        form.extend(
            keys.iter()
                .zip(metadata)
                .map(|(k, (_, v))| (k.as_str(), *v)),
        );
        let what = format!("refund of {charge}");
        let refund: HasId = self.post("/refunds", &form, idempotency_key, &what).await?;
        let id = RefundId::parse(&refund.id).map_err(|e| StripeError::Unreadable {
            what,
            detail: e.to_string(),
            source: None,
        })?;
        tracing::info!(refund_id = %id, "refund created");
        Ok(id)
    }

    /// Cancels `sub` now (DELETE, after a metadata update sent with the
    /// derived key `{key}-meta`) or at the end of its period (one update).
    ///
    /// # Errors
    /// Any [`StripeError`].
    #[tracing::instrument(skip_all, fields(subscription_id = %sub, at_period_end))]
    pub async fn cancel_subscription(
        &self,
        sub: &SubscriptionId,
        at_period_end: bool,
        idempotency_key: &str,
        metadata: &[(&str, &str)],
    ) -> Result<(), StripeError> {
        let path = format!("/subscriptions/{sub}");
        let what = format!("cancellation of {sub}");
        let keys = metadata_keys(metadata);
        let mut form: Vec<(&str, &str)> = keys
            .iter()
            .zip(metadata)
            .map(|(k, (_, v))| (k.as_str(), *v))
            .collect();
        if at_period_end {
            form.push(("cancel_at_period_end", "true"));
            let _: Ignored = self.post(&path, &form, idempotency_key, &what).await?;
        } else {
            // Stripe's cancel takes no metadata: set it first, so the
            // dashboard shows why even if the cancel is retried later.
            if !form.is_empty() {
                let _: Ignored = self
                    .post(&path, &form, &format!("{idempotency_key}-meta"), &what)
                    .await?;
            }
            // `cancellation_details[comment]` would also work on Stripe, but
            // localstripe's DELETE reads no parameters; metadata carries it.
            let _: Ignored = self.delete(&path, &[], idempotency_key, &what).await?;
        }
        tracing::info!("subscription cancellation sent");
        Ok(())
    }

    /// A billing-portal session URL for `customer`. The URL is a credential:
    /// the caller shows it only to the operator and never logs it.
    ///
    /// # Errors
    /// [`StripeError::PortalNotConfigured`] when the account (or stand-in) has
    /// no portal; any other [`StripeError`].
    #[tracing::instrument(skip_all, fields(customer_id = %customer))]
    pub async fn portal_session(
        &self,
        customer: &CustomerId,
        idempotency_key: &str,
    ) -> Result<PortalSessionUrl, StripeError> {
        let what = format!("billing-portal session for {customer}");
        let form = [("customer", customer.as_str())];
        match self
            .post::<StripePortalSession>("/billing_portal/sessions", &form, idempotency_key, &what)
            .await
        {
            Ok(session) => Ok(PortalSessionUrl::new(session.url)),
            Err(e) if portal_missing(&e) => Err(StripeError::PortalNotConfigured {
                source: Box::new(e),
            }),
            Err(e) => Err(e),
        }
    }
}

/// `metadata[name]` for each pair, kept alive for the borrowed form.
fn metadata_keys(metadata: &[(&str, &str)]) -> Vec<String> {
    metadata
        .iter()
        .map(|(k, _)| format!("metadata[{k}]"))
        .collect()
}

/// Stripe answers 400 "No configuration provided…" when no portal is set up;
/// a stand-in without the endpoint answers 404, often as a non-Stripe body.
fn portal_missing(error: &StripeError) -> bool {
    match error {
        StripeError::NotFound { .. } => true,
        StripeError::Unreadable { source: None, .. } => true,
        StripeError::Rejected {
            status: 400,
            message,
            ..
        } => message.to_ascii_lowercase().contains("configuration"),
        _ => false,
    }
}
