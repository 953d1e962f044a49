//! Fetching a [`BillingSnapshot`]: resolve the identifier to customers in one
//! round trip (the customer expanded, with its default payment method), then
//! fetch every customer's subscriptions, invoices, charges and, when needed,
//! cards in one concurrent fan-out (a few requests in flight at a time, see
//! `retry.rs`). For an exact id, the same fan-out also
//! lists other customers sharing the email; only those need a third round.
//! What the snapshot means is left to `triage`.

use futures::future::{join_all, try_join4};

use stripe_billing::invoice::ListInvoice;
use stripe_billing::invoice::RetrieveInvoice;
use stripe_billing::subscription::{
    ListSubscription, ListSubscriptionStatus, RetrieveSubscription,
};
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_core::charge::{ListCharge, RetrieveCharge};
use stripe_core::customer::{ListCustomer, RetrieveCustomer, RetrieveCustomerReturned};
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_shared as ss;
use stripe_types::{Expandable, List};

use super::models::{self, ReadCharge, ReadInvoice};
use super::{StripeError, StripeGateway};
use crate::domain::{BillingSnapshot, CustomerRecord, LookupQuery};

/// Recent history fetched per customer; enough for the card and the triage.
const RECENT: i64 = 20;
/// Subscriptions of every status; a person rarely has more.
const MAX_SUBSCRIPTIONS: i64 = 100;
/// Customers sharing one email.
const MAX_CUSTOMERS: i64 = 100;

/// Expanding the default payment method in the resolve call saves a round.
const EXPAND_CARD: [&str; 2] = ["invoice_settings.default_payment_method", "default_source"];

impl StripeGateway {
    /// The billing snapshot for `query`, taken at `now` (Unix seconds).
    /// No match is `Ok` with no customers. An email lists every customer
    /// sharing it; an exact id lists its customer first, then the others
    /// sharing that customer's email.
    ///
    /// # Errors
    /// Any [`StripeError`] but "not found" on the identifier itself.
    #[tracing::instrument(skip_all, fields(query_kind = query.kind()))]
    pub async fn snapshot(
        &self,
        query: &LookupQuery,
        now: i64,
    ) -> Result<BillingSnapshot, StripeError> {
        // The fan-out below may be wide; this lookup gets a few slots.
        self.for_lookup().snapshot_in_slots(query, now).await
    }

    async fn snapshot_in_slots(
        &self,
        query: &LookupQuery,
        now: i64,
    ) -> Result<BillingSnapshot, StripeError> {
        let primary = self.resolve(query).await?;
        if primary.is_empty() {
            return Ok(BillingSnapshot {
                query: query.clone(),
                customers: Vec::new(),
                fetched_at: now,
            });
        }

        // Round 2: every known customer's lists, and (exact ids only) who
        // else shares the email, all at once.
        let sibling_email = match (
            query.is_exact(),
            primary.first().and_then(|c| c.email.clone()),
        ) {
            (true, Some(email)) if !email.is_empty() => Some(email),
            _ => None,
        };
        let details = join_all(primary.into_iter().map(|c| self.details(c)));
        let siblings = async {
            match &sibling_email {
                Some(email) => self.customers_by_email(email).await.map(Some),
                None => Ok(None),
            }
        };
        let (records, siblings) = futures::join!(details, siblings);
        let mut customers = records.into_iter().collect::<Result<Vec<_>, _>>()?;

        // Round 3, only for customers first seen in round 2.
        if let Some(siblings) = siblings? {
            let fresh = siblings
                .into_iter()
                .filter(|s| !customers.iter().any(|c| c.id == s.id));
            let more = join_all(fresh.map(|c| self.details(c))).await;
            customers.extend(more.into_iter().collect::<Result<Vec<_>, _>>()?);
        }
        tracing::info!(n_customers = customers.len(), "snapshot fetched");
        Ok(BillingSnapshot {
            query: query.clone(),
            customers,
            fetched_at: now,
        })
    }

    /// Round 1: the customers the identifier names.
    async fn resolve(&self, query: &LookupQuery) -> Result<Vec<CustomerRecord>, StripeError> {
        let owner_expand = || {
            [
                "customer",
                "customer.invoice_settings.default_payment_method",
                "customer.default_source",
            ]
            .map(String::from)
            .to_vec()
        };
        let (req, what) = match query {
            LookupQuery::Email(email) => return self.customers_by_email(email.as_str()).await,
            LookupQuery::Customer(id) => {
                let req = RetrieveCustomer::new(id.as_str()).expand(expand(&EXPAND_CARD));
                let found = self.request(&req, None, id.as_str()).await;
                return match not_found_as_none(found)? {
                    Some(RetrieveCustomerReturned::Customer(customer)) => Ok(vec![lean(customer)?]),
                    Some(RetrieveCustomerReturned::DeletedCustomer(_)) | None => Ok(Vec::new()),
                };
            }
            LookupQuery::Subscription(id) => (
                RetrieveSubscription::new(id.as_str())
                    .expand(owner_expand())
                    .build(),
                id.as_str(),
            ),
            LookupQuery::Invoice(id) => (
                RetrieveInvoice::new(id.as_str())
                    .expand(owner_expand())
                    .build(),
                id.as_str(),
            ),
            LookupQuery::Charge(id) => (
                RetrieveCharge::new(id.as_str())
                    .expand(owner_expand())
                    .build(),
                id.as_str(),
            ),
            LookupQuery::PaymentIntent(id) => (
                RetrievePaymentIntent::new(id.as_str())
                    .expand(owner_expand())
                    .build(),
                id.as_str(),
            ),
            // No request builder without one more crate (async-stripe-checkout)
            // for this one GET: built by hand.
            LookupQuery::CheckoutSession(id) => {
                let expand = owner_expand();
                let pairs: Vec<(&str, &str)> =
                    expand.iter().map(|e| ("expand[]", e.as_str())).collect();
                (
                    super::hand_built(
                        StripeMethod::Get,
                        &format!("/checkout/sessions/{id}"),
                        &pairs,
                    )?,
                    id.as_str(),
                )
            }
        };
        let owner = not_found_as_none(self.owner(req, what).await)?;
        owner.flatten().into_iter().map(lean).collect()
    }

