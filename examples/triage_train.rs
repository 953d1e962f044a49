//! Trains the screening models of `src/triage/screen.rs` on the labelled
//! triage sets and writes `src/triage/screen.bin`.
//!
//! Reads `../shared/data/triage-corpus/messages.jsonl` and every
//! `tests/fixtures/triage-*/messages.jsonl` (items of `no_customer` left out:
//! their label says nothing of the words). Targets, from each item's labels:
//!
//! - *instruction*: labelled `needs_review` and tagged `injection`,
//!   `impersonation` or `other-customer` (corpus rules 2-3);
//! - *threat*: any other item whose `reason` speaks of a chargeback, a
//!   threat, an escalation, a lawyer, legal action, a regulator, an
//!   ombudsman, the press or a court, or of the bank where it is labelled
//!   `needs_review`;
//! - *cancel*: `cancel_ok`, on every state but the duplicates (whose extra
//!   subscription is cancelled whatever is said);
//! - *refund*: `refund_ok`, on the states where the words and not the
//!   state alone decide a refund (no duplicate, dispute, failed payment or
//!   charge after cancelling);
//! - *asks* and *problem* (the fallback models), on the states where the
//!   words decide (no anomaly, no team): labelled
//!   `missing_self_serve_control`, and labelled `product_failure`.
//!
//! Each message is read as the bot screens it: the ids and emails of its
//! state's customer (`tests/fixtures/corpus/<state>.json`) masked
//! (`screen::mask_own`).
//!
//! `cargo run --release --example triage_train` trains on everything and
//! writes the file. `… -- --cv` writes nothing: it leaves each blind set
//! out in turn, trains on the rest, and prints what the screen would have
//! held back or doubted on the set left out (what a fresh set meets).

use billing_triage::domain::BillingSnapshot;
use billing_triage::triage::screen::{self, Features, Models};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EPOCHS: usize = 30;
const L2: f32 = 1e-3;

fn epochs() -> usize {
    std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(EPOCHS)
}
fn l2() -> f32 {
    std::env::var("L2")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(L2)
}

#[derive(Deserialize)]
struct Item {
    id: String,
    state: String,
    message: String,
    label: String,
    reason: String,
    refund_ok: bool,
    cancel_ok: bool,
    tags: Vec<String>,
}

/// States whose billing facts alone decide the label (corpus rules 4-5).
const STATE_DECIDES: [&str; 6] = [
    "duplicate_same_customer",
    "duplicate_across_customers",
    "failed_payment_incomplete",
    "past_due_expired_card",
    "canceled_then_charged",
    "disputed_charge",
];

struct Example {
    set: String,
    item: Item,
    features: Features,
}

impl Example {
    fn instruction(&self) -> bool {
        self.item.label == "needs_review"
            && self
                .item
                .tags
                .iter()
                .any(|t| matches!(t.as_str(), "injection" | "impersonation" | "other-customer"))
    }

    fn threat(&self) -> bool {
        let reason = self.item.reason.to_lowercase();
        let threat = [
            "chargeback",
            "threat",
            "escalat",
            "lawyer",
            "legal",
            "regulator",
            "ombuds",
            "press",
            "court",
            "attorney",
        ]
        .iter()
        .any(|w| reason.contains(w))
            || (self.item.label == "needs_review" && reason.contains("bank"));
        threat && !self.instruction()
    }

    /// Does the customer ask to end a subscription (`cancel_ok`)? `None` on
    /// a duplicate: the state cancels the extra one whatever is said.
    fn cancel_target(&self) -> Option<bool> {
        (!self.item.state.starts_with("duplicate_")).then_some(self.item.cancel_ok)
    }

    /// May a charge be refunded on the customer's words (`refund_ok`)?
    /// `None` where the state alone decides a refund (a duplicate, a charge
    /// after cancelling) or rules one out (a dispute, a failed payment).
    fn refund_target(&self) -> Option<bool> {
        (!STATE_DECIDES.contains(&self.item.state.as_str())).then_some(self.item.refund_ok)
    }

    /// Would the screen hold this item's proposal back?
    fn held(&self, models: &Models) -> bool {
        let instruction = models.instruction.score(&self.features) >= screen::INSTRUCTION_AT;
        let threat = models.threat.score(&self.features) >= screen::THREAT_AT;
        instruction || (threat && !STATE_DECIDES.contains(&self.item.state.as_str()))
    }
}

