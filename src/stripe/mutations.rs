//! The Stripe calls behind approved actions: read a charge, refund it,
//! cancel a subscription, pause or resume its collection, create a
//! billing-portal session. Each write is sent
//! once with the caller's idempotency key (derived from the action id), so a
//! retry or a second replica replays Stripe's first answer instead of acting
//! twice. Whether the action is allowed, and how much is left to refund, is
//! the caller's check: Stripe stand-ins accept refunds above what is left.
//!
//! Each write carries the case id and approver in `metadata` (docs/PLAYBOOK.md,
//! "Leave a trace in Stripe too").

use std::collections::HashMap;

use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::subscription::{
    CancelSubscription, RetrieveSubscription, UpdateSubscription,
    UpdateSubscriptionPauseCollection, UpdateSubscriptionPauseCollectionBehavior,
};
use stripe_core::charge::RetrieveCharge;
use stripe_core::refund::CreateRefund;

use super::models;
use super::{StripeError, StripeGateway};
use crate::domain::plan::{PlannedStep, Step, StepState};
use crate::domain::{
    Charge, ChargeId, CustomerId, Money, Pause, PauseBehavior, PortalSessionUrl, RefundId,
    Subscription, SubscriptionId,
};

impl StripeGateway {
    /// What Stripe holds now for `step`: the object it changes.
    ///
    /// # Errors
    /// Any [`StripeError`] of the read.
    pub async fn step_state(&self, step: &Step) -> Result<StepState, StripeError> {
        Ok(match step {
            Step::Refund { charge, .. } => StepState::Charge(self.charge(charge).await?),
            Step::Cancel { subscription, .. } | Step::PauseCollection { subscription, .. } => {
                StepState::Subscription(self.subscription(subscription).await?)
            }
            Step::PortalSession { .. } => StepState::Nothing,
        })
    }

    /// Sends one planned step exactly as planned (its idempotency key and
    /// metadata); returns the id of what Stripe made or changed, or for a
    /// portal session its URL, which the caller shows to the approver only.
    ///
    /// # Errors
    /// Any [`StripeError`].
    pub async fn apply(&self, planned: &PlannedStep) -> Result<String, StripeError> {
        let key = planned.idempotency_key.as_str();
        let metadata: Vec<(&str, &str)> = planned
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match &planned.step {
            Step::Refund { charge, amount } => Ok(self
                .refund(charge, *amount, key, &metadata)
                .await?
                .to_string()),
            Step::Cancel {
                subscription,
                at_period_end,
            } => {
                self.cancel_subscription(subscription, *at_period_end, key, &metadata)
                    .await?;
                Ok(subscription.to_string())
            }
            Step::PauseCollection {
                subscription,
                pause,
            } => {
                self.pause_collection(subscription, *pause, key, &metadata)
                    .await?;
                Ok(subscription.to_string())
            }
            Step::PortalSession { customer } => self
                .portal_session(customer, key)
                .await
                .map(|url| url.expose().to_owned()),
        }
    }

    /// Current state of one charge, refunds included.
    ///
    /// # Errors
    /// [`StripeError::NotFound`] for an unknown charge; any other failure.
    pub async fn charge(&self, id: &ChargeId) -> Result<Charge, StripeError> {
        let req = RetrieveCharge::new(id.as_str()).expand(vec!["refunds".to_owned()]);
        let raw = self.request(&req, None, id.as_str()).await?;
        models::charge(raw)
            .map(|read| read.charge)
            .map_err(|bad| bad.about(id.as_str()))
    }

