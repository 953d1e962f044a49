use super::*;
use crate::domain::{
    Actor, BillingSnapshot, CustomerRecord, FollowUp, Invoice, InvoiceStatus, LookupQuery,
    RevenueImpact, Subscription, SubscriptionStatus, Triage,
};
use std::collections::BTreeMap;

const NOW: i64 = 1_700_000_000;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("eur"))
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("usd").expect("usd"))
}

fn charge_id(id: &str) -> ChargeId {
    ChargeId::parse(id).expect("id")
}

fn sub_id(id: &str) -> SubscriptionId {
    SubscriptionId::parse(id).expect("id")
}

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).expect("id")
}

fn charge(id: &str, minor: i64, refunded: i64, disputed: bool) -> Charge {
    Charge {
        id: charge_id(id),
        customer: Some(CustomerId::parse("cus_1").expect("id")),
        amount: eur(minor),
        amount_refunded: refunded,
        status: ChargeStatus::Succeeded,
        created: NOW - 3600,
        invoice: None,
        invoice_unknown: false,
        description: None,
        failure_message: None,
        decline_code: None,
        disputed,
        refunds: vec![],
    }
}

fn subscription(id: &str, status: SubscriptionStatus, ending: bool) -> Subscription {
    Subscription {
        id: sub_id(id),
        customer: CustomerId::parse("cus_1").expect("id"),
        status,
        created: NOW - 86_400,
        current_period_end: Some(NOW + 86_400),
        cancel_at_period_end: ending,
        canceled_at: None,
        items: vec![],
        metadata: BTreeMap::new(),
        pause_collection: None,
    }
}

/// One customer: a paid charge (EUR 39.00), one half refunded, a disputed
/// one, a failed one; an active, a canceled and an ending subscription; an
/// open invoice with a page and a draft one without.
fn case() -> Case {
    let customer = CustomerId::parse("cus_1").expect("id");
    let mut failed = charge("ch_failed", 3900, 0, false);
    failed.status = ChargeStatus::Failed;
    let invoice = |id: &str, url: Option<&str>| Invoice {
        id: InvoiceId::parse(id).expect("id"),
        customer: customer.clone(),
        status: InvoiceStatus::Open,
        subscription: None,
        amount_due: eur(3900),
        amount_paid: eur(0),
        created: NOW - 60,
        attempt_count: 1,
        hosted_invoice_url: url.map(str::to_owned),
        charge: None,
    };
    Case {
        version: Case::VERSION,
        id: crate::domain::CaseId::from_random(7),
        requested_by: Actor::Slack(user("UREQUESTER")),
        message: None,
        snapshot: BillingSnapshot {
            query: LookupQuery::Customer(customer.clone()),
            customers: vec![CustomerRecord {
                id: customer.clone(),
                name: None,
                email: None,
                created: NOW - 86_400,
                country: None,
                preferred_locales: vec![],
                metadata: BTreeMap::new(),
                default_payment_method: None,
                subscriptions: vec![
                    subscription("sub_active", SubscriptionStatus::Active, false),
                    subscription("sub_gone", SubscriptionStatus::Canceled, false),
                    subscription("sub_ending", SubscriptionStatus::Active, true),
                ],
                invoices: vec![
                    invoice("in_open", Some("https://invoice.stripe.com/i/x")),
                    invoice("in_nopage", None),
                ],
                charges: vec![
                    charge("ch_paid", 3900, 0, false),
                    charge("ch_half", 3900, 1950, false),
                    charge("ch_disputed", 3900, 0, true),
                    failed,
                ],
            }],
            fetched_at: NOW,
        },
        triage: Triage::NeedsReview {
            evidence: vec![],
            missing: vec!["the customer's message".into()],
        },
        actions: vec![ProposedAction {
            key: crate::domain::test_key("a1"),
            kind: ActionKind::PortalLink {
                customer: customer.clone(),
            },
            summary: "portal".into(),
            rationale: String::new(),
            origin: Origin::Proposed,
        }],
        revenue: RevenueImpact::default(),
        followup: FollowUp {
            locale: "en".into(),
            text: String::new(),
        },
        product_gap: None,
        warnings: vec![],
        context: Default::default(),
    }
}

