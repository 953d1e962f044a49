//! The audit witness at work (`AUDIT_WITNESS`): each replica publishes the
//! chain's head outside Redis every `AUDIT_WITNESS_INTERVAL` when it moved
//! since that replica last published it, and once more on shutdown; `audit
//! verify --witness` reads every head back and checks the stored chain
//! against them. Several replicas publishing the same head is harmless.
//! The record and the check are `domain::trail::witness`'s, the file and
//! the channel `crate::witness`'s.

use crate::domain::trail::witness::{self, StoredChain, WitnessHead, WitnessReport};
use crate::domain::trail::VerifyError;
use crate::domain::AuditSigningKey;
use crate::metrics::{Metrics, OutcomeLabels};
use crate::store::audit::AuditHead;
use crate::store::{Store, StoreError};
use crate::witness::{Witness, WitnessError};
use std::sync::Arc;
use std::time::Duration;

/// Why a head could not be published, or the witness not checked.
#[derive(Debug, thiserror::Error)]
pub enum WitnessFailure {
    #[error("reading the audit log from Redis failed")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Witness(#[from] WitnessError),
}

/// One replica's publisher of the head.
pub struct Publisher {
    witness: Witness,
    key: Option<AuditSigningKey>,
    store: Store,
    metrics: Metrics,
    /// This replica's instance id, the record's `by`.
    instance: String,
    /// The head this replica last published.
    last: tokio::sync::Mutex<Option<AuditHead>>,
}

impl Publisher {
    pub fn new(
        witness: Witness,
        key: Option<AuditSigningKey>,
        store: Store,
        metrics: Metrics,
        instance: String,
    ) -> Self {
        Self {
            witness,
            key,
            store,
            metrics,
            instance,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Publishes the head when it moved since this replica last published
    /// it (an empty log has none); returns the seq published. Counts the
    /// outcome in `audit_witness_heads`.
    ///
    /// # Errors
    /// Redis could not be read, or the witness not written.
    pub async fn publish_if_moved(&self) -> Result<Option<u64>, WitnessFailure> {
        let result = self.publish_moved_head().await;
        let outcome = match &result {
            Ok(Some(_)) => "published",
            Ok(None) => return result,
            Err(_) => "failed",
        };
        self.metrics
            .witness_heads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        result
    }

    async fn publish_moved_head(&self) -> Result<Option<u64>, WitnessFailure> {
        let mut last = self.last.lock().await;
        let Some(head) = self.store.audit_head().await? else {
            return Ok(None);
        };
        if last.as_ref() == Some(&head) {
            return Ok(None);
        }
        let record = WitnessHead::new(
            head.seq,
            &head.hash,
            super::now(),
            &self.instance,
            self.key.as_ref(),
        );
        self.witness.publish(&record).await?;
        let seq = head.seq;
        *last = Some(head);
        Ok(Some(seq))
    }

    /// [`Publisher::publish_if_moved`] now and then every `every`, until
    /// the task is stopped; a failure is logged and counted, and never
    /// stops the bot.
    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.publish_logged("periodic").await;
        }
    }

    /// Publishes when the head moved, logging a failure: each tick of
    /// [`Publisher::run`], and the last publication on shutdown.
    pub async fn publish_logged(&self, when: &'static str) {
        match self.publish_if_moved().await {
            Ok(Some(seq)) => tracing::info!(seq, when, "audit head published to the witness"),
            Ok(None) => {}
            Err(e) => super::log_error(
                &e,
                &super::new_reference(),
                "could not publish the audit head to the witness (AUDIT_WITNESS); will try again",
            ),
        }
    }
}

/// What `audit verify --witness` found.
#[derive(Debug)]
pub struct Verified {
    /// The chain's own check, as plain `audit verify`.
    pub chain: Result<u64, VerifyError>,
    /// The check against the witness; `None` when the chain itself is
    /// broken (its first bad entry says more).
    pub witness: Option<WitnessReport>,
}

/// Reads every head `witness` holds, walks the stored chain once (noting
/// the entries the heads name) and checks one against the other.
///
/// # Errors
/// Redis or the witness could not be read.
pub async fn verify(
    store: &Store,
    witness: &Witness,
    key: Option<&AuditSigningKey>,
) -> Result<Verified, WitnessFailure> {
    // The heads first: each was read from Redis before it was published,
    // so before this walk begins, which covers the log as it is then.
    let published = witness.read_all().await?;
    let wanted = witness::seqs_named(&published);
    let (chain, stored): (_, StoredChain) = store.verify_audit_noting(&wanted).await?;
    let report = chain
        .is_ok()
        .then(|| witness::check(&published, &stored, key));
    Ok(Verified {
        chain,
        witness: report,
    })
}
