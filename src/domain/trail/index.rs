//! The check of the per-case indexes (`audit:case:<id>`, lists of stream ids
//! that `audit show` reads): every id an index lists must be an entry of the
//! stream, and an entry of that case. The hash chain does not cover the
//! indexes, so an index edited to point at another case's entry, or at
//! nothing, is caught only here. Pure: the store reads the indexes and the
//! entries they name, and hands them over.

use super::AuditEntry;
use std::fmt;

/// What is wrong with one indexed id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexFault {
    /// No stream entry has this id (removed, trimmed, or never written).
    Missing,
    /// The entry belongs to another case, or to none.
    OtherCase { found: Option<String> },
    /// The stream entry is not a readable audit entry.
    Unreadable { reason: String },
    /// An entry of this case the index does not list (removed from it).
    Unlisted,
}

/// One bad id in one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexProblem {
    /// The case the index is for, as its key names it.
    pub case_id: String,
    pub stream_id: String,
    pub fault: IndexFault,
}

/// What the check found over every index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Index keys read.
    pub indexes: u64,
    /// Ids listed in them.
    pub ids: u64,
    pub problems: Vec<IndexProblem>,
}

/// What the stream holds at an indexed id: nothing, an entry, or something
/// unreadable (with why).
pub type Found<'a> = Option<Result<&'a AuditEntry, String>>;

impl IndexReport {
    /// Records one index's id and what the stream holds there.
    pub fn check(&mut self, case_id: &str, stream_id: &str, found: Found<'_>) {
        self.ids += 1;
        let fault = match found {
            None => Some(IndexFault::Missing),
            Some(Err(reason)) => Some(IndexFault::Unreadable { reason }),
            Some(Ok(entry)) => {
                let entry_case = entry.case_id.as_ref().map(|c| c.as_str().to_owned());
                (entry_case.as_deref() != Some(case_id))
                    .then_some(IndexFault::OtherCase { found: entry_case })
            }
        };
        if let Some(fault) = fault {
            self.problems.push(IndexProblem {
                case_id: case_id.to_owned(),
                stream_id: stream_id.to_owned(),
                fault,
            });
        }
    }

    /// Records an entry of `case_id` at `stream_id` that its index does
    /// not list.
    pub fn unlisted(&mut self, case_id: &str, stream_id: &str) {
        self.problems.push(IndexProblem {
            case_id: case_id.to_owned(),
            stream_id: stream_id.to_owned(),
            fault: IndexFault::Unlisted,
        });
    }

    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            case_id,
            stream_id,
            fault,
        } = self;
        match fault {
            IndexFault::Missing => {
                write!(
                    f,
                    "the index of {case_id} lists {stream_id}, which is not in the audit stream"
                )
            }
            IndexFault::OtherCase { found: Some(other) } => {
                write!(
                    f,
                    "the index of {case_id} lists {stream_id}, an entry of {other}"
                )
            }
            IndexFault::OtherCase { found: None } => {
                write!(
                    f,
                    "the index of {case_id} lists {stream_id}, an entry of no case"
                )
            }
            IndexFault::Unreadable { reason } => {
                write!(
                    f,
                    "the index of {case_id} lists {stream_id}, which is unreadable ({reason})"
                )
            }
            IndexFault::Unlisted => {
                write!(
                    f,
                    "{stream_id} is an entry of {case_id}, but the case's index does not list it"
                )
            }
        }
    }
}

impl fmt::Display for IndexReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            indexes,
            ids,
            problems,
        } = self;
        if problems.is_empty() {
            write!(f, "case indexes intact: {indexes} indexes list {ids} entries, each in the stream under its case")
        } else {
            write!(
                f,
                "case indexes damaged: {} of {ids} ids in {indexes} indexes are wrong",
                problems.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{chain, CaseOpened, NewEntry, TriageOutcome};
    use crate::domain::{Actor, CaseId};

    fn entry_of(case: Option<CaseId>) -> AuditEntry {
        let opened = CaseOpened {
            triage: TriageOutcome::NeedsReview,
            n_actions: 0,
        };
        let new = NewEntry {
            case_id: case,
            ..NewEntry::new(opened, Actor::System, 1_700_000_000)
        };
        chain(new, 1, crate::audit::GENESIS)
    }

    #[test]
    fn names_each_kind_of_bad_id_and_counts_the_good_ones() {
        let (a, b) = (CaseId::from_random(0xa), CaseId::from_random(0xb));
        let (of_a, of_b, system) = (
            entry_of(Some(a.clone())),
            entry_of(Some(b.clone())),
            entry_of(None),
        );
        let mut report = IndexReport {
            indexes: 1,
            ..IndexReport::default()
        };
        report.check(a.as_str(), "1-0", Some(Ok(&of_a)));
        assert!(report.is_clean());
        report.check(a.as_str(), "2-0", None);
        report.check(a.as_str(), "3-0", Some(Ok(&of_b)));
        report.check(a.as_str(), "4-0", Some(Ok(&system)));
        report.check(a.as_str(), "5-0", Some(Err("no `entry` field".to_owned())));
        assert_eq!(report.ids, 5);
        let said: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                format!("the index of {a} lists 2-0, which is not in the audit stream"),
                format!("the index of {a} lists 3-0, an entry of {b}"),
                format!("the index of {a} lists 4-0, an entry of no case"),
                format!("the index of {a} lists 5-0, which is unreadable (no `entry` field)"),
            ]
        );
        assert_eq!(
            report.to_string(),
            "case indexes damaged: 4 of 5 ids in 1 indexes are wrong"
        );
    }
}
