//! The scan's plan of the `created` timeline (pure, no I/O): ranges read
//! concurrently, each newest first by one worker at a time; an idle worker
//! takes the older half of the range with the most left to read. Which
//! requests to send and what a page holds are the scanner's.

use super::{MIN_SPLIT_PAGES, PAGE_SIZE};

/// The scan's plan of the `created` timeline: ranges, each read newest
/// first by one worker at a time.
#[derive(Debug)]
pub(super) struct Timeline {
    pub(super) ranges: Vec<Range>,
    start: i64,
    end: i64,
    pub(super) scanned: u64,
}

#[derive(Debug)]
pub(super) struct Range {
    /// Inclusive lower bound; raised when a thief takes the older half.
    pub(super) lo: i64,
    /// Exclusive upper bound.
    pub(super) hi: i64,
    /// `created` of the last subscription read (the cursor's position).
    pub(super) pos: i64,
    /// Subscriptions read from this range, to estimate what is left.
    pub(super) read: u64,
    pub(super) cursor: Option<String>,
    pub(super) claimed: bool,
    pub(super) done: bool,
}

impl Timeline {
    /// `[start, end)` cut into `n` equal ranges.
    pub(super) fn new(start: i64, end: i64, n: usize) -> Self {
        let span = (end - start).max(1);
        let n = (n as i64).clamp(1, span);
        let ranges = (0..n)
            .map(|i| {
                let lo = start + span * i / n;
                let hi = start + span * (i + 1) / n;
                Range {
                    lo,
                    hi,
                    pos: hi,
                    read: 0,
                    cursor: None,
                    claimed: false,
                    done: false,
                }
            })
            .collect();
        Self {
            ranges,
            start,
            end,
            scanned: 0,
        }
    }

    /// A range for an idle worker: an unclaimed one, or else the older half
    /// of the widest range still being read. `None` when nothing is left.
    pub(super) fn claim(&mut self) -> Option<usize> {
        if let Some(i) = self.ranges.iter().position(|r| !r.claimed && !r.done) {
            self.ranges[i].claimed = true;
            return Some(i);
        }
        // What is left in a range, estimated from the density read so far
        // in it (else in the whole scan): a split only pays when several
        // pages are left, since every range ends on a partial page.
        let covered: i64 = self.ranges.iter().map(|r| r.hi - r.pos).sum();
        let global = self.scanned as f64 / covered.max(1) as f64;
        let (victim, width, left) = self
            .ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.done)
            .map(|(i, r)| {
                let seen = r.hi - r.pos;
                let density = if r.read > 0 && seen > 0 {
                    r.read as f64 / seen as f64
                } else {
                    global
                };
                (i, r.pos - r.lo, density * (r.pos - r.lo) as f64)
            })
            .max_by(|a, b| a.2.total_cmp(&b.2).then(a.1.cmp(&b.1)))?;
        let worth = self.scanned == 0 || left >= f64::from(MIN_SPLIT_PAGES * PAGE_SIZE);
        if width < 2 || !worth {
            return None;
        }
        let lo = self.ranges[victim].lo;
        let mid = lo + width / 2;
        self.ranges[victim].lo = mid;
        self.ranges.push(Range {
            lo,
            hi: mid,
            pos: mid,
            read: 0,
            cursor: None,
            claimed: true,
            done: false,
        });
        Some(self.ranges.len() - 1)
    }

    pub(super) fn request_of(&self, i: usize) -> (i64, i64, Option<String>) {
        let r = &self.ranges[i];
        (r.lo, r.hi, r.cursor.clone())
    }

    pub(super) fn advance(&mut self, i: usize, cursor: String, created: i64) {
        let r = &mut self.ranges[i];
        r.cursor = Some(cursor);
        r.pos = created.clamp(r.lo, r.hi);
    }

    pub(super) fn finish(&mut self, i: usize) {
        let r = &mut self.ranges[i];
        r.done = true;
        r.pos = r.lo;
    }

    /// Subscriptions read so far, scaled by the share of the timeline read.
    pub(super) fn estimate(&self) -> Option<u64> {
        let covered: i64 = self.ranges.iter().map(|r| r.hi - r.pos).sum();
        estimate_total(self.scanned, covered, self.end - self.start)
    }
}

/// `scanned` ÷ (covered ÷ span), never less than `scanned`.
pub(super) fn estimate_total(scanned: u64, covered_secs: i64, span_secs: i64) -> Option<u64> {
    if covered_secs <= 0 || span_secs <= 0 {
        return None;
    }
    let est = (scanned as f64) * (span_secs as f64) / (covered_secs.min(span_secs) as f64);
    Some((est.round() as u64).max(scanned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stealing_splits_the_widest_range_until_nothing_is_left() {
        let mut t = Timeline::new(0, 100, 2);
        assert_eq!(t.claim(), Some(0));
        assert_eq!(t.claim(), Some(1));
        // Range 1 is [50, 100); its cursor has reached 90.
        t.advance(1, "sub_x".into(), 90);
        t.finish(0);
        let thief = t.claim().expect("range 1 still has [50, 90) to read");
        assert_eq!((t.ranges[thief].lo, t.ranges[thief].hi), (50, 70));
        assert_eq!(t.ranges[1].lo, 70);
        t.finish(thief);
        t.finish(1);
        assert_eq!(t.claim(), None);
    }

    #[test]
    fn estimate_scales_by_the_share_of_the_timeline_read() {
        assert_eq!(estimate_total(120, 10, 100), Some(1200));
        assert_eq!(estimate_total(5, 0, 100), None);
        assert_eq!(estimate_total(50, 100, 100), Some(50));
    }
}
