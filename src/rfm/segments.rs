//! Score cells and segment maps: named boxes of (R, F, M) scores that must cover every
//! cell exactly once, and first-match tables of ordered, overlapping rules.

use std::ops::RangeInclusive;

use crate::base::fold::{check_name, first_repeat, fold, tidy};
use crate::base::text::quote;
use crate::error::{Error, ErrorKind, RfmScore, err};

use super::{MAX_SEGMENTS, Measure};

impl RfmScore {
    /// The score of one measure.
    pub fn get(self, measure: Measure) -> u8 {
        match measure {
            Measure::Recency => self.r,
            Measure::Frequency => self.f,
            Measure::Monetary => self.m,
        }
    }
}

/// One named box of score cells: every customer whose R, F and M scores lie in the ranges.
/// A range left `None` takes every score.
///
/// ```
/// use audience::SegmentRule;
///
/// let rule = SegmentRule::new("Champions").r(5..=5).f(4..=5);
/// assert_eq!(rule.m, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentRule {
    /// The segment's name.
    pub name: String,
    /// Recency scores (inclusive); `None` for all.
    pub r: Option<RangeInclusive<u8>>,
    /// Frequency scores (inclusive); `None` for all.
    pub f: Option<RangeInclusive<u8>>,
    /// Monetary scores (inclusive); `None` for all.
    pub m: Option<RangeInclusive<u8>>,
}

impl SegmentRule {
    /// A segment of every cell; narrow it with [`SegmentRule::r`], [`SegmentRule::f`] and
    /// [`SegmentRule::m`].
    pub fn new(name: impl Into<String>) -> SegmentRule {
        SegmentRule {
            name: name.into(),
            r: None,
            f: None,
            m: None,
        }
    }

    /// Restricts recency scores.
    pub fn r(mut self, scores: RangeInclusive<u8>) -> SegmentRule {
        self.r = Some(scores);
        self
    }

    /// Restricts frequency scores.
    pub fn f(mut self, scores: RangeInclusive<u8>) -> SegmentRule {
        self.f = Some(scores);
        self
    }

    /// Restricts monetary scores.
    pub fn m(mut self, scores: RangeInclusive<u8>) -> SegmentRule {
        self.m = Some(scores);
        self
    }

    fn range(&self, measure: Measure) -> Option<&RangeInclusive<u8>> {
        match measure {
            Measure::Recency => self.r.as_ref(),
            Measure::Frequency => self.f.as_ref(),
            Measure::Monetary => self.m.as_ref(),
        }
    }
}

/// Names for boxes of (R, F, M) score cells; it must cover every cell exactly once.
///
/// ```
/// use audience::{ErrorKind, RfmConfig, SegmentMap, SegmentRule};
///
/// let map = SegmentMap::new()
///     .rule(SegmentRule::new("best").r(4..=5).f(4..=5))
///     .rule(SegmentRule::new("rest").r(1..=3))
///     .rule(SegmentRule::new("recent, rare").r(4..=5).f(1..=2));
/// let err = RfmConfig::default().segments(Some(map)).validate().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "the RFM segment map leaves 10 score cells without a segment: R4 F3 M1-5, R5 F3 M1-5"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentMap {
    /// The segments, in display order.
    pub rules: Vec<SegmentRule>,
}

impl SegmentMap {
    /// A map without segments (add them with [`SegmentMap::rule`]).
    pub fn new() -> SegmentMap {
        SegmentMap::default()
    }

    /// Adds a segment.
    pub fn rule(mut self, rule: SegmentRule) -> SegmentMap {
        self.rules.push(rule);
        self
    }

    /// The eleven-segment map over R and F scores of 5 bins (see the [module docs](super)
    /// for the table and where it comes from).
    pub fn standard() -> SegmentMap {
        let s = SegmentRule::new;
        SegmentMap::new()
            .rule(s("Champions").r(5..=5).f(4..=5))
            .rule(s("Loyal").r(3..=4).f(4..=5))
            .rule(s("Potential loyalist").r(4..=5).f(2..=3))
            .rule(s("New customers").r(5..=5).f(1..=1))
            .rule(s("Promising").r(4..=4).f(1..=1))
            .rule(s("Need attention").r(3..=3).f(3..=3))
            .rule(s("About to sleep").r(3..=3).f(1..=2))
            .rule(s("At risk").r(1..=2).f(3..=4))
            .rule(s("Can't lose them").r(1..=2).f(5..=5))
            .rule(s("Hibernating").r(2..=2).f(1..=2))
            .rule(s("Lost").r(1..=1).f(1..=2))
    }