    /// Current state of one subscription, metadata included: how a
    /// cancellation whose answer was lost is verified.
    ///
    /// # Errors
    /// [`StripeError::NotFound`] for an unknown subscription; any other failure.
    pub async fn subscription(&self, id: &SubscriptionId) -> Result<Subscription, StripeError> {
        let req = RetrieveSubscription::new(id.as_str());
        let raw = self.request(&req, None, id.as_str()).await?;
        models::subscription(raw).map_err(|bad| bad.about(id.as_str()))
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
        let req = CreateRefund::new()
            .charge(charge.as_str())
            .amount(amount.minor)
            .metadata(metadata_map(metadata));
        let what = format!("refund of {charge}");
        let refund = self.request(&req, Some(idempotency_key), &what).await?;
        let id = RefundId::parse(refund.id.as_str()).map_err(|e| StripeError::Unreadable {
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
        let what = format!("cancellation of {sub}");
        let mut update = UpdateSubscription::new(sub.as_str());
        if !metadata.is_empty() {
            update = update.metadata(metadata_map(metadata));
        }
        if at_period_end {
            let req = update.cancel_at_period_end(true);
            self.request(&req, Some(idempotency_key), &what).await?;
        } else {
            // The cancel itself takes no metadata: set it first, so the
            // dashboard shows why even if the cancel is retried later.
            if !metadata.is_empty() {
                self.request(&update, Some(&format!("{idempotency_key}-meta")), &what)
                    .await?;
            }
            let req = CancelSubscription::new(sub.as_str());
            self.request(&req, Some(idempotency_key), &what).await?;
        }
        tracing::info!("subscription cancellation sent");
        Ok(())
    }

    /// Pauses payment collection on `sub` as `pause` says, or resumes it
    /// (`None`), in one update that also sets the metadata. A resume sends
    /// `pause_collection=` (Stripe's way to clear a field), which
    /// async-stripe's builder cannot say, so it is a hand-built form.
    ///
    /// # Errors
    /// Any [`StripeError`].
    #[tracing::instrument(skip_all, fields(subscription_id = %sub, paused = pause.is_some()))]
    pub async fn pause_collection(
        &self,
        sub: &SubscriptionId,
        pause: Option<Pause>,
        idempotency_key: &str,
        metadata: &[(&str, &str)],
    ) -> Result<(), StripeError> {
        let what = format!("collection pause of {sub}");
        match pause {
            Some(pause) => {
                let mut terms = UpdateSubscriptionPauseCollection::new(behavior(pause.behavior));
                terms.resumes_at = pause.resumes_at;
                let mut update = UpdateSubscription::new(sub.as_str()).pause_collection(terms);
                if !metadata.is_empty() {
                    update = update.metadata(metadata_map(metadata));
                }
                self.request(&update, Some(idempotency_key), &what).await?;
            }
            None => {
                let keys: Vec<String> = metadata
                    .iter()
                    .map(|(k, _)| format!("metadata[{k}]"))
                    .collect();
                let mut form = vec![("pause_collection", "")];
                form.extend(
                    keys.iter()
                        .map(String::as_str)
                        .zip(metadata.iter().map(|(_, v)| *v)),
                );
                let path = format!("/subscriptions/{sub}");
                let _: stripe_shared::Subscription =
                    self.post_form(&path, &form, idempotency_key, &what).await?;
            }
        }
        tracing::info!("subscription collection pause sent");
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
        let req = CreateBillingPortalSession::new().customer(customer.as_str());
        match self.request(&req, Some(idempotency_key), &what).await {
            Ok(session) => Ok(PortalSessionUrl::new(session.url)),
            Err(e) if portal_missing(&e) => Err(StripeError::PortalNotConfigured {
                source: Box::new(e),
            }),
            Err(e) => Err(e),
        }
    }
}

fn behavior(behavior: PauseBehavior) -> UpdateSubscriptionPauseCollectionBehavior {
    match behavior {
        PauseBehavior::KeepAsDraft => UpdateSubscriptionPauseCollectionBehavior::KeepAsDraft,
        PauseBehavior::MarkUncollectible => {
            UpdateSubscriptionPauseCollectionBehavior::MarkUncollectible
        }
        PauseBehavior::Void => UpdateSubscriptionPauseCollectionBehavior::Void,
    }
}

fn metadata_map(metadata: &[(&str, &str)]) -> HashMap<String, String> {
    metadata
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
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
