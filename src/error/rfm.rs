//! RFM score cells, as the segment-map errors name them ([`ErrorKind::SegmentGap`](super::ErrorKind::SegmentGap)).

use std::fmt;

/// One customer's scores, or one cell of the R x F x M score space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmScore {
    /// Recency score, 1..=bins.
    pub r: u8,
    /// Frequency score, 1..=bins.
    pub f: u8,
    /// Monetary score, 1..=bins.
    pub m: u8,
}

impl fmt::Display for RfmScore {
    /// `R5 F4 M1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{} F{} M{}", self.r, self.f, self.m)
    }
}

/// Cells as text for error messages: runs of M within one (R, F) are collapsed
/// (`R1 F1 M1-5`), at most eight runs are listed.
pub(crate) fn fmt_cells(cells: &[RfmScore]) -> String {
    let mut runs: Vec<(u8, u8, u8, u8)> = Vec::new();
    for c in cells {
        match runs.last_mut() {
            Some((r, f, _, hi)) if *r == c.r && *f == c.f && hi.checked_add(1) == Some(c.m) => {
                *hi = c.m;
            }
            _ => runs.push((c.r, c.f, c.m, c.m)),
        }
    }
    const SHOWN: usize = 8;
    let mut out: Vec<String> = runs
        .iter()
        .take(SHOWN)
        .map(|&(r, f, lo, hi)| {
            if lo == hi {
                format!("R{r} F{f} M{lo}")
            } else {
                format!("R{r} F{f} M{lo}-{hi}")
            }
        })
        .collect();
    if runs.len() > SHOWN {
        out.push(format!("and {} more", runs.len() - SHOWN));
    }
    out.join(", ")
}