    /// The expanded `customer` of the object `req` reads; `None` when it
    /// has none (or a stand-in ignored the expansion: treated as not found
    /// rather than spend a round on it).
    async fn owner(
        &self,
        req: RequestBuilder,
        what: &str,
    ) -> Result<Option<ss::Customer>, StripeError> {
        #[derive(miniserde::Deserialize)]
        struct Owner {
            customer: Option<Expandable<ss::Customer>>,
        }
        let owner: Owner = self.call(req, None, what).await?;
        Ok(owner.customer.and_then(Expandable::into_object))
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<CustomerRecord>, StripeError> {
        let req = ListCustomer::new()
            .email(email)
            .limit(MAX_CUSTOMERS)
            .expand(expand(&EXPAND_CARD.map(|e| format!("data.{e}"))));
        // The error names the filter, not the address: emails stay out of logs.
        let list = self
            .request(&req, None, "customers with that email")
            .await?;
        list.data.into_iter().map(lean).collect()
    }

    /// One customer's lists, fetched concurrently: subscriptions, invoices
    /// with their payments, charges with their refunds, and (only when the
    /// customer did not come with one) a card.
    async fn details(&self, mut record: CustomerRecord) -> Result<CustomerRecord, StripeError> {
        let id = record.id.to_string();
        let what = |kind: &str| format!("{kind} of {id}");
        let subs_req = ListSubscription::new()
            .customer(id.as_str())
            .status(ListSubscriptionStatus::All)
            .limit(MAX_SUBSCRIPTIONS);
        let inv_req = ListInvoice::new()
            .customer(id.as_str())
            .limit(RECENT)
            .expand(expand(&["data.payments"]));
        let ch_req = ListCharge::new()
            .customer(id.as_str())
            .limit(RECENT)
            .expand(expand(&["data.refunds"]));
        let (subs_what, inv_what, ch_what) =
            (what("subscriptions"), what("invoices"), what("charges"));

        let expanded = record.default_payment_method.clone();
        // Only when nothing usable came expanded: the first attached card.
        let card_fallback = async {
            if expanded.is_some() {
                return Ok(None);
            }
            // `GET /v1/payment_methods?customer=…`: its builder lives in one
            // more crate (async-stripe-payment) for this one call.
            let req = super::hand_built(
                StripeMethod::Get,
                "/payment_methods",
                &[("customer", id.as_str()), ("type", "card"), ("limit", "1")],
            )?;
            let list: Result<List<ss::PaymentMethod>, _> =
                self.call(req, None, &what("payment methods")).await;
            // A customer without cards, or a stand-in without this list, is "no card".
            match list {
                Ok(list) => Ok(list.data.iter().find_map(models::payment_method_card)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        };
        let (subs, invoices, charges, fallback) = try_join4(
            self.request(&subs_req, None, &subs_what),
            self.request(&inv_req, None, &inv_what),
            self.request(&ch_req, None, &ch_what),
            card_fallback,
        )
        .await?;

        record.default_payment_method = expanded.or(fallback);
        record.subscriptions = subs
            .data
            .into_iter()
            .map(models::subscription)
            .collect::<Result<_, _>>()
            .map_err(|bad| bad.about(subs_what))?;
        let invoices_complete = !invoices.has_more;
        let mut invoices: Vec<ReadInvoice> = invoices
            .data
            .into_iter()
            .map(models::invoice)
            .collect::<Result<_, _>>()
            .map_err(|bad| bad.about(inv_what))?;
        let mut charges: Vec<ReadCharge> = charges
            .data
            .into_iter()
            .map(models::charge)
            .collect::<Result<_, _>>()
            .map_err(|bad| bad.about(ch_what))?;
        models::link(&mut invoices, &mut charges, invoices_complete);
        record.invoices = invoices.into_iter().map(|i| i.invoice).collect();
        record.charges = charges.into_iter().map(|c| c.charge).collect();
        // Stripe lists newest first; a stand-in may keep insertion order.
        record
            .subscriptions
            .sort_by_key(|x| std::cmp::Reverse(x.created));
        record
            .invoices
            .sort_by_key(|x| std::cmp::Reverse(x.created));
        record.charges.sort_by_key(|x| std::cmp::Reverse(x.created));
        Ok(record)
    }
}

/// The customer as the domain keeps it, with the card it came with
/// expanded: the generated object (and its expanded payment method) is
/// dropped at once, not held while the lookup waits for its next round.
fn lean(customer: ss::Customer) -> Result<CustomerRecord, StripeError> {
    let card = models::expanded_card(&customer);
    let id = customer.id.as_str().to_owned();
    models::customer_record(customer, card).map_err(|bad| bad.about(format!("customer {id}")))
}

fn expand<S: AsRef<str>>(fields: &[S]) -> Vec<String> {
    fields.iter().map(|f| f.as_ref().to_owned()).collect()
}

fn not_found_as_none<T>(result: Result<T, StripeError>) -> Result<Option<T>, StripeError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