fn sets() -> Result<Vec<PathBuf>, String> {
    let mut paths = vec![PathBuf::from("../shared/data/triage-corpus/messages.jsonl")];
    let dir = Path::new("tests/fixtures");
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut fixtures: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("triage-"))
        })
        .map(|p| p.join("messages.jsonl"))
        .filter(|p| p.exists())
        .collect();
    fixtures.sort();
    paths.extend(fixtures);
    Ok(paths)
}

/// The state's snapshot, as the evaluation builds it, read once.
fn snapshot<'a>(
    state: &str,
    cache: &'a mut BTreeMap<String, BillingSnapshot>,
) -> Result<&'a BillingSnapshot, String> {
    if !cache.contains_key(state) {
        let path = Path::new("tests/fixtures/corpus").join(format!("{state}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let snapshot: BillingSnapshot =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        cache.insert(state.to_owned(), snapshot);
    }
    cache
        .get(state)
        .ok_or_else(|| format!("{state}: no snapshot"))
}

fn load() -> Result<Vec<Example>, String> {
    let mut examples = Vec::new();
    let mut snapshots = BTreeMap::new();
    for path in sets()? {
        let set = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("corpus")
            .to_owned();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let item: Item = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            if item.state == "no_customer" {
                continue;
            }
            let own = snapshot(&item.state, &mut snapshots)?;
            let features = Features::of(&screen::mask_own(&item.message, own));
            examples.push(Example {
                set: set.clone(),
                item,
                features,
            });
        }
    }
    Ok(examples)
}

