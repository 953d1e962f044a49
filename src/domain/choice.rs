//! What an operator picked from "More actions…", typed at the edge: a
//! [`Choice`], the [`CaseChoice`] that names its case, and the [`Terms`]
//! entered in its form. Whether it may be
//! put on the card is `actions::choose`'s.

use std::collections::BTreeMap;

use super::{CaseId, ChargeId, CustomerId, InvoiceId, Money, Pause, SubscriptionId};

/// What an operator picked, typed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Refund `amount` of `charge`, or all that is left when `None`.
    Refund {
        charge: ChargeId,
        amount: Option<Money>,
    },
    Cancel {
        subscription: SubscriptionId,
        at_period_end: bool,
    },
    PortalLink {
        customer: CustomerId,
    },
    InvoiceLink {
        invoice: InvoiceId,
    },
    /// Pause collection (`Some`, asked for in a modal) or resume it (`None`).
    PauseCollection {
        subscription: SubscriptionId,
        pause: Option<Pause>,
    },
}

impl Choice {
    /// The choice as a short code for a menu option or a modal's metadata:
    /// `refund:ch_…`, `cancel:sub_…`, `cancel_at_period_end:sub_…`,
    /// `portal:cus_…`, `invoice:in_…`, `pause:sub_…`, `resume:sub_…`. A
    /// refund's amount and a pause's terms are not in it: they are given in
    /// the modal.
    pub fn code(&self) -> String {
        match self {
            Self::Refund { charge, .. } => format!("refund:{charge}"),
            Self::Cancel {
                subscription,
                at_period_end: false,
            } => format!("cancel:{subscription}"),
            Self::Cancel { subscription, .. } => format!("cancel_at_period_end:{subscription}"),
            Self::PortalLink { customer } => format!("portal:{customer}"),
            Self::InvoiceLink { invoice } => format!("invoice:{invoice}"),
            Self::PauseCollection {
                subscription,
                pause: Some(_),
            } => format!("pause:{subscription}"),
            Self::PauseCollection { subscription, .. } => format!("resume:{subscription}"),
        }
    }

    /// Reads a [`Choice::code`]; a refund reads as "all that is left".
    pub fn parse_code(code: &str) -> Option<Self> {
        let (what, id) = code.split_once(':')?;
        Some(match what {
            "refund" => Self::Refund {
                charge: ChargeId::parse(id).ok()?,
                amount: None,
            },
            "cancel" | "cancel_at_period_end" => Self::Cancel {
                subscription: SubscriptionId::parse(id).ok()?,
                at_period_end: what == "cancel_at_period_end",
            },
            "portal" => Self::PortalLink {
                customer: CustomerId::parse(id).ok()?,
            },
            "invoice" => Self::InvoiceLink {
                invoice: InvoiceId::parse(id).ok()?,
            },
            // The pause's terms are asked for in its modal; until then it
            // is a pause with Stripe's gentlest behaviour and no end.
            "pause" | "resume" => Self::PauseCollection {
                subscription: SubscriptionId::parse(id).ok()?,
                pause: (what == "pause").then_some(Pause {
                    behavior: super::PauseBehavior::KeepAsDraft,
                    resumes_at: None,
                }),
            },
            _ => return None,
        })
    }
}

/// A choice on a case: the value of a "More actions…" option and the
/// `private_metadata` of the modal that asks for the rest,
/// `{case_id}/{choice code}`. A name to look up, never the truth: the
/// choice is validated against the stored case before anything is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseChoice {
    pub case_id: CaseId,
    pub choice: Choice,
}

impl CaseChoice {
    /// Reads `{case_id}/{choice code}`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let (case, code) = value.split_once('/')?;
        Some(Self {
            case_id: CaseId::parse(case).ok()?,
            choice: Choice::parse_code(code)?,
        })
    }

    pub fn value(&self) -> String {
        format!("{}/{}", self.case_id, self.choice.code())
    }
}

/// What an operator entered in a choice's form (`actions::terms`): the raw
/// values Slack sent, by field name (the input's `action_id`), each cut to
/// [`Terms::MAX_CHARS`]. Read at the edge, understood by the core.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms(BTreeMap<String, String>);

impl Terms {
    /// No value is longer than any term a form asks for.
    pub const MAX_CHARS: usize = 200;

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

impl FromIterator<(String, String)> for Terms {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k, v.chars().take(Self::MAX_CHARS).collect()))
                .collect(),
        )
    }
}
