//! One integration-test binary (z2p `tests/api/main.rs`): real Redis, a
//! Stripe stand-in (localstripe or a failing server), a Slack stand-in.

mod helpers;
mod slack;
