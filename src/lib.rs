//! billing-triage: a Slack bot that triages customer-billing cases on Stripe.
//!
//! Functional core, imperative shell (see ARCHITECTURE.md):
//! - core, synchronous and I/O-free: `domain`, `triage`, `access`, `actions`, `policy`,
//!   `card`, `followup`, `audit`, `plan`, `reports`;
//! - shell: `workflow`, the only code that joins core and adapters, and
//!   `handlers`, which turn typed Slack requests into workflows;
//! - adapters at the edge: `stripe`, `store` (Redis), `slack`, `http`, `witness`
//!   (the audit heads published outside Redis);
//! - process plumbing: `config`, `telemetry`, `startup`, `cli`.

// core: no I/O, clock or randomness
pub mod access;
pub mod actions;
pub mod assess;
pub mod audit;
pub mod card;
pub mod domain;
pub mod followup;
pub mod plan;
pub mod policy;
pub mod reports;
pub mod triage;

// shell
pub mod handlers;
pub mod workflow;

// process plumbing
pub mod cli;
pub mod config;
pub mod metrics;
pub mod startup;
pub mod telemetry;

// adapters
pub mod http;
pub mod slack;
pub mod store;
pub mod stripe;
pub mod witness;

// test-only builders shared by the unit tests
#[cfg(test)]
pub(crate) mod testing;
