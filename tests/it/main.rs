//! The one integration test binary (temporary in the `audit` branch; the
//! lead owns this file).

mod audit;
mod redis_helper;
