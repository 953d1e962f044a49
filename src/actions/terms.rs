//! What "More actions…" asks before a choice goes on the card: a refund's
//! amount, a cancellation's timing, a pause's terms. One [`Form`] per kind of
//! choice, described here as data; `card::modals::choice_modal` draws any
//! form, `slack::request` reads any submission back as [`Terms`] (the raw
//! values by field name), and [`with_terms`] turns them into the choice, or
//! names the field at fault. A new choice with terms says so only here.
//! Pure; whether the completed choice may go on the card is
//! `choose::validate`'s.

use super::choose::{left_to_refund, validate, Choice};
use crate::domain::choice::Terms;
use crate::domain::surface::{
    AMOUNT_INPUT, CHOOSE_CANCEL_CALLBACK, CHOOSE_REFUND_CALLBACK, WHEN_INPUT, WHEN_NOW,
    WHEN_PERIOD_END,
};
use crate::domain::{ActionKey, ActionStatus, Case, Money, Pause, PauseBehavior};

/// The pause form (`choose_…`, like every choice form) and its fields:
/// what happens to the invoices meanwhile (a `PauseBehavior`'s Stripe
/// name), and an optional day collection resumes.
pub const CHOOSE_PAUSE_CALLBACK: &str = "choose_pause";
pub const BEHAVIOR_INPUT: &str = "behavior";
pub const RESUME_INPUT: &str = "resume_on";

/// The longest amount anyone types; longer text is refused unread.
pub const AMOUNT_MAX_CHARS: usize = 32;

/// A modal that asks for a choice's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The modal's `callback_id` (`choose_…`).
    pub callback: &'static str,
    pub title: &'static str,
    /// What is chosen and what submitting does (Slack markdown).
    pub intro: String,
    pub fields: Vec<Field>,
}

/// One input of a form; its block is `surface::field_block(name)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub input: Input,
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text {
        initial: Option<String>,
    },
    /// Radio buttons: `(value, label)`, and the one picked at first.
    Pick {
        options: Vec<(String, String)>,
        initial: Option<String>,
    },
    /// A day (`YYYY-MM-DD`), read as 00:00 UTC.
    Date,
}

/// Why the terms cannot be taken, under the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

const ADDS: &str = "Submitting adds it to the card as chosen by you; it runs only when another approver approves it.";

/// The form `choice` needs before it can go on the card; `None` when it
/// needs none (a portal link, an invoice page, a resume).
pub fn form(
    case: &Case,
    statuses: &[(ActionKey, ActionStatus)],
    choice: &Choice,
    now: i64,
) -> Option<Form> {
    match choice {
        Choice::Refund { charge, .. } => {
            let found = case.snapshot.charges().find(|c| &c.id == charge)?;
            let left = left_to_refund(case, statuses, found);
            Some(Form {
                callback: CHOOSE_REFUND_CALLBACK,
                title: "Choose a refund",
                intro: format!(
                    "*Refund {charge}*\n{left} is left to refund. Enter all of it or part, in {}. {ADDS}",
                    left.currency
                ),
                fields: vec![Field {
                    name: AMOUNT_INPUT,
                    label: format!("Amount ({})", left.currency),
                    input: Input::Text {
                        initial: Some(left.major_text()),
                    },
                    optional: false,
                }],
            })
        }
        Choice::Cancel { subscription, .. } => {
            // At the period's end is the default, being reversible; not
            // offered when it would be refused (already set to end).
            let at_end = Choice::Cancel {
                subscription: subscription.clone(),
                at_period_end: true,
            };
            let mut options = vec![(
                WHEN_NOW.to_owned(),
                "Now: ends it and its billing today".to_owned(),
            )];
            if validate(case, statuses, &at_end, now).is_ok() {
                options.push((
                    WHEN_PERIOD_END.to_owned(),
                    "At the end of the period (can be undone)".to_owned(),
                ));
            }
            let initial = options.last().map(|(value, _)| value.clone());
            Some(Form {
                callback: CHOOSE_CANCEL_CALLBACK,
                title: "Choose a cancellation",
                intro: format!("*Cancel {subscription}*\n{ADDS}"),
                fields: vec![Field {
                    name: WHEN_INPUT,
                    label: "When".to_owned(),
                    input: Input::Pick { options, initial },
                    optional: false,
                }],
            })
        }
        Choice::PauseCollection {
            subscription,
            pause: Some(_),
        } => {
            let label = |b: PauseBehavior| match b {
                PauseBehavior::KeepAsDraft => "Keep invoices as drafts (collected after the pause)",
                PauseBehavior::MarkUncollectible => "Mark invoices uncollectible",
                PauseBehavior::Void => "Void invoices (the paused time is free)",
            };
            Some(Form {
                callback: CHOOSE_PAUSE_CALLBACK,
                title: "Choose a pause",
                intro: format!(
                    "*Pause collecting payment on {subscription}*\nThe subscription stays; Stripe stops collecting until the day below, or until someone resumes it. {ADDS}"
                ),
                fields: vec![
                    Field {
                        name: BEHAVIOR_INPUT,
                        label: "Invoices meanwhile".to_owned(),
                        input: Input::Pick {
                            options: PauseBehavior::ALL
                                .map(|b| (b.as_str().to_owned(), label(b).to_owned()))
                                .to_vec(),
                            initial: Some(PauseBehavior::KeepAsDraft.as_str().to_owned()),
                        },
                        optional: false,
                    },
                    Field {
                        name: RESUME_INPUT,
                        label: "Resume on (UTC)".to_owned(),
                        input: Input::Date,
                        optional: true,
                    },
                ],
            })
        }
        Choice::PauseCollection { pause: None, .. }
        | Choice::PortalLink { .. }
        | Choice::InvoiceLink { .. } => None,
    }
}