fn proposed() -> ActionStatus {
    ActionStatus::Proposed {
        approvals: vec![],
        expires_at: NOW + 100,
    }
}

fn statuses(case: &Case) -> Vec<(ActionKey, ActionStatus)> {
    case.actions
        .iter()
        .map(|a| (a.key.clone(), proposed()))
        .collect()
}

fn refund(id: &str, amount: Option<Money>) -> Choice {
    Choice::Refund {
        charge: charge_id(id),
        amount,
    }
}

fn check(choice: &Choice) -> Result<ActionKind, ChoiceRefusal> {
    let case = case();
    validate(&case, &statuses(&case), choice, NOW)
}

#[test]
fn any_refundable_charge_may_be_refunded_in_full_or_in_part() {
    assert_eq!(
        check(&refund("ch_paid", None)),
        Ok(ActionKind::Refund(RefundTarget {
            charge: charge_id("ch_paid"),
            amount: eur(3900)
        }))
    );
    assert_eq!(
        check(&refund("ch_half", None)),
        Ok(ActionKind::Refund(RefundTarget {
            charge: charge_id("ch_half"),
            amount: eur(1950)
        })),
        "all that is left"
    );
    assert_eq!(
        check(&refund("ch_paid", Some(eur(1000)))),
        Ok(ActionKind::Refund(RefundTarget {
            charge: charge_id("ch_paid"),
            amount: eur(1000)
        }))
    );
}

#[test]
fn refunds_are_refused_with_the_reason() {
    assert_eq!(
        check(&refund("ch_disputed", None)),
        Err(ChoiceRefusal::Disputed(charge_id("ch_disputed")))
    );
    assert_eq!(
        check(&refund("ch_half", Some(eur(1951)))),
        Err(ChoiceRefusal::MoreThanLeft {
            charge: charge_id("ch_half"),
            asked: eur(1951),
            left: eur(1950)
        })
    );
    assert_eq!(
        check(&refund("ch_paid", Some(usd(100)))),
        Err(ChoiceRefusal::OtherCurrency {
            charge: charge_id("ch_paid"),
            asked: usd(100),
            currency: Currency::parse("eur").expect("eur")
        })
    );
    assert_eq!(
        check(&refund("ch_other", None)),
        Err(ChoiceRefusal::NotThisCasesCharge(charge_id("ch_other")))
    );
    assert_eq!(
        check(&refund("ch_failed", None)),
        Err(ChoiceRefusal::NotPaid(charge_id("ch_failed")))
    );
    assert_eq!(
        check(&refund("ch_paid", Some(eur(0)))),
        Err(ChoiceRefusal::NotPositive)
    );
    let text = check(&refund("ch_disputed", None))
        .expect_err("refused")
        .to_string();
    assert!(text.contains("disputed"), "{text}");
}

#[test]
fn live_subscriptions_may_be_canceled_now_or_at_period_end() {
    for at_period_end in [false, true] {
        assert_eq!(
            check(&Choice::Cancel {
                subscription: sub_id("sub_active"),
                at_period_end
            }),
            Ok(ActionKind::CancelSubscription {
                subscription: sub_id("sub_active"),
                at_period_end
            })
        );
    }
    assert_eq!(
        check(&Choice::Cancel {
            subscription: sub_id("sub_gone"),
            at_period_end: false
        }),
        Err(ChoiceRefusal::NotLive {
            subscription: sub_id("sub_gone"),
            status: "canceled"
        })
    );
    assert_eq!(
        check(&Choice::Cancel {
            subscription: sub_id("sub_ending"),
            at_period_end: true
        }),
        Err(ChoiceRefusal::AlreadyEnding(sub_id("sub_ending")))
    );
    assert!(check(&Choice::Cancel {
        subscription: sub_id("sub_ending"),
        at_period_end: false
    })
    .is_ok());
    assert_eq!(
        check(&Choice::Cancel {
            subscription: sub_id("sub_elsewhere"),
            at_period_end: false
        }),
        Err(ChoiceRefusal::NotThisCasesSubscription(sub_id(
            "sub_elsewhere"
        )))
    );
}

