//! Product gaps: the product-gap surfaces the bot noted on
//! its cases (`followup::product_gap`, e.g. `no_duplicate_guard`), counted
//! over the cases opened in the period, each with up to three example case
//! ids. Cases are kept 30 days (`store::cases::CASE_TTL_SECS`), so a longer
//! period is answered for its last 30 days and the report says so.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::ProductGap;

/// Example case ids kept per surface.
pub const EXAMPLES: usize = 3;
/// The longest period the stored cases can answer, in days.
pub const ANSWERABLE_DAYS: u32 = 30;

#[derive(Debug, Default)]
pub struct GapsTally {
    since: i64,
    cases: u64,
    with_gap: u64,
    surfaces: BTreeMap<String, (u64, Vec<String>, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GapRow {
    pub surface: String,
    pub cases: u64,
    pub examples: Vec<String>,
    /// The note of the first case seen, as a description.
    pub note: String,
}

/// The finished gaps report (JSON format version 1).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GapsReport {
    pub v: u32,
    pub generated_at: i64,
    pub period_days: u32,
    /// Days actually covered: at most [`ANSWERABLE_DAYS`].
    pub counted_days: u32,
    pub cases_in_period: u64,
    pub cases_with_gap: u64,
    pub gaps: Vec<GapRow>,
}

impl GapsTally {
    /// Counts cases opened at or after `since`.
    pub fn new(since: i64) -> Self {
        Self {
            since,
            ..Self::default()
        }
    }

    /// One stored case: its id, when it was opened, its gap if any.
    pub fn add(&mut self, case_id: &str, opened_at: i64, gap: Option<&ProductGap>) {
        if opened_at < self.since {
            return;
        }
        self.cases += 1;
        let Some(gap) = gap else { return };
        self.with_gap += 1;
        let entry = self
            .surfaces
            .entry(gap.surface.clone())
            .or_insert_with(|| (0, Vec::new(), gap.note.clone()));
        entry.0 += 1;
        if entry.1.len() < EXAMPLES {
            entry.1.push(case_id.to_owned());
        }
    }

    pub fn finish(self, now: i64, period_days: u32) -> GapsReport {
        let mut gaps: Vec<GapRow> = self
            .surfaces
            .into_iter()
            .map(|(surface, (cases, mut examples, note))| {
                examples.sort();
                GapRow {
                    surface,
                    cases,
                    examples,
                    note,
                }
            })
            .collect();
        gaps.sort_by(|a, b| {
            b.cases
                .cmp(&a.cases)
                .then_with(|| a.surface.cmp(&b.surface))
        });
        GapsReport {
            v: 1,
            generated_at: now,
            period_days,
            counted_days: period_days.min(ANSWERABLE_DAYS),
            cases_in_period: self.cases,
            cases_with_gap: self.with_gap,
            gaps,
        }
    }
}

impl super::Report for GapsReport {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }

    /// # Errors
    /// Only if the CSV writer fails, which it does not on a `Vec`.
    fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["surface", "cases", "examples", "note"])?;
        for g in &self.gaps {
            w.write_record([
                g.surface.as_str(),
                &g.cases.to_string(),
                &g.examples.join(" "),
                &g.note,
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Product gaps over the last {} days: {} of {} cases noted one",
            self.counted_days, self.cases_with_gap, self.cases_in_period
        );
        if self.period_days > self.counted_days {
            let _ = writeln!(
                out,
                "(asked for {} days; cases are kept {} days, so only those are counted)",
                self.period_days, ANSWERABLE_DAYS
            );
        }
        for g in &self.gaps {
            let _ = writeln!(
                out,
                "  {:>5}  {:<32} e.g. {}",
                g.cases,
                g.surface,
                g.examples.join(", ")
            );
            let _ = writeln!(out, "         {}", g.note);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Report;

    fn gap(surface: &str) -> ProductGap {
        ProductGap {
            surface: surface.into(),
            note: format!("note for {surface}"),
        }
    }

    #[test]
    fn surfaces_are_counted_in_the_period_with_three_examples() {
        let mut t = GapsTally::new(1000);
        for (i, s) in ["a", "b", "a", "a", "a"].iter().enumerate() {
            t.add(&format!("case_{i}"), 1000 + i as i64, Some(&gap(s)));
        }
        t.add("case_old", 999, Some(&gap("b")));
        t.add("case_none", 2000, None);
        let r = t.finish(5000, 90);
        assert_eq!((r.cases_in_period, r.cases_with_gap), (6, 5));
        assert_eq!(r.gaps[0].surface, "a");
        assert_eq!(r.gaps[0].cases, 4);
        assert_eq!(r.gaps[0].examples, vec!["case_0", "case_2", "case_3"]);
        assert_eq!((r.gaps[1].surface.as_str(), r.gaps[1].cases), ("b", 1));
        assert_eq!(r.counted_days, 30);
        assert!(r.to_text().contains("cases are kept 30 days"));
        assert_eq!(r.to_json()["gaps"][0]["examples"][2], "case_3");
        assert_eq!(r.to_csv().expect("csv").lines().count(), 3);
    }
}
