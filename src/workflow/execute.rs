//! Execution of a claimed action: runs the steps of its [`Plan`] (fixed at
//! the write-ahead intent), and never guesses what Stripe did. Before each
//! money step it reads Stripe (the charge's refunds, the subscription) and
//! takes a step as done only when Stripe's metadata names this case, action
//! and step. When Stripe's answer is unclear (timeout, reset, 5xx, 429, 409),
//! the action moves to `Verifying` and Stripe is asked what happened before
//! anyone is told; `Failed` is said only when Stripe confirms nothing was
//! done (or refused the request outright).
//!
//! The claim (who may run it) is the approval's and the reconciler's job;
//! this module runs what it is handed and records the result with a
//! compare-and-set from the state it was handed.

use super::action_state::{audit, claim, Claim};
use super::case_card::{self, refresh, CardPlace, CaseCard};
use super::{log_error, new_reference, now, Deps, WorkflowError};
use crate::audit::{
    AuditEvent, CaseClosed, ExecutionConfirmed, ExecutionFailed, ExecutionSucceeded,
    ExecutionVerifying, FollowUpPosted, PortalLinkCreated,
};
use crate::card::thread::{self, DraftOccasion};
use crate::domain::{
    ActionKind, ActionStatus, Actor, Case, CustomerId, InvoiceId, Money, ProposedAction,
    SubscriptionId,
};
use crate::followup::{self, DoneAction, Locale};
use crate::plan::{self, Observed, Plan, PlannedStep, Step, StepName};
use crate::store::StoreError;
use crate::stripe::StripeError;
use std::collections::HashMap;
use std::time::Duration;

/// How a run treats steps not yet recorded as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A fresh claim: check Stripe, then send what is not done.
    Execute,
    /// The reconciler resumes an interrupted run: as `Execute`, but a step
    /// Stripe cannot be asked about may have been sent already.
    Resume,
    /// The reconciler settles a `Verifying` action: ask Stripe, send nothing.
    VerifyOnly,
}

/// Pauses between attempts to ask Stripe what happened after an unclear
/// answer; when all fail, the action stays `Verifying` for the reconciler.
const VERIFY_PAUSES: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// What the steps of one run came to.
#[derive(Debug, Clone, Default)]
struct Progress {
    stripe_ids: Vec<String>,
    /// What Stripe confirmed, one line each, for the card and the answer.
    notes: Vec<String>,
    refunded: Option<Money>,
    canceled: Option<SubscriptionId>,
    /// Shown only to the approver (a portal session URL is a credential).
    private: Option<String>,
    /// Audit text; never a URL.
    audit_note: Option<String>,
}

/// How a run ended.
#[derive(Debug)]
enum End {
    /// Every step is confirmed done by Stripe.
    Done,
    /// Nothing was done by this step, as Stripe (or our check of Stripe's
    /// state before sending) says.
    Refused { why: String },
    /// Stripe's answer was unclear; asking Stripe showed the step did nothing.
    NothingHappened { step: StepName, why: String },
    /// Stripe's answer was unclear and Stripe could not be asked yet.
    Unknown { step: StepName, why: String },
    /// Redis failed: the state could not be recorded.
    Unrecorded(StoreError),
}

/// The run's moving parts: the state it owns, what is done so far.
struct Runner<'a> {
    deps: &'a Deps,
    case: &'a Case,
    action: &'a ProposedAction,
    plan: &'a Plan,
    /// Where the case's card is, read once by the click or the reconciler.
    place: &'a CardPlace,
    /// The stored state this run owns; every move is a compare-and-set from it.
    current: ActionStatus,
    done: HashMap<StepName, String>,
    progress: Progress,
    /// A write went to Stripe in this run (for what Redis trouble means).
    sent: bool,
    /// The approvers Stripe's metadata names for work an earlier run did,
    /// when they are not this run's: the record names them.
    approved_on_stripe: Option<Vec<crate::domain::SlackUserId>>,
}

/// What a run acts on: the action of the case, its fixed plan, and where
/// the case's card is.
pub struct Job<'a> {
    pub case: &'a Case,
    pub action: &'a ProposedAction,
    pub plan: &'a Plan,
    pub place: &'a CardPlace,
}