#[test]
fn links_only_for_this_cases_customers_and_invoices_with_a_page() {
    let other = CustomerId::parse("cus_2").expect("id");
    assert_eq!(
        check(&Choice::PortalLink {
            customer: other.clone()
        }),
        Err(ChoiceRefusal::NotThisCasesCustomer(other))
    );
    let in_open = InvoiceId::parse("in_open").expect("id");
    assert_eq!(
        check(&Choice::InvoiceLink {
            invoice: in_open.clone()
        }),
        Ok(ActionKind::InvoiceLink { invoice: in_open })
    );
    let no_page = InvoiceId::parse("in_nopage").expect("id");
    assert_eq!(
        check(&Choice::InvoiceLink {
            invoice: no_page.clone()
        }),
        Err(ChoiceRefusal::NoHostedPage(no_page))
    );
}

#[test]
fn a_duplicate_of_a_pending_action_on_the_same_target_is_refused() {
    let mut case = case();
    let customer = CustomerId::parse("cus_1").expect("id");
    // The proposed portal link (a1) is pending.
    assert_eq!(
        validate(
            &case,
            &statuses(&case),
            &Choice::PortalLink {
                customer: customer.clone()
            },
            NOW
        ),
        Err(ChoiceRefusal::Duplicate {
            key: crate::domain::test_key("a1"),
            target: Target::PortalFor(customer.clone())
        })
    );
    // Once it ran, another link may be chosen.
    let done = vec![(
        crate::domain::test_key("a1"),
        ActionStatus::Succeeded {
            approved_by: vec![user("UAPPROVER1")],
            at: NOW,
            stripe_ids: vec![],
            notes: vec![],
        },
    )];
    assert!(validate(
        &case,
        &done,
        &Choice::PortalLink {
            customer: customer.clone()
        },
        NOW
    )
    .is_ok());

    // A chosen refund is pending: the same charge again is refused, in part too.
    let kind = validate(&case, &statuses(&case), &refund("ch_paid", None), NOW).expect("ok");
    let chosen = chosen_action(&case, kind, &user("UAPPROVER1"));
    case.actions.push(chosen);
    let err = validate(
        &case,
        &statuses(&case),
        &refund("ch_paid", Some(eur(100))),
        NOW,
    );
    assert_eq!(
        err,
        Err(ChoiceRefusal::Duplicate {
            key: crate::domain::test_key("c1"),
            target: Target::RefundOf(charge_id("ch_paid"))
        })
    );
    // Once that refund succeeded, nothing is left to refund on it.
    let ran: Vec<(ActionKey, ActionStatus)> = vec![(
        crate::domain::test_key("c1"),
        ActionStatus::Succeeded {
            approved_by: vec![user("UAPPROVER2")],
            at: NOW,
            stripe_ids: vec![],
            notes: vec![],
        },
    )];
    assert_eq!(
        validate(&case, &ran, &refund("ch_paid", Some(eur(100))), NOW),
        Err(ChoiceRefusal::MoreThanLeft {
            charge: charge_id("ch_paid"),
            asked: eur(100),
            left: eur(0)
        })
    );
    // An expired proposal no longer blocks a choice.
    let expired = vec![(
        crate::domain::test_key("c1"),
        ActionStatus::Proposed {
            approvals: vec![],
            expires_at: NOW - 1,
        },
    )];
    assert!(validate(&case, &expired, &refund("ch_paid", None), NOW).is_ok());
}

#[test]
fn a_chosen_action_is_keyed_apart_and_marked_with_its_chooser() {
    let mut case = case();
    let kind = validate(&case, &[], &refund("ch_paid", Some(eur(1000))), NOW).expect("ok");
    let first = chosen_action(&case, kind.clone(), &user("UAPPROVER1"));
    assert_eq!(first.key, "c1");
    assert_eq!(first.origin, Origin::ChosenBy(user("UAPPROVER1")));
    assert!(first.summary.contains("EUR 10.00"), "{}", first.summary);
    case.actions.push(first);
    assert_eq!(chosen_action(&case, kind, &user("UAPPROVER2")).key, "c2");
}