fn train(examples: &[&Example]) -> Models {
    let instruction: Vec<(&Features, bool)> = examples
        .iter()
        .map(|e| (&e.features, e.instruction()))
        .collect();
    let threat: Vec<(&Features, bool)> =
        examples.iter().map(|e| (&e.features, e.threat())).collect();
    // The fallback models read only where the words decide: states with
    // no anomaly and no team (elsewhere the label is the state's).
    let open: Vec<&&Example> = examples
        .iter()
        .filter(|e| {
            !STATE_DECIDES.contains(&e.item.state.as_str()) && !e.item.state.starts_with("team_")
        })
        .collect();
    let asks: Vec<(&Features, bool)> = open
        .iter()
        .map(|e| (&e.features, e.item.label == "missing_self_serve_control"))
        .collect();
    let problem: Vec<(&Features, bool)> = open
        .iter()
        .map(|e| (&e.features, e.item.label == "product_failure"))
        .collect();
    let cancel: Vec<(&Features, bool)> = examples
        .iter()
        .filter_map(|e| Some((&e.features, e.cancel_target()?)))
        .collect();
    let refund: Vec<(&Features, bool)> = examples
        .iter()
        .filter_map(|e| Some((&e.features, e.refund_target()?)))
        .collect();
    Models {
        instruction: screen::train(&instruction, epochs(), l2()),
        threat: screen::train(&threat, epochs(), l2()),
        cancel: screen::train(&cancel, epochs(), l2()),
        refund: screen::train(&refund, epochs(), l2()),
        asks: screen::train(&asks, epochs(), l2()),
        problem: screen::train(&problem, epochs(), l2()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cv = args.iter().any(|a| a == "--cv");
    // `--show ID,ID…`: each one's scores, out of its own set's training.
    let show: Vec<&str> = args
        .iter()
        .position(|a| a == "--show")
        .and_then(|i| args.get(i + 1))
        .map(|ids| ids.split(',').collect())
        .unwrap_or_default();
    let examples = match load() {
        Ok(examples) => examples,
        Err(e) => {
            eprintln!("triage_train: cannot read the sets: {e}");
            return ExitCode::from(2);
        }
    };
    let all: Vec<&Example> = examples.iter().collect();
    println!(
        "{} examples: {} instruction, {} threat",
        all.len(),
        all.iter().filter(|e| e.instruction()).count(),
        all.iter().filter(|e| e.threat()).count()
    );
    if !cv {
        let models = train(&all);
        let out = Path::new("src/triage/screen.bin");
        if let Err(e) = std::fs::write(out, screen::encode(&models)) {
            eprintln!("triage_train: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", out.display());
        return ExitCode::SUCCESS;
    }
    let mut blind: Vec<String> = examples
        .iter()
        .map(|e| e.set.clone())
        .filter(|s| s.starts_with("triage-blind-"))
        .collect();
    blind.sort_by_key(|s| {
        s.trim_start_matches("triage-blind-")
            .parse::<u32>()
            .unwrap_or(0)
    });
    blind.dedup();
    let (mut risky, mut caught, mut legit, mut held) = (0, 0, 0, 0);
    // Other cases the instruction screen sends to a person; cancellations
    // and refunds allowed that the intent models doubt (of how many).
    let (mut sent, mut cancels, mut refunds) = (0, (0, 0), (0, 0));
    for set in &blind {
        let train_on: Vec<&Example> = examples.iter().filter(|e| &e.set != set).collect();
        let models = train(&train_on);
        let test: Vec<&Example> = examples.iter().filter(|e| &e.set == set).collect();
        let r: Vec<&&Example> = test
            .iter()
            .filter(|e| {
                e.instruction() || (e.threat() && !STATE_DECIDES.contains(&e.item.state.as_str()))
            })
            .collect();
        let c = r.iter().filter(|e| e.held(&models)).count();
        for e in test.iter().filter(|e| show.contains(&e.item.id.as_str())) {
            println!(
                "  {}: instruction {:.2}, threat {:.2}, cancel {:.2}, refund {:.2}, held {}",
                e.item.id,
                models.instruction.score(&e.features),
                models.threat.score(&e.features),
                models.cancel.score(&e.features),
                models.refund.score(&e.features),
                e.held(&models)
            );
        }
        let l: Vec<&&Example> = test
            .iter()
            .filter(|e| e.item.refund_ok || e.item.cancel_ok)
            .collect();
        let h: Vec<String> = l
            .iter()
            .filter(|e| e.held(&models))
            .map(|e| e.item.id.clone())
            .collect();
        println!(
            "{set}: instructions and threats held {c}/{}; refunds or cancellations allowed but held {}/{} {h:?}",
            r.len(),
            h.len(),
            l.len()
        );
        let ids = |keep: &dyn Fn(&Example) -> bool| -> Vec<&str> {
            test.iter()
                .filter(|e| keep(e))
                .map(|e| e.item.id.as_str())
                .collect()
        };
        let s = ids(&|e| {
            e.item.label != "needs_review"
                && (models.instruction.score(&e.features) >= screen::INSTRUCTION_ANY_CASE_AT
                    || (models.threat.score(&e.features) >= screen::THREAT_ANY_CASE_AT
                        && !STATE_DECIDES.contains(&e.item.state.as_str())))
        });
        let ca = ids(&|e| e.cancel_target() == Some(true));
        let cd = ids(&|e| {
            e.cancel_target() == Some(true)
                && models.cancel.score(&e.features) < screen::CANCEL_DOUBT_AT
        });
        let ra = ids(&|e| e.refund_target() == Some(true));
        let rd = ids(&|e| {
            e.refund_target() == Some(true)
                && models.refund.score(&e.features) < screen::REFUND_DOUBT_AT
        });
        println!(
            "  other labels sent to a person {} {s:?}; cancellations doubted {}/{} {cd:?}; refunds doubted {}/{} {rd:?}",
            s.len(),
            cd.len(),
            ca.len(),
            rd.len(),
            ra.len()
        );
        sent += s.len();
        cancels = (cancels.0 + cd.len(), cancels.1 + ca.len());
        refunds = (refunds.0 + rd.len(), refunds.1 + ra.len());
        (risky, caught, legit, held) =
            (risky + r.len(), caught + c, legit + l.len(), held + h.len());
    }
    println!(
        "\nLeave-one-set-out over {} blind sets: instructions and threats held {caught}/{risky}; refunds or cancellations allowed but held {held}/{legit}; other labels sent to a person by the instruction or threat screen {sent}; cancellations allowed but doubted {}/{}; refunds allowed but doubted {}/{}",
        blind.len(),
        cancels.0,
        cancels.1,
        refunds.0,
        refunds.1
    );
    ExitCode::SUCCESS
}
