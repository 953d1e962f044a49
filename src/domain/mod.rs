//! The domain vocabulary: identifiers, emails, money, lookups, the billing
//! snapshot and the case. Plain data checked once at the edge; no I/O.

mod case;
mod email;
mod ids;
mod money;
mod query;
mod secret;
mod slack;
mod snapshot;

pub use case::*;
pub use email::{Email, EmailError};
pub use ids::*;
pub use money::{AmountError, Currency, CurrencyError, Money};
pub use query::*;
pub use secret::*;
pub use slack::*;
pub use snapshot::*;
