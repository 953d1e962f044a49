//! Money as Stripe counts it: an integer amount in the currency's minor unit,
//! with its currency. Owns formatting ("EUR 39.00", "JPY 5000") and the table
//! of currencies whose minor unit is not a hundredth. Never uses `f64`.
//!
//! Zero- and three-decimal currencies follow Stripe's list:
//! <https://docs.stripe.com/currencies#zero-decimal>.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A three-letter ISO 4217 code, stored lower-case as Stripe sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// An amount in minor units with its currency; never `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in the currency's smallest unit (cents for EUR, yen for JPY).
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a three-letter currency code: use an ISO 4217 code such as eur or jpy")]
pub struct CurrencyError(String);

/// Stripe's zero-decimal currencies: the amount is already in whole units.
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];
/// Stripe's three-decimal currencies.
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

impl Currency {
    /// # Errors
    /// When `code` is not three ASCII letters.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_lowercase(),
                b.to_ascii_lowercase(),
                c.to_ascii_lowercase(),
            ])),
            _ => Err(CurrencyError(code.chars().take(16).collect())),
        }
    }

    /// Lower-case code, as Stripe spells it.
    pub fn as_str(&self) -> &str {
        // The constructor only admits ASCII letters.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// How many digits of the minor unit stand after the decimal point.
    pub fn exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.as_str()) {
            0
        } else if THREE_DECIMAL.contains(&self.as_str()) {
            3
        } else {
            2
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_ascii_uppercase())
    }
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// The same currency with another amount.
    pub fn with_minor(&self, minor: i64) -> Self {
        Self { minor, currency: self.currency }
    }
}

impl fmt::Display for Money {
    /// `EUR 39.00`, `JPY 5000`, `KWD 1.500`, `EUR -3.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return write!(f, "{} {sign}{abs}", self.currency);
        }
        let unit = 10u64.pow(exp);
        write!(
            f,
            "{} {sign}{}.{:0width$}",
            self.currency,
            abs / unit,
            abs % unit,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(minor: i64, code: &str, expected: &str) {
        let money = Money::new(minor, Currency::parse(code).expect("test currency"));
        assert_eq!(money.to_string(), expected);
    }

    #[test]
    fn formats_two_zero_and_three_decimal_currencies() {
        check(3900, "eur", "EUR 39.00");
        check(5, "usd", "USD 0.05");
        check(5000, "jpy", "JPY 5000");
        check(12000, "KRW", "KRW 12000");
        check(1500, "kwd", "KWD 1.500");
        check(-350, "eur", "EUR -3.50");
    }

    #[test]
    fn rejects_codes_that_are_not_three_letters() {
        assert!(Currency::parse("eu").is_err());
        assert!(Currency::parse("e1r").is_err());
        assert!(Currency::parse("euro").is_err());
    }
}
