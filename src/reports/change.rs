//! Period over period: the few figures a report keeps from one run to the
//! next (MRR per currency, churned, at risk), and the line saying what
//! changed since the previous run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::churn::ChurnReport;
use super::plans::PlansReport;
use crate::domain::{Currency, Money};

/// What one run leaves for the next (format version 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub v: u32,
    pub at: i64,
    /// MRR (plans) or MRR at risk (churn), per currency code.
    pub mrr: BTreeMap<String, i64>,
    pub churned: Option<u64>,
    pub at_risk: Option<u64>,
}

impl Figures {
    pub fn of_plans(r: &PlansReport) -> Self {
        Self {
            v: 1,
            at: r.generated_at,
            mrr: r
                .totals
                .iter()
                .map(|t| (t.currency.as_str().to_owned(), t.mrr_minor))
                .collect(),
            churned: None,
            at_risk: None,
        }
    }

    pub fn of_churn(r: &ChurnReport) -> Self {
        Self {
            v: 1,
            at: r.generated_at,
            mrr: r
                .totals
                .iter()
                .map(|t| (t.currency.as_str().to_owned(), t.at_risk_mrr_minor))
                .collect(),
            churned: Some(r.canceled.len() as u64),
            at_risk: Some(r.at_risk.len() as u64),
        }
    }
}

/// "Since the last run (…): …", or `None` when nothing was kept before.
pub fn since_last(previous: Option<&Figures>, now: &Figures, mrr_label: &str) -> Option<String> {
    let prev = previous?;
    let hours = (now.at - prev.at).max(0) / 3600;
    let mut parts = Vec::new();
    let codes: std::collections::BTreeSet<&String> =
        prev.mrr.keys().chain(now.mrr.keys()).collect();
    for code in codes {
        let Ok(currency) = Currency::parse(code) else {
            continue;
        };
        let (a, b) = (
            prev.mrr.get(code).copied().unwrap_or(0),
            now.mrr.get(code).copied().unwrap_or(0),
        );
        parts.push(format!(
            "{mrr_label} {} ({}{})",
            Money::new(b, currency),
            if b >= a { "+" } else { "" },
            Money::new(b - a, currency).major_text()
        ));
    }
    for (label, a, b) in [
        ("churned", prev.churned, now.churned),
        ("at risk", prev.at_risk, now.at_risk),
    ] {
        if let (Some(a), Some(b)) = (a, b) {
            parts.push(format!("{label} {b} ({:+})", b as i64 - a as i64));
        }
    }
    Some(format!(
        "Since the last run ({hours} h ago): {}",
        parts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_is_per_currency_and_signed() {
        let prev = Figures {
            v: 1,
            at: 0,
            mrr: [("eur".to_owned(), 10_000), ("jpy".to_owned(), 500)].into(),
            churned: Some(4),
            at_risk: Some(2),
        };
        let now = Figures {
            v: 1,
            at: 7200,
            mrr: [("eur".to_owned(), 9_050)].into(),
            churned: Some(6),
            at_risk: Some(2),
        };
        assert_eq!(
            since_last(Some(&prev), &now, "MRR").as_deref(),
            Some("Since the last run (2 h ago): MRR EUR 90.50 (-9.50), MRR JPY 0 (-500), churned 6 (+2), at risk 2 (+0)")
        );
        assert_eq!(since_last(None, &now, "MRR"), None);
    }
}
