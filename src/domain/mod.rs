//! The domain vocabulary: identifiers, emails, money, lookups, the billing
//! snapshot and the case. Plain data checked once at the edge; no I/O.

mod case;
pub mod choice;
mod email;
mod ids;
mod money;
pub mod plan;
mod query;
pub mod redact;
pub mod scanned;
mod secret;
mod slack;
mod snapshot;
pub mod surface;
pub mod text;
pub mod trail;

#[cfg(test)]
mod fuzz_tests;

pub use case::*;
pub use email::{Email, EmailError};
pub use ids::*;
pub use money::{AmountError, Currency, CurrencyError, Money};
pub use query::*;
pub use secret::*;
pub use slack::*;
pub use snapshot::*;
