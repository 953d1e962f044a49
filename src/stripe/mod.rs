//! Stripe adapter: the only code that talks to Stripe.
