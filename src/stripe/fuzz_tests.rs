//! Property tests of Stripe's answers into our records (issue 17, "fuzzed
//! edges"): the answers the pinned layer recorded
//! (`tests/fixtures/stripe-pinned/`, made by `scripts/stripe_pinned.py
//! --record`), mutated (a field dropped, of another type, huge, nested
//! JSON, a key written twice, the body cut short), and arbitrary bytes,
//! read as [`super::read`] reads every answer and converted by
//! [`super::models`]. Never a panic; a refusal is
//! [`StripeError::Unreadable`] naming what was read and why.

use super::models::{self, Bad};
use super::StripeError;
use crate::testing::fuzz;
use proptest::prelude::*;
use serde_json::Value;
use stripe_shared as ss;
use stripe_types::List;

/// The recorded answers the bot reads into records, by file.
const ANSWERS: [&str; 7] = [
    "customer.json",
    "customer_list.json",
    "subscription_list.json",
    "subscription_canceled.json",
    "invoice_list_with_payments.json",
    "charge_list_with_refunds.json",
    "payment_method_list.json",
];

fn recorded(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe-pinned/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is JSON: {e}"))
}

/// A refusal says what was being read and keeps the model's reason.
fn refused(e: &StripeError, what: &str) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    prop_assert!(
        matches!(e, StripeError::Unreadable { .. }),
        "an unreadable answer is Unreadable: {e:?}"
    );
    prop_assert!(shown.contains(what), "{shown}");
    Ok(())
}

fn converted<T>(read: Result<T, Bad>, what: &str) -> Result<Option<T>, TestCaseError> {
    match read {
        Ok(record) => Ok(Some(record)),
        Err(bad) => {
            let detail = bad.0.clone();
            prop_assert!(!detail.is_empty());
            let e = bad.about(what);
            refused(&e, what)?;
            prop_assert!(e.to_string().contains(&detail), "the reason is kept: {e}");
            Ok(None)
        }
    }
}

/// Reads `body` as the file `name` is read by the bot, then into records.
fn read_as(name: &str, body: &[u8]) -> Result<(), TestCaseError> {
    let what = format!("the answer {name}");
    macro_rules! read {
        ($t:ty) => {
            match super::read::<$t>(body, &what) {
                Ok(value) => Some(value),
                Err(e) => {
                    refused(&e, &what)?;
                    None
                }
            }
        };
    }
    match name {
        "customer.json" => {
            if let Some(c) = read!(ss::Customer) {
                let card = models::expanded_card(&c);
                converted(models::customer_record(c, card), &what)?;
            }
        }
        "customer_list.json" => {
            for c in read!(List<ss::Customer>)
                .map(|l| l.data)
                .unwrap_or_default()
            {
                converted(models::customer_record(c, None), &what)?;
            }
        }
        "subscription_list.json" => {
            for s in read!(List<ss::Subscription>)
                .map(|l| l.data)
                .unwrap_or_default()
            {
                converted(models::subscription(s), &what)?;
            }
        }
        "subscription_canceled.json" => {
            if let Some(s) = read!(ss::Subscription) {
                converted(models::subscription(s), &what)?;
            }
        }
        "invoice_list_with_payments.json" | "charge_list_with_refunds.json" => {
            let mut invoices = Vec::new();
            for i in read!(List<ss::Invoice>).map(|l| l.data).unwrap_or_default() {
                invoices.extend(converted(models::invoice(i), &what)?);
            }
            let mut charges = Vec::new();
            for c in read!(List<ss::Charge>).map(|l| l.data).unwrap_or_default() {
                charges.extend(converted(models::charge(c), &what)?);
            }
            models::link(&mut invoices, &mut charges, false);
        }
        _ => {
            for pm in read!(List<ss::PaymentMethod>)
                .map(|l| l.data)
                .unwrap_or_default()
            {
                let _ = models::payment_method_card(&pm);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn fuzz_mutated_stripe_answers_are_read_or_refused_with_their_reason(
        name in proptest::sample::select(ANSWERS.to_vec()),
        mutations in proptest::collection::vec(fuzz::json_mutation(), 1..4),
        text in fuzz::text_mutation(),
    ) {
        let answer = mutations.iter().fold(recorded(name), fuzz::mutate);
        read_as(name, &fuzz::json_text(&answer, &text))?;
    }

    #[test]
    fn fuzz_any_bytes_as_a_stripe_answer(
        name in proptest::sample::select(ANSWERS.to_vec()),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            (fuzz::json_value(), fuzz::text_mutation()).prop_map(|(v, t)| fuzz::json_text(&v, &t)),
        ],
    ) {
        read_as(name, &body)?;
    }
}

/// The recorded answers themselves are read (a mutation's starting point),
/// and a field the pinned version requires, dropped, is refused with what
/// was read.
#[test]
fn recorded_answers_are_read_and_a_missing_field_is_named() {
    for name in ANSWERS {
        let body = recorded(name).to_string();
        assert!(
            read_as(name, body.as_bytes()).is_ok(),
            "{name} reads as recorded"
        );
    }
    let mut charges = recorded("charge_list_with_refunds.json");
    if let Some(first) = charges["data"][0].as_object_mut() {
        first.remove("currency");
    }
    let e = super::read::<List<ss::Charge>>(charges.to_string().as_bytes(), "charges")
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref().is_some_and(
            |e| e.contains("charges") && e.contains("not the shape of the pinned API version")
        ),
        "{e:?}"
    );
    let whole = recorded("customer.json").to_string();
    let cut = &whole.as_bytes()[..whole.len() / 2];
    assert!(super::read::<ss::Customer>(cut, "customer").is_err());
    let mut customer = recorded("customer.json");
    customer["id"] = Value::String("cus_ not one".into());
    let read: ss::Customer =
        super::read(customer.to_string().as_bytes(), "customer").expect("any string is an id");
    let e = models::customer_record(read, None)
        .map(|_| ())
        .map_err(|bad| bad.about("customer"));
    assert!(
        e.as_ref()
            .is_err_and(|e| e.to_string().contains("is not a Stripe customer id")),
        "{e:?}"
    );
}