/// The first field of the form `choice` is asked with, where a refusal of
/// the whole choice is shown; `None` when it has no form.
pub fn first_field(choice: &Choice) -> Option<&'static str> {
    match choice {
        Choice::Refund { .. } => Some(AMOUNT_INPUT),
        Choice::Cancel { .. } => Some(WHEN_INPUT),
        Choice::PauseCollection { pause: Some(_), .. } => Some(BEHAVIOR_INPUT),
        Choice::PauseCollection { pause: None, .. }
        | Choice::PortalLink { .. }
        | Choice::InvoiceLink { .. } => None,
    }
}

/// `choice` completed with the `terms` its form was submitted with.
///
/// # Errors
/// The field at fault and what to enter instead.
pub fn with_terms(
    case: &Case,
    choice: &Choice,
    terms: &Terms,
    now: i64,
) -> Result<Choice, FieldError> {
    Ok(match choice {
        Choice::Refund { charge, .. } => {
            let typed = terms.get(AMOUNT_INPUT).unwrap_or_default().trim();
            let not_amount = || {
                FieldError::new(
                    AMOUNT_INPUT,
                    "That is not an amount: type a positive number such as 12.50",
                )
            };
            if typed.chars().count() > AMOUNT_MAX_CHARS {
                return Err(not_amount());
            }
            let currency = case
                .snapshot
                .charges()
                .find(|c| &c.id == charge)
                .map(|c| c.amount.currency)
                .ok_or_else(|| {
                    FieldError::new(AMOUNT_INPUT, format!("{charge} is not on this case"))
                })?;
            let amount = Money::parse_major(typed, currency)
                .map_err(|e| FieldError::new(AMOUNT_INPUT, e.to_string()))?;
            Choice::Refund {
                charge: charge.clone(),
                amount: Some(amount),
            }
        }
        Choice::Cancel { subscription, .. } => {
            let at_period_end = match terms.get(WHEN_INPUT) {
                Some(WHEN_NOW) => false,
                Some(WHEN_PERIOD_END) => true,
                _ => {
                    return Err(FieldError::new(
                        WHEN_INPUT,
                        "Pick now or at the end of the period",
                    ))
                }
            };
            Choice::Cancel {
                subscription: subscription.clone(),
                at_period_end,
            }
        }
        Choice::PauseCollection {
            subscription,
            pause: Some(_),
        } => {
            let behavior = terms
                .get(BEHAVIOR_INPUT)
                .and_then(PauseBehavior::parse)
                .ok_or_else(|| {
                    FieldError::new(BEHAVIOR_INPUT, "Pick what happens to the invoices")
                })?;
            let resumes_at = match terms.get(RESUME_INPUT).filter(|d| !d.is_empty()) {
                None => None,
                Some(day) => Some(start_of_day(day).filter(|at| *at > now).ok_or_else(|| {
                    FieldError::new(RESUME_INPUT, "Pick a day after today, or leave it empty")
                })?),
            };
            Choice::PauseCollection {
                subscription: subscription.clone(),
                pause: Some(Pause {
                    behavior,
                    resumes_at,
                }),
            }
        }
        other => other.clone(),
    })
}

/// A date picker's `YYYY-MM-DD` as Unix seconds at 00:00 UTC.
fn start_of_day(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-').map(str::parse::<u16>);
    let (year, month, day) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SubscriptionId;

    #[test]
    fn a_day_is_read_as_its_midnight_in_utc() {
        assert_eq!(start_of_day("2099-01-01"), Some(4_070_908_800));
        assert_eq!(start_of_day("2099-13-01"), None);
        assert_eq!(start_of_day("tomorrow"), None);
    }

    #[test]
    fn a_pause_takes_its_behaviour_and_a_day_ahead_or_names_the_field() {
        let case = crate::testing::duplicate_case();
        let sub = SubscriptionId::parse("sub_First").expect("id");
        let choice = Choice::PauseCollection {
            subscription: sub.clone(),
            pause: Some(Pause {
                behavior: PauseBehavior::KeepAsDraft,
                resumes_at: None,
            }),
        };
        let terms = |pairs: &[(&str, &str)]| {
            Terms::from_iter(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )
        };
        let now = 4_000_000_000;
        assert_eq!(
            with_terms(
                &case,
                &choice,
                &terms(&[("behavior", "void"), ("resume_on", "2099-01-01")]),
                now
            ),
            Ok(Choice::PauseCollection {
                subscription: sub,
                pause: Some(Pause {
                    behavior: PauseBehavior::Void,
                    resumes_at: Some(4_070_908_800)
                }),
            })
        );
        let err =
            |t: &[(&str, &str)]| with_terms(&case, &choice, &terms(t), now).map_err(|e| e.field);
        assert_eq!(err(&[("resume_on", "2099-01-01")]), Err(BEHAVIOR_INPUT));
        assert_eq!(
            err(&[("behavior", "void"), ("resume_on", "2001-01-01")]),
            Err(RESUME_INPUT)
        );
        assert_eq!(err(&[("behavior", "sometimes")]), Err(BEHAVIOR_INPUT));
        let form = form(&case, &[], &choice, now).expect("a pause asks its terms");
        assert_eq!(form.callback, CHOOSE_PAUSE_CALLBACK);
        assert_eq!(
            form.fields
                .iter()
                .map(|f| (f.name, f.optional))
                .collect::<Vec<_>>(),
            [(BEHAVIOR_INPUT, false), (RESUME_INPUT, true)]
        );
    }
}