#[test]
fn the_menu_offers_what_would_be_accepted() {
    let case = case();
    let menu = menu(&case, &statuses(&case), NOW);
    assert_eq!(
        menu,
        vec![
            refund("ch_paid", None),
            refund("ch_half", None),
            Choice::Cancel {
                subscription: sub_id("sub_active"),
                at_period_end: false
            },
            Choice::Cancel {
                subscription: sub_id("sub_ending"),
                at_period_end: false
            },
            // Neither is paused: a pause is offered, not a resume.
            pause("sub_active", None),
            pause("sub_ending", None),
            // No portal link: a1 is pending for cus_1.
            Choice::InvoiceLink {
                invoice: InvoiceId::parse("in_open").expect("id")
            },
        ]
    );
}

#[test]
fn a_choice_reads_back_from_its_code() {
    let case = case();
    for choice in [
        refund("ch_paid", None),
        Choice::Cancel {
            subscription: sub_id("sub_active"),
            at_period_end: false,
        },
        Choice::Cancel {
            subscription: sub_id("sub_active"),
            at_period_end: true,
        },
        Choice::PortalLink {
            customer: CustomerId::parse("cus_1").expect("id"),
        },
        Choice::InvoiceLink {
            invoice: InvoiceId::parse("in_open").expect("id"),
        },
    ] {
        assert_eq!(Choice::parse_code(&choice.code()), Some(choice.clone()));
        assert!(choice.label(&case, &[]).chars().count() <= 75);
    }
    assert_eq!(
        Choice::parse_code("refund:ch_paid"),
        Some(refund("ch_paid", None)),
        "a refund's amount is typed in the modal, never read from a code"
    );
    for bad in ["", "refund:sub_1", "refund", "delete:cus_1", "portal:ch_1"] {
        assert_eq!(Choice::parse_code(bad), None, "{bad}");
    }
    assert_eq!(
        refund("ch_half", None).label(&case, &[]),
        "Refund ch_half (EUR 19.50 left)…"
    );
}

fn pause(sub: &str, resumes_at: Option<i64>) -> Choice {
    Choice::PauseCollection {
        subscription: sub_id(sub),
        pause: Some(Pause {
            behavior: PauseBehavior::KeepAsDraft,
            resumes_at,
        }),
    }
}

#[test]
fn a_pause_needs_a_live_unpaused_subscription_and_a_resume_date_ahead() {
    let mut case = case();
    let kind = validate(&case, &[], &pause("sub_active", Some(NOW + 86_400)), NOW).expect("ok");
    let action = chosen_action(&case, kind, &user("UAPPROVER1"));
    assert!(action.kind.is_money_moving());
    assert!(
        action
            .summary
            .contains("Pause collecting payment on sub_active (invoices kept as drafts) until "),
        "{}",
        action.summary
    );
    assert_eq!(
        validate(&case, &[], &pause("sub_active", Some(NOW)), NOW),
        Err(ChoiceRefusal::ResumeNotAhead)
    );
    let resume = Choice::PauseCollection {
        subscription: sub_id("sub_active"),
        pause: None,
    };
    assert_eq!(
        validate(&case, &[], &resume, NOW),
        Err(ChoiceRefusal::NotPaused(sub_id("sub_active")))
    );
    // Once paused, a resume is offered and another pause is refused.
    for sub in &mut case.snapshot.customers[0].subscriptions {
        sub.pause_collection = Some(Pause {
            behavior: PauseBehavior::Void,
            resumes_at: None,
        });
    }
    assert_eq!(
        validate(&case, &[], &pause("sub_active", None), NOW),
        Err(ChoiceRefusal::AlreadyPaused(sub_id("sub_active")))
    );
    assert!(validate(&case, &[], &resume, NOW).is_ok());
    assert!(menu(&case, &[], NOW).contains(&resume));
    assert_eq!(Choice::parse_code(&resume.code()), Some(resume));
}
