//! Fetching a [`BillingSnapshot`]: resolve the identifier to customers in one
//! round trip (the customer expanded, with its default payment method), then
//! fetch every customer's subscriptions, invoices, charges and, when needed,
//! cards in one concurrent fan-out. For an exact id, the same fan-out also
//! lists other customers sharing the email; only those need a third round.
//! What the snapshot means is left to `triage`.

use futures::future::{join_all, try_join4};

use super::models::{
    Bad, List, OwnedByCustomer, StripeCard, StripeCharge, StripeCustomer, StripeInvoice,
    StripePaymentMethod, StripeSubscription,
};
use super::{StripeError, StripeGateway};
use crate::domain::{BillingSnapshot, CardSummary, CustomerRecord, LookupQuery};

/// Recent history fetched per customer; enough for the card and the triage.
const RECENT: &str = "20";
/// Subscriptions of every status; a person rarely has more.
const MAX_SUBSCRIPTIONS: &str = "100";
/// Customers sharing one email.
const MAX_CUSTOMERS: &str = "100";

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
        let resolved = self.resolve(query).await?;
        let primary: Vec<StripeCustomer> = resolved.into_iter().filter(|c| !c.deleted).collect();
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
                .filter(|s| !s.deleted && !customers.iter().any(|c| c.id.as_str() == s.id));
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
    async fn resolve(&self, query: &LookupQuery) -> Result<Vec<StripeCustomer>, StripeError> {
        let owner_path = match query {
            LookupQuery::Email(email) => return self.customers_by_email(email.as_str()).await,
            LookupQuery::Customer(id) => {
                let expand = [("expand[]", EXPAND_CARD[0]), ("expand[]", EXPAND_CARD[1])];
                let found = self
                    .get::<StripeCustomer>(&format!("/customers/{id}"), &expand, id.as_str())
                    .await;
                return not_found_as_none(found).map(|c| c.into_iter().collect());
            }
            LookupQuery::Subscription(id) => (format!("/subscriptions/{id}"), id.as_str()),
            LookupQuery::Invoice(id) => (format!("/invoices/{id}"), id.as_str()),
            LookupQuery::Charge(id) => (format!("/charges/{id}"), id.as_str()),
            LookupQuery::PaymentIntent(id) => (format!("/payment_intents/{id}"), id.as_str()),
            LookupQuery::CheckoutSession(id) => (format!("/checkout/sessions/{id}"), id.as_str()),
        };
        let (path, what) = owner_path;
        let expand = [
            ("expand[]", "customer"),
            (
                "expand[]",
                "customer.invoice_settings.default_payment_method",
            ),
            ("expand[]", "customer.default_source"),
        ];
        let owner = not_found_as_none(self.get::<OwnedByCustomer>(&path, &expand, what).await)?;
        Ok(owner
            .and_then(|o| o.customer)
            .and_then(|c| match c {
                super::models::Expandable::Object(customer) => Some(customer),
                // Not expanded (a stand-in ignoring expand): treat as not found
                // rather than spend a round on it.
                super::models::Expandable::Id(_) => None,
            })
            .into_iter()
            .collect())
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<StripeCustomer>, StripeError> {
        let query = [
            ("email", email),
            ("limit", MAX_CUSTOMERS),
            ("expand[]", "data.invoice_settings.default_payment_method"),
            ("expand[]", "data.default_source"),
        ];
        // The error names the filter, not the address: emails stay out of logs.
        let list = self
            .get::<List<StripeCustomer>>("/customers", &query, "customers with that email")
            .await?;
        Ok(list.data)
    }

    /// One customer's lists, fetched concurrently.
    async fn details(&self, customer: StripeCustomer) -> Result<CustomerRecord, StripeError> {
        let id = customer.id.clone();
        let what = |kind: &str| format!("{kind} of {id}");
        let subs_q = [
            ("customer", id.as_str()),
            ("status", "all"),
            ("limit", MAX_SUBSCRIPTIONS),
        ];
        let inv_q = [("customer", id.as_str()), ("limit", RECENT)];
        let ch_q = [
            ("customer", id.as_str()),
            ("limit", RECENT),
            ("expand[]", "data.refunds"),
        ];
        let (subs_what, inv_what, ch_what) =
            (what("subscriptions"), what("invoices"), what("charges"));

        let expanded = customer.expanded_card();
        // Only when nothing usable came expanded: the first attached card.
        let card_fallback = async {
            if expanded.is_some() {
                return Ok(None);
            }
            let q = [("customer", id.as_str()), ("type", "card"), ("limit", "1")];
            let list = self
                .get::<List<StripePaymentMethod>>("/payment_methods", &q, &what("payment methods"))
                .await;
            // A customer without cards, or a stand-in without this list, is "no card".
            match list {
                Ok(list) => Ok(list
                    .data
                    .into_iter()
                    .find_map(|pm| pm.card.as_ref().and_then(StripeCard::summary))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        };
        let (subs, invoices, charges, fallback) = try_join4(
            self.get::<List<StripeSubscription>>("/subscriptions", &subs_q, &subs_what),
            self.get::<List<StripeInvoice>>("/invoices", &inv_q, &inv_what),
            self.get::<List<StripeCharge>>("/charges", &ch_q, &ch_what),
            card_fallback,
        )
        .await?;

        let card: Option<CardSummary> = expanded.or(fallback);
        let unreadable = |what: String| {
            move |bad: Bad| StripeError::Unreadable {
                what: what.clone(),
                detail: bad.0,
                source: None,
            }
        };
        let mut record = customer
            .into_record(card)
            .map_err(unreadable(format!("customer {id}")))?;
        record.subscriptions = subs
            .data
            .into_iter()
            .map(StripeSubscription::into_domain)
            .collect::<Result<_, _>>()
            .map_err(unreadable(subs_what))?;
        record.invoices = invoices
            .data
            .into_iter()
            .map(StripeInvoice::into_domain)
            .collect::<Result<_, _>>()
            .map_err(unreadable(inv_what))?;
        record.charges = charges
            .data
            .into_iter()
            .map(StripeCharge::into_domain)
            .collect::<Result<_, _>>()
            .map_err(unreadable(ch_what))?;
        // Stripe lists newest first; localstripe keeps insertion order.
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

fn not_found_as_none<T>(result: Result<T, StripeError>) -> Result<Option<T>, StripeError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