    /// The segment (index into `rules`) of every cell, checking the map is a partition of
    /// the cells for these bins.
    pub(super) fn cell_owners(&self, bins: [u8; 3]) -> Result<Owners, Error> {
        let what = || "RFM segment map".to_string();
        if self.rules.is_empty() || self.rules.len() > MAX_SEGMENTS {
            return err(ErrorKind::InvalidBuckets {
                what: what(),
                reason: format!(
                    "a map names 1 to {MAX_SEGMENTS} segments, got {}",
                    self.rules.len()
                ),
            });
        }
        let twice = first_repeat(self.rules.iter().map(|r| r.name.as_str()));
        let mut boxes: Vec<[(u8, u8); 3]> = Vec::with_capacity(self.rules.len());
        for (i, rule) in self.rules.iter().enumerate() {
            let name = tidy(&rule.name);
            if let Err(reason) = check_name(&name) {
                return err(ErrorKind::InvalidBuckets {
                    what: what(),
                    reason: format!("segment name {}: {reason}", quote(&rule.name)),
                });
            }
            if twice == Some(i) {
                return err(ErrorKind::InvalidBuckets {
                    what: what(),
                    reason: format!("segment {} is named twice", quote(&rule.name)),
                });
            }
            boxes.push(rule_box(rule, bins, &what)?);
        }
        let [br, bf, bm] = bins.map(usize::from);
        let cells = br * bf * bm;
        let mut owner: Vec<Option<u8>> = vec![None; cells];
        let mut overlap: Option<(usize, usize, Vec<RfmScore>)> = None;
        for (i, b) in boxes.iter().enumerate() {
            for r in b[0].0..=b[0].1 {
                for f in b[1].0..=b[1].1 {
                    for m in b[2].0..=b[2].1 {
                        let at = cell_index([r, f, m], bins);
                        let Some(slot) = owner.get_mut(at) else {
                            continue;
                        };
                        match *slot {
                            None => *slot = Some(i as u8),
                            Some(first) => {
                                let o = overlap.get_or_insert((usize::from(first), i, Vec::new()));
                                if o.0 == usize::from(first) && o.1 == i {
                                    o.2.push(RfmScore { r, f, m });
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some((first, second, cells)) = overlap {
            return err(ErrorKind::SegmentOverlap {
                first: self
                    .rules
                    .get(first)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                second: self
                    .rules
                    .get(second)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                cells,
            });
        }
        let gaps: Vec<RfmScore> = owner
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_none())
            .map(|(at, _)| cell_of(at, bins))
            .collect();
        if !gaps.is_empty() {
            return err(ErrorKind::SegmentGap { cells: gaps });
        }
        Ok(Owners {
            owners: owner.into_iter().map(|o| o.unwrap_or(0)).collect(),
            boxes,
            names: self.rules.iter().map(|r| r.name.clone()).collect(),
        })
    }
}

/// A segment table as analysts write it: ordered rules over R, F and M score ranges that
/// may overlap, the first rule that matches a score cell naming it, and a name for the
/// cells no rule matches. This is how the R `rfm` package's `rfm_segment` and most RFM
/// tutorials write their tables; [`SegmentMap`] is the stricter form that needs every cell
/// claimed exactly once.
///
/// Rules may share a name (two boxes for one segment). Checked against the bins with the
/// configuration ([`RfmConfig::validate`](super::RfmConfig::validate) and scoring): 1 to
/// [`MAX_SEGMENTS`](super::MAX_SEGMENTS) rules, valid names, the unmatched name not used by
/// a rule, ranges within each measure's scores.
///
/// ```
/// use audience::{FirstMatchMap, RfmConfig, SegmentRule};
///
/// let table = FirstMatchMap::new("Others")
///     .rule(SegmentRule::new("Champions").r(4..=5).f(4..=5).m(4..=5))
///     .rule(SegmentRule::new("Loyal").r(2..=5).f(3..=5).m(3..=5));
/// let config = RfmConfig::default().first_match(Some(table));
/// assert_eq!(config.validate()?, [5, 5, 5]);
/// assert_eq!(
///     RfmConfig::default()
///         .first_match(Some(FirstMatchMap::new("Loyal").rule(SegmentRule::new("Loyal").r(2..=5))))
///         .validate()
///         .unwrap_err()
///         .to_string(),
///     "RFM first-match segment table: the name for unmatched cells, \"Loyal\", is also a \
///      rule's name"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FirstMatchMap {
    rules: Vec<SegmentRule>,
    otherwise: String,
}

impl FirstMatchMap {
    /// A table without rules yet, whose unmatched cells are named `otherwise` (the `rfm`
    /// package calls them "Others").
    pub fn new(otherwise: impl Into<String>) -> FirstMatchMap {
        FirstMatchMap {
            rules: Vec::new(),
            otherwise: otherwise.into(),
        }
    }

    /// Adds the next rule: it names the cells it matches that no earlier rule matched.
    pub fn rule(mut self, rule: SegmentRule) -> FirstMatchMap {
        self.rules.push(rule);
        self
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[SegmentRule] {
        &self.rules
    }

    /// The name of the cells no rule matches.
    pub fn otherwise(&self) -> &str {
        &self.otherwise
    }

    /// The segment of every cell: the first rule's that matches it, else `otherwise`.
    pub(super) fn cell_owners(&self, bins: [u8; 3]) -> Result<Owners, Error> {
        let what = || "RFM first-match segment table".to_string();
        let invalid = |reason: String| {
            err(ErrorKind::InvalidBuckets {
                what: what(),
                reason,
            })
        };
        if self.rules.is_empty() || self.rules.len() > MAX_SEGMENTS {
            return invalid(format!(
                "a table has 1 to {MAX_SEGMENTS} rules, got {}",
                self.rules.len()
            ));
        }
        // Segments by name, in order of first appearance; the unmatched name last.
        let mut names: Vec<String> = Vec::new();
        let index_of = |name: &str, names: &mut Vec<String>| -> usize {
            let key = fold(name);
            match names.iter().position(|n| fold(n) == key) {
                Some(i) => i,
                None => {
                    names.push(name.to_string());
                    names.len() - 1
                }
            }
        };
        let mut boxes: Vec<(usize, [(u8, u8); 3])> = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            if let Err(reason) = check_name(&tidy(&rule.name)) {
                return invalid(format!("segment name {}: {reason}", quote(&rule.name)));
            }
            let b = rule_box(rule, bins, &what)?;
            boxes.push((index_of(&rule.name, &mut names), b));
        }
        if let Err(reason) = check_name(&tidy(&self.otherwise)) {
            return invalid(format!(
                "the name for unmatched cells {}: {reason}",
                quote(&self.otherwise)
            ));
        }
        let key = fold(&self.otherwise);
        if names.iter().any(|n| fold(n) == key) {
            return invalid(format!(
                "the name for unmatched cells, {}, is also a rule's name",
                quote(&self.otherwise)
            ));
        }
        let rest = names.len();
        names.push(self.otherwise.clone());
        let [br, bf, bm] = bins.map(usize::from);
        let mut owners: Vec<u8> = Vec::with_capacity(br * bf * bm);
        for at in 0..br * bf * bm {
            let cell = cell_of(at, bins);
            let score = [cell.r, cell.f, cell.m];
            let owner = boxes
                .iter()
                .find(|(_, b)| b.iter().zip(score).all(|(&(lo, hi), s)| lo <= s && s <= hi))
                .map_or(rest, |(i, _)| *i);
            owners.push(owner as u8);
        }
        Ok(Owners {
            owners,
            boxes: Vec::new(),
            names,
        })
    }
}

/// A rule's ranges as (lowest, highest) per measure, checked against the bins.
fn rule_box(
    rule: &SegmentRule,
    bins: [u8; 3],
    what: &dyn Fn() -> String,
) -> Result<[(u8, u8); 3], Error> {
    let mut b = [(1u8, 1u8); 3];
    for m in Measure::ALL {
        let n = bins[m.index()];
        let (lo, hi) = rule.range(m).map_or((1, n), |r| (*r.start(), *r.end()));
        if lo > hi || lo < 1 || hi > n {
            return err(ErrorKind::InvalidBuckets {
                what: what(),
                reason: format!(
                    "segment {} asks for {} scores {lo}..={hi}, but {} has scores 1 to {n}",
                    quote(&rule.name),
                    m.letter(),
                    m.name()
                ),
            });
        }
        b[m.index()] = (lo, hi);
    }
    Ok(b)
}

/// A validated segment map: the segment of every cell, each segment's box of scores (for
/// a [`SegmentMap`]; empty for a first-match table, whose segments are not boxes) and the
/// segments' names.
#[derive(Default)]
pub(super) struct Owners {
    pub(super) owners: Vec<u8>,
    pub(super) boxes: Vec<[(u8, u8); 3]>,
    pub(super) names: Vec<String>,
}

pub(super) fn cell_index(s: [u8; 3], bins: [u8; 3]) -> usize {
    let [r, f, m] = s.map(|x| usize::from(x.saturating_sub(1)));
    let [_, bf, bm] = bins.map(usize::from);
    (r * bf + f) * bm + m
}

pub(super) fn cell_of(at: usize, bins: [u8; 3]) -> RfmScore {
    let [_, bf, bm] = bins.map(|b| usize::from(b).max(1));
    RfmScore {
        r: (at / (bf * bm) + 1) as u8,
        f: (at / bm % bf + 1) as u8,
        m: (at % bm + 1) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip() {
        let bins = [5, 4, 3];
        for at in 0..60 {
            let c = cell_of(at, bins);
            assert_eq!(cell_index([c.r, c.f, c.m], bins), at);
        }
    }
}