/// Runs the job's plan for an action already claimed into `claimed`,
/// records the result, refreshes the card and returns what the approver is
/// told.
///
/// # Errors
/// Only [`WorkflowError::User`], when Redis failed after Stripe may have
/// acted: its text says what Stripe did and that the bot finishes the record.
pub async fn run(
    deps: &Deps,
    job: Job<'_>,
    claimed: ActionStatus,
    actor: Actor,
    mode: Mode,
) -> Result<String, WorkflowError> {
    let Job {
        case,
        action,
        plan,
        place,
    } = job;
    let mut runner = Runner {
        deps,
        case,
        action,
        plan,
        place,
        current: claimed,
        done: HashMap::new(),
        progress: Progress::default(),
        sent: false,
        approved_on_stripe: None,
    };
    let end = match deps.store.steps(&case.id, &action.key).await {
        Ok(done) => {
            runner.done = done;
            runner.steps(mode).await
        }
        Err(e) => End::Unrecorded(e),
    };
    runner.finish(end, actor).await
}

impl Runner<'_> {
    async fn steps(&mut self, mode: Mode) -> End {
        for (i, planned) in self.plan.steps.iter().enumerate() {
            if let Some(id) = self.done.get(&planned.name).cloned() {
                self.note_done(planned, id, None, None);
                continue;
            }
            if i > 0 {
                if let Err(e) = self.renew_lease().await {
                    return End::Unrecorded(e);
                }
            }
            let end = match &planned.step {
                Step::PortalSession { customer } => self.portal(planned, customer).await,
                _ => self.money_step(planned, mode).await,
            };
            if let Some(end) = end {
                return end;
            }
        }
        match &self.action.kind {
            ActionKind::InvoiceLink { invoice } => self.invoice_link(invoice),
            ActionKind::ClarifyBillingModel => self.clarify_billing_model(),
            ActionKind::CloseNoAction => self.close_no_action().await,
            // Every other kind's work is its plan's Stripe steps, done above.
            _ => {}
        }
        End::Done
    }

    /// One refund or cancellation; `None` when it is done and the run goes on.
    async fn money_step(&mut self, planned: &PlannedStep, mode: Mode) -> Option<End> {
        match self.observe(planned).await {
            Ok(Observed::Ours {
                id,
                amount,
                approved_by,
            }) => {
                return self
                    .found_before_sending(planned, id, amount, approved_by)
                    .await
            }
            Ok(Observed::DoneByOthers(note)) => return self.done_by_others(planned, note).await,
            Ok(Observed::Absent { proceed, others }) => {
                for other in others {
                    if !self.progress.notes.contains(&other) {
                        self.progress.notes.push(other);
                    }
                }
                if mode == Mode::VerifyOnly {
                    return Some(End::NothingHappened {
                        step: planned.name.clone(),
                        why: "the earlier answer was unclear".into(),
                    });
                }
                if let Err(why) = proceed {
                    return Some(End::Refused { why });
                }
            }
            Err(e) if mode == Mode::Execute => {
                return Some(End::Refused {
                    why: format!(
                        "Stripe could not be read before {}, so nothing was sent ({e})",
                        planned.name
                    ),
                });
            }
            Err(e) => {
                return Some(End::Unknown {
                    step: planned.name.clone(),
                    why: e.to_string(),
                })
            }
        }
        match self.send(planned).await {
            Ok(id) => self.confirmed(planned, id, None, "Stripe's answer").await,
            Err(e) if e.is_unclear() => self.verify(planned, &e).await,
            Err(e) => Some(End::Refused {
                why: format!("Stripe refused {}: {e}", planned.name),
            }),
        }
    }

    /// After an unclear answer: `Verifying`, then ask Stripe.
    async fn verify(&mut self, planned: &PlannedStep, error: &StripeError) -> Option<End> {
        let why = unclear_reason(error);
        tracing::warn!(step = %planned.name, error = %error, "unclear answer from Stripe; asking Stripe what happened");
        if let Err(e) = self.enter_verifying(&planned.name, &why).await {
            return Some(End::Unrecorded(e));
        }
        let mut last = None;
        for pause in VERIFY_PAUSES {
            tokio::time::sleep(pause).await;
            match self.observe(planned).await {
                Ok(Observed::Ours { id, amount, .. }) => {
                    let confirmed = ExecutionConfirmed {
                        step: planned.name.clone(),
                        found: Some(id.clone()),
                        after: why.clone(),
                        done_on_stripe: None,
                        approved_on_stripe: Vec::new(),
                    };
                    if let Err(e) = self.audit(confirmed, vec![id.clone()]).await {
                        return Some(End::Unrecorded(e));
                    }
                    return self
                        .confirmed(
                            planned,
                            id,
                            amount,
                            &format!("confirmed with Stripe after {why}"),
                        )
                        .await;
                }
                Ok(Observed::DoneByOthers(note)) => {
                    // Done on Stripe, but its metadata does not name this step:
                    // neither claimed nor called "nothing happened".
                    let confirmed = ExecutionConfirmed {
                        step: planned.name.clone(),
                        found: None,
                        after: why.clone(),
                        done_on_stripe: Some(note.clone()),
                        approved_on_stripe: Vec::new(),
                    };
                    if let Err(e) = self.audit(confirmed, vec![]).await {
                        return Some(End::Unrecorded(e));
                    }
                    return self.done_by_others(planned, note).await;
                }
                Ok(Observed::Absent { .. }) => {
                    let confirmed = ExecutionConfirmed {
                        step: planned.name.clone(),
                        found: None,
                        after: why.clone(),
                        done_on_stripe: None,
                        approved_on_stripe: Vec::new(),
                    };
                    if let Err(e) = self.audit(confirmed, vec![]).await {
                        return Some(End::Unrecorded(e));
                    }
                    return Some(End::NothingHappened {
                        step: planned.name.clone(),
                        why,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        let read = last.map(|e| e.to_string()).unwrap_or_default();
        Some(End::Unknown {
            step: planned.name.clone(),
            why: format!("{why}; Stripe could not be asked yet: {read}"),
        })
    }

    /// A step already on Stripe with this step's metadata before anything
    /// was sent: an earlier run made it and its record is not in Redis (a
    /// crash before the record, or a Redis failover that lost it). Audited
    /// as found, naming the approvers Stripe's metadata names; when they are
    /// not this run's, the record names them (see `finish`), not who
    /// clicked now.
    async fn found_before_sending(
        &mut self,
        planned: &PlannedStep,
        id: String,
        amount: Option<Money>,
        approved_by: Vec<crate::domain::SlackUserId>,
    ) -> Option<End> {
        let earlier = !approved_by.is_empty() && approved_by != approved_by_of(&self.current);
        let found = ExecutionConfirmed {
            step: planned.name.clone(),
            found: Some(id.clone()),
            after: "found on Stripe before sending: an earlier run made it, and Redis had no record of it"
                .to_owned(),
            done_on_stripe: None,
            approved_on_stripe: approved_by.clone(),
        };
        if let Err(e) = self.audit(found, vec![id.clone()]).await {
            return Some(End::Unrecorded(e));
        }
        let how = if earlier {
            let names = approved_by
                .iter()
                .map(|u| format!("<@{u}>"))
                .collect::<Vec<_>>()
                .join(", ");
            self.approved_on_stripe = Some(approved_by);
            format!(
                "found on Stripe: made earlier under the approval of {names}; nothing sent again"
            )
        } else {
            "confirmed with Stripe".to_owned()
        };
        self.confirmed(planned, id, amount, &how).await
    }

    /// A step Stripe confirmed: recorded, and the run goes on (back in
    /// `Executing` if it was being verified).
    async fn confirmed(
        &mut self,
        planned: &PlannedStep,
        id: String,
        amount: Option<Money>,
        how: &str,
    ) -> Option<End> {
        // Noted first: even if Redis fails now, the approver hears what Stripe did.
        self.note_done(planned, id.clone(), amount, Some(how));
        if let Err(end) = self.record(planned, id).await {
            return Some(end);
        }
        self.back_to_executing().await
    }

    /// After a confirmed step, a `Verifying` action runs on as `Executing`.
    async fn back_to_executing(&mut self) -> Option<End> {
        if let ActionStatus::Verifying { approved_by, .. } = &self.current {
            let executing = ActionStatus::Executing {
                approved_by: approved_by.clone(),
                at: now(),
                owner: Some(self.deps.instance.clone()),
            };
            match self.claim(&executing).await {
                Ok(Claim::Won) => self.current = executing,
                Ok(Claim::Lost) => {}
                Err(e) => return Some(End::Unrecorded(e)),
            }
        }
        None
    }

    /// A step whose effect is already on Stripe, not by this action: noted
    /// as such and recorded, so the run goes on and never sends it.
    async fn done_by_others(&mut self, planned: &PlannedStep, note: String) -> Option<End> {
        self.progress.notes.push(note);
        if let Err(end) = self.record(planned, planned.step.target()).await {
            return Some(end);
        }
        self.back_to_executing().await
    }

    async fn record(&mut self, planned: &PlannedStep, id: String) -> Result<(), End> {
        self.deps
            .store
            .record_step(&self.case.id, &self.action.key, &planned.name, &id)
            .await
            .map_err(End::Unrecorded)?;
        self.done.insert(planned.name.clone(), id);
        Ok(())
    }

    /// Notes a step Stripe did; `refunded` is Stripe's own amount when known.
    fn note_done(
        &mut self,
        planned: &PlannedStep,
        id: String,
        refunded: Option<Money>,
        how: Option<&str>,
    ) {
        let how = how.map(|h| format!(" ({h})")).unwrap_or_default();
        if let Some(note) = plan::done_note(&planned.step, &id, refunded) {
            self.progress.notes.push(format!("{note}{how}"));
        }
        match &planned.step {
            Step::Refund { amount, .. } => {
                let amount = refunded.unwrap_or(*amount);
                self.progress.refunded = Some(match self.progress.refunded {
                    Some(t) if t.currency == amount.currency => {
                        t.with_minor(t.minor + amount.minor)
                    }
                    Some(t) => t,
                    None => amount,
                });
            }
            Step::Cancel { subscription, .. } => {
                self.progress.canceled = Some(subscription.clone());
            }
            _ => {}
        }
        if !id.is_empty() && !self.progress.stripe_ids.contains(&id) {
            self.progress.stripe_ids.push(id);
        }
    }

    /// Asks Stripe about one step: ours by metadata only (`plan::observe`).
    async fn observe(&self, planned: &PlannedStep) -> Result<Observed, StripeError> {
        let state = self.deps.stripe.step_state(&planned.step).await?;
        Ok(plan::observe(
            planned,
            &state,
            &self.case.id,
            &self.action.key,
        ))
    }

    /// Sends one step exactly as planned.
    async fn send(&mut self, planned: &PlannedStep) -> Result<String, StripeError> {
        self.sent = true;
        self.deps.stripe.apply(planned).await
    }

    /// A portal session moves no money: any failure is shown as such and
    /// can be approved again.
    async fn portal(&mut self, planned: &PlannedStep, customer: &CustomerId) -> Option<End> {
        match self.send(planned).await {
            Ok(url) => {
                self.progress.private = Some(format!(
                    "Billing-portal link for {customer}, for you only and valid for a short time: {url}\nDo not paste it in a channel or a ticket; it logs whoever holds it into the customer's portal"
                ));
                self.progress.audit_note =
                    Some("portal session created; URL not recorded".to_owned());
                // A separate entry, as the contract asks: a link was created.
                // Best effort: the result entry records it as well.
                let shown_to = self.plan.approved_by.clone();
                let _ = self
                    .audit_as(
                        Actor::System,
                        PortalLinkCreated { shown_to },
                        vec![customer.to_string()],
                    )
                    .await;
                None
            }
            Err(StripeError::PortalNotConfigured { .. }) => {
                let invoice = self.case.snapshot.invoices().find(|i| {
                    i.status == crate::domain::InvoiceStatus::Open && i.hosted_invoice_url.is_some()
                });
                self.progress.private = Some(match invoice.and_then(|i| i.hosted_invoice_url.as_ref().map(|u| (i, u))) {
                    Some((invoice, url)) => format!(
                        "This Stripe account has no customer portal configured (Settings > Billing > Customer portal). Instead, the customer can pay open invoice {} on its hosted page: {url}",
                        invoice.id
                    ),
                    None => "This Stripe account has no customer portal configured (Settings > Billing > Customer portal), and the customer has no open invoice to link to; ask them to reply with what they need".to_owned(),
                });
                self.progress.audit_note =
                    Some("no portal configured; offered the hosted invoice page".to_owned());
                None
            }
            Err(e) => Some(End::Refused {
                why: format!("Stripe: {e}"),
            }),
        }
    }

    /// An invoice link: the hosted page, read from the case's snapshot.
    fn invoice_link(&mut self, invoice: &InvoiceId) {
        let url = self
            .case
            .snapshot
            .invoices()
            .find(|i| &i.id == invoice)
            .and_then(|i| i.hosted_invoice_url.clone());
        self.progress.private = Some(match url {
            Some(url) => {
                format!("Hosted page of {invoice} (safe to send to the customer): {url}")
            }
            None => format!("{invoice} has no hosted page; open it in the Stripe dashboard"),
        });
        self.progress.stripe_ids.push(invoice.to_string());
    }

    /// No Stripe change: the draft in the thread explains the billing model.
    fn clarify_billing_model(&mut self) {
        self.progress.private = Some(
            "Noted: explain the billing model to the customer; the draft is in the thread"
                .to_owned(),
        );
    }

    /// Closes the case: audited (best effort; the result entry records it too).
    async fn close_no_action(&mut self) {
        self.progress.private = Some("Case closed with no action".to_owned());
        let _ = self.audit_as(Actor::System, CaseClosed {}, vec![]).await;
    }

    /// Restarts the lease before a further step, so that a long multi-step
    /// run is not taken over by another replica while it is still running.
    async fn renew_lease(&mut self) -> Result<(), StoreError> {
        let renewed = match &self.current {
            ActionStatus::Executing {
                approved_by, owner, ..
            } => ActionStatus::Executing {
                approved_by: approved_by.clone(),
                at: now(),
                owner: owner.clone(),
            },
            ActionStatus::Verifying {
                approved_by,
                owner,
                reason,
                ..
            } => ActionStatus::Verifying {
                approved_by: approved_by.clone(),
                at: now(),
                owner: owner.clone(),
                reason: reason.clone(),
            },
            _ => return Ok(()),
        };
        if renewed != self.current && self.claim(&renewed).await? == Claim::Won {
            self.current = renewed;
        }
        Ok(())
    }

    /// Moves the action from the state this run owns to `to`.
    async fn claim(&self, to: &ActionStatus) -> Result<Claim, StoreError> {
        claim(
            &self.deps.store,
            &self.case.id,
            &self.action.key,
            &self.current,
            to,
        )
        .await
    }

    async fn enter_verifying(&mut self, step: &StepName, why: &str) -> Result<(), StoreError> {
        let approved_by = approved_by_of(&self.current);
        let verifying = ActionStatus::Verifying {
            approved_by,
            at: now(),
            owner: Some(self.deps.instance.clone()),
            reason: why.to_owned(),
        };
        if self.claim(&verifying).await? == Claim::Won {
            self.current = verifying;
            let verifying = ExecutionVerifying {
                step: step.clone(),
                reason: why.to_owned(),
            };
            self.audit(verifying, vec![]).await?;
            refresh(self.deps, self.place, self.case).await;
        }
        Ok(())
    }

    async fn audit(
        &self,
        event: impl Into<AuditEvent>,
        ids: Vec<String>,
    ) -> Result<(), StoreError> {
        self.audit_as(Actor::System, event, ids).await
    }

    async fn audit_as(
        &self,
        actor: Actor,
        event: impl Into<AuditEvent>,
        ids: Vec<String>,
    ) -> Result<(), StoreError> {
        audit(
            self.deps,
            &self.case.id,
            &self.action.key,
            event,
            actor,
            ids,
        )
        .await
        .map_err(|e| match e {
            WorkflowError::Store(e) => e,
            other => StoreError::Corrupt(other.to_string()),
        })
    }

    /// Records how the run ended and says it: card, audit, approver.
    async fn finish(mut self, end: End, actor: Actor) -> Result<String, WorkflowError> {
        let actor_kind = actor.clone();
        let approved_by = self
            .approved_on_stripe
            .clone()
            .unwrap_or_else(|| approved_by_of(&self.current));
        let t = now();
        let summary = &self.action.summary;
        let notes = self.progress.notes.clone();
        let said = if notes.is_empty() {
            String::new()
        } else {
            format!(" · {}", notes.join(" · "))
        };
        let (next, event, answer, outcome): (_, AuditEvent, _, _) = match &end {
            End::Done => (
                ActionStatus::Succeeded {
                    approved_by,
                    at: t,
                    stripe_ids: self.progress.stripe_ids.clone(),
                    notes: notes.clone(),
                },
                ExecutionSucceeded {
                    action: self.action.kind.name().to_owned(),
                    refunded_minor: self.progress.refunded.map(|m| m.minor),
                    note: self.progress.audit_note.clone(),
                    confirmed: notes.clone(),
                }
                .into(),
                self.progress
                    .private
                    .clone()
                    .unwrap_or_else(|| format!("Done: {summary}{said}")),
                "succeeded",
            ),
            End::Refused { why } => {
                let reference = new_reference();
                tracing::warn!(reference, error = %why, "action refused");
                (
                    ActionStatus::Failed { approved_by, at: t, error: format!("{why} (ref {reference})"), notes: notes.clone() },
                    ExecutionFailed::refused(&self.action.kind, why, &reference, &notes).into(),
                    format!("The action failed: {why}. The card shows it; approve again to retry (ref {reference}){said}"),
                    "failed",
                )
            }
            End::NothingHappened { step, why } => {
                let error = format!("nothing happened on Stripe for {step} ({why}, confirmed with Stripe); approve again");
                (
                    ActionStatus::Failed { approved_by, at: t, error: error.clone(), notes: notes.clone() },
                    ExecutionFailed::nothing_happened(&self.action.kind, why, step, &notes).into(),
                    format!("Stripe did not answer clearly ({why}); the bot asked Stripe: nothing happened for {step}. Approve again to retry{said}"),
                    "failed",
                )
            }
            End::Unknown { step, why } => {
                if !matches!(self.current, ActionStatus::Verifying { .. }) {
                    if let Err(e) = self.enter_verifying(step, why).await {
                        return Err(self.unrecorded(&e));
                    }
                }
                self.count("verifying");
                return Ok(format!(
                    "Stripe did not answer clearly for {step} ({why}). The card says it is being checked; the bot will ask Stripe by itself and update the card. Do not redo it by hand{said}"
                ));
            }
            End::Unrecorded(e) => return Err(self.unrecorded(e)),
        };
        self.count(outcome);
        let ids = self.progress.stripe_ids.clone();
        let recorded: Result<bool, StoreError> = async {
            if self.claim(&next).await? == Claim::Lost {
                return Ok(false);
            }
            self.audit_as(actor, event, ids).await?;
            Ok(true)
        }
        .await;
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                return Ok(format!(
                    "Another replica took this action over; the card shows where it stands{said}"
                ))
            }
            Err(e) => return Err(self.unrecorded(&e)),
        }
        refresh(self.deps, self.place, self.case).await;
        if matches!(end, End::Done) {
            self.post_updated_draft().await;
        }
        if matches!(actor_kind, Actor::System) {
            // Finished by the reconciler: nobody is waiting for an answer, so
            // the card's thread says what Stripe did (never a portal URL).
            let public = match &end {
                End::Done => format!("Done: {summary}{said}"),
                _ => answer.clone(),
            };
            self.tell_thread(&format!(
                "{} (finished after the replica running it stopped): {public}",
                self.action.key
            ))
            .await;
        }
        Ok(answer)
    }

    /// Posts `text` in the card's thread. Best effort: the state is recorded.
    async fn tell_thread(&self, text: &str) {
        if let Err(e) = case_card::post_in_thread(self.deps, self.place, text.to_owned()).await {
            log_error(
                &e,
                &new_reference(),
                "could not post the reconciled outcome",
            );
        }
    }

    fn count(&self, outcome: &'static str) {
        self.deps
            .metrics
            .actions
            .get_or_create(&crate::metrics::ActionLabels {
                action: self.action.kind.name(),
                outcome,
            })
            .inc();
    }

    /// Redis failed after Stripe may have acted: say what Stripe did; the
    /// reconciler verifies with Stripe and finishes the record.
    fn unrecorded(&self, error: &StoreError) -> WorkflowError {
        let reference = new_reference();
        log_error(error, &reference, "could not record an executed action");
        let did = if !self.progress.notes.is_empty() {
            format!("Stripe: {}", self.progress.notes.join(" · "))
        } else if !self.sent {
            "Nothing was sent to Stripe in this run".to_owned()
        } else {
            "Stripe may have acted (its answer could not be recorded)".to_owned()
        };
        WorkflowError::User(format!(
            "{did}. The bot could not record it (Redis unavailable); it will confirm it with Stripe and finish the record by itself. Do not redo it by hand (ref {reference})"
        ))
    }

    /// Posts the follow-up draft again in the card's thread, now stating what
    /// was done (the refund amount, the cancellation) and when (now: the time
    /// the result was recorded).
    async fn post_updated_draft(&self) {
        let (deps, case, key) = (self.deps, self.case, &self.action.key);
        let result: Result<(), WorkflowError> = async {
            if self.place.location().is_none() {
                return Ok(());
            }
            // Over every action of the case as stored now (one chosen or
            // added since included, rejected and expired ones left out), so
            // the second action's draft does not forget the first; this
            // action's result is what Stripe just confirmed, earlier ones
            // what the stored snapshot shows (never more). Redis unreadable:
            // the case at hand.
            let t = now();
            let CaseCard {
                case: base,
                statuses,
            } = CaseCard::reload(deps, case).await?;
            let ran = DoneAction {
                key: key.clone(),
                refunded: self.progress.refunded,
                canceled: self.progress.canceled.clone(),
                at: t,
            };
            let (standing, done) = followup::progress_after_run(
                &case.id,
                &base.actions,
                &statuses,
                &base.snapshot,
                ran,
                t,
            );
            // The redraft keeps the case's draft language.
            let locale = Locale::from_tag(&base.followup.locale).unwrap_or(Locale::En);
            let draft = followup::draft(
                &base.triage,
                &base.snapshot,
                &standing,
                &done,
                locale,
                &deps.followup,
            );
            let text = thread::draft_message(
                DraftOccasion::AfterRun { key: key.as_str() },
                &draft.locale,
                None,
                &draft.text,
                None,
            );
            case_card::post_in_thread(deps, self.place, text).await?;
            audit(
                deps,
                &case.id,
                key,
                FollowUpPosted {
                    locale: draft.locale.clone(),
                },
                Actor::System,
                vec![],
            )
            .await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            log_error(&e, &new_reference(), "could not post the updated draft");
        }
    }
}

/// The approvers of a claimed state.
fn approved_by_of(status: &ActionStatus) -> Vec<crate::domain::SlackUserId> {
    match status {
        ActionStatus::Executing { approved_by, .. }
        | ActionStatus::Verifying { approved_by, .. }
        | ActionStatus::Succeeded { approved_by, .. }
        | ActionStatus::Failed { approved_by, .. } => approved_by.clone(),
        ActionStatus::Proposed { approvals, .. } => approvals.clone(),
        ActionStatus::Rejected { by, .. } => vec![by.clone()],
        ActionStatus::Expired { .. } => Vec::new(),
    }
}

/// Short words for an unclear answer, for the card and the audit.
fn unclear_reason(error: &StripeError) -> String {
    match error {
        StripeError::TimedOut { .. } => "no answer in time".to_owned(),
        StripeError::Unreachable { .. } => "the connection closed before an answer".to_owned(),
        StripeError::Unreadable { .. } => "an unreadable answer".to_owned(),
        StripeError::Rejected { status, .. } => format!("HTTP {status}"),
        other => other.to_string(),
    }
}
