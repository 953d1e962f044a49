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

/// A typed amount that cannot be read; `Display` is operator text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{given}` is not an amount in {currency}: type a positive number such as 12.50 (or 500 for zero-decimal currencies)")]
pub struct AmountError {
    pub given: String,
    pub currency: Currency,
}

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

    /// Reads an amount typed by a person in major units ("12.50", "12",
    /// "1 500" for JPY) into minor units of `currency`.
    ///
    /// # Errors
    /// When the text is not a positive amount with at most as many decimals
    /// as the currency has.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Self, AmountError> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '\u{a0}'))
            .collect();
        let cleaned = cleaned.replace(',', ".");
        let err = || AmountError {
            given: text.chars().take(30).collect(),
            currency,
        };
        let exp = currency.exponent() as usize;
        let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        if whole.is_empty() && frac.is_empty()
            || frac.len() > exp
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err())?
        };
        let frac_minor: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<exp$}").parse().map_err(|_| err())?
        };
        let minor = whole
            .checked_mul(10i64.pow(exp as u32))
            .and_then(|m| m.checked_add(frac_minor))
            .ok_or_else(err)?;
        if minor <= 0 {
            return Err(err());
        }
        Ok(Self { minor, currency })
    }

    /// The amount in major units as a person types it ("39.00", "5000").
    pub fn major_text(&self) -> String {
        let shown = self.to_string();
        shown
            .split_once(' ')
            .map_or(shown.clone(), |(_, amount)| amount.to_owned())
    }

    /// The same currency with another amount.
    pub fn with_minor(&self, minor: i64) -> Self {
        Self {
            minor,
            currency: self.currency,
        }
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
    fn parses_typed_amounts_per_currency() {
        let eur = Currency::parse("eur").expect("eur");
        let jpy = Currency::parse("jpy").expect("jpy");
        assert_eq!(Money::parse_major("12.5", eur).map(|m| m.minor), Ok(1250));
        assert_eq!(
            Money::parse_major(" 39,00 ", eur).map(|m| m.minor),
            Ok(3900)
        );
        assert_eq!(Money::parse_major("1 500", jpy).map(|m| m.minor), Ok(1500));
        for bad in [
            "",
            "0",
            "-3",
            "1.234",
            "abc",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(Money::parse_major(bad, eur).is_err(), "{bad}");
        }
        assert!(Money::parse_major("1.5", jpy).is_err());
        assert_eq!(Money::new(3900, eur).major_text(), "39.00");
    }

    #[test]
    fn rejects_codes_that_are_not_three_letters() {
        assert!(Currency::parse("eu").is_err());
        assert!(Currency::parse("e1r").is_err());
        assert!(Currency::parse("euro").is_err());
    }
}
