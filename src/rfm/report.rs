//! Reports of a scoring run: the R x F grid, the segment table and the per-score tables,
//! plain serde data with a readable `Display`.

use std::fmt;

use super::Measure;
use crate::decimal::{mean_units, units_text};

/// One cell of the R x F grid.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GridCell {
    /// Recency score.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Customers in the cell.
    pub count: u64,
    /// `count` over all scored customers (0 to 1).
    pub share: f64,
    /// Their monetary total.
    pub monetary: i128,
    /// Their mean monetary value; `None` for an empty cell.
    pub mean_monetary: Option<f64>,
}

/// The R x F grid of a scoring run ([`RfmScores::grid`](super::RfmScores::grid)): rows R = bins down to 1, columns
/// F = 1 up to bins, as usually drawn. Its `Display` prints three blocks: customers, share
/// and mean monetary value.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmGrid {
    /// Recency bins (rows).
    pub r_bins: u8,
    /// Frequency bins (columns).
    pub f_bins: u8,
    /// Scored customers.
    pub scored: u64,
    /// Their monetary total.
    pub monetary: i128,
    /// Decimal places of monetary values: the monetary attribute's scale, 0 for a
    /// whole-number attribute. Totals and means are in its units and print with its places.
    #[cfg_attr(feature = "serde", serde(default))]
    pub monetary_scale: u8,
    /// Cells row by row: R from high to low, F from low to high within a row.
    pub cells: Vec<GridCell>,
}

impl RfmGrid {
    /// The cell of scores `r` and `f`.
    pub fn cell(&self, r: u8, f: u8) -> Option<&GridCell> {
        self.cells.iter().find(|c| c.r == r && c.f == f)
    }
}

fn thousands(v: i128) -> String {
    units_text(v, 0, true)
}

/// A mean monetary value with the attribute's places, from the exact total and count
/// (rounded half away from zero to a whole unit); `-` for no customers.
fn mean_text(total: i128, count: u64, scale: u8) -> String {
    mean_units(total, count).map_or_else(|| "-".to_string(), |m| units_text(m, scale, true))
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

impl fmt::Display for RfmGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "R x F grid of {} scored customers (rows: recency score, columns: frequency score)",
            thousands(i128::from(self.scored))
        )?;
        let scale = self.monetary_scale;
        let customers = |c: &GridCell| thousands(i128::from(c.count));
        let share = |c: &GridCell| pct(c.share);
        let mean = |c: &GridCell| mean_text(c.monetary, c.count, scale);
        type Cell<'a> = &'a dyn Fn(&GridCell) -> String;
        let blocks: [(&str, Cell<'_>); 3] = [
            ("customers", &customers),
            ("share of scored customers", &share),
            ("mean monetary value", &mean),
        ];
        for (title, cell) in blocks {
            write!(f, "\n{title}\n{:>4}", "")?;
            for col in 1..=self.f_bins {
                write!(f, "{:>12}", format!("F{col}"))?;
            }
            writeln!(f)?;
            for row in (1..=self.r_bins).rev() {
                write!(f, "{:>4}", format!("R{row}"))?;
                for col in 1..=self.f_bins {
                    let text = self.cell(row, col).map_or_else(String::new, cell);
                    write!(f, "{text:>12}")?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// One segment of a [`SegmentTable`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentRow {
    /// The segment's name.
    pub segment: String,
    /// Its customers.
    pub count: u64,
    /// `count` over all scored customers (0 to 1).
    pub customer_share: f64,
    /// Their monetary total.
    pub monetary: i128,
    /// `monetary` over the scored customers' total (0 to 1).
    pub revenue_share: f64,
    /// Their mean monetary value; `None` for an empty segment.
    pub mean_monetary: Option<f64>,
}

/// Per segment of a scoring run ([`RfmScores::segment_table`](super::RfmScores::segment_table)). Its `Display` sorts the
/// segments by revenue share and adds running totals of customers and revenue, so "the
/// best 20% of customers bring 60% of revenue" can be read off.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentTable {
    /// Scored customers.
    pub scored: u64,
    /// Customers in scope who never purchased (not scored).
    pub never_purchased: u64,
    /// Customers in scope with incomplete values (not scored).
    pub incomplete: u64,
    /// The scored customers' monetary total.
    pub monetary: i128,
    /// Decimal places of monetary values: the monetary attribute's scale, 0 for a
    /// whole-number attribute. Totals and means are in its units and print with its places.
    #[cfg_attr(feature = "serde", serde(default))]
    pub monetary_scale: u8,
    /// One row per segment, in the map's order.
    pub rows: Vec<SegmentRow>,
}

impl fmt::Display for SegmentTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows: Vec<&SegmentRow> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.revenue_share.total_cmp(&a.revenue_share));
        writeln!(
            f,
            "{:<20} {:>10} {:>8} {:>8} {:>10} {:>10} {:>14}",
            "segment", "customers", "share", "revenue", "cum. cust", "cum. rev", "mean monetary"
        )?;
        let (mut cc, mut cr) = (0.0, 0.0);
        for r in rows {
            cc += r.customer_share;
            cr += r.revenue_share;
            writeln!(
                f,
                "{:<20} {:>10} {:>8} {:>8} {:>10} {:>10} {:>14}",
                r.segment,
                thousands(i128::from(r.count)),
                pct(r.customer_share),
                pct(r.revenue_share),
                pct(cc),
                pct(cr),
                mean_text(r.monetary, r.count, self.monetary_scale),
            )?;
        }
        write!(
            f,
            "{} scored; not scored: {} never purchased, {} incomplete",
            thousands(i128::from(self.scored)),
            thousands(i128::from(self.never_purchased)),
            thousands(i128::from(self.incomplete))
        )
    }
}

/// One score of a [`ScoreTable`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScoreRow {
    /// The score.
    pub score: u8,
    /// Customers with it.
    pub count: u64,
    /// `count` over all scored customers (0 to 1).
    pub customer_share: f64,
    /// Lowest measured value with this score (recency: days since the last purchase).
    pub min: Option<i64>,
    /// Highest measured value with this score.
    pub max: Option<i64>,
    /// Their monetary total.
    pub monetary: i128,
    /// `monetary` over the scored customers' total (0 to 1).
    pub revenue_share: f64,
}

/// Per score of one measure ([`RfmScores::score_table`](super::RfmScores::score_table)), highest score first.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScoreTable {
    /// The measure.
    pub measure: Measure,
    /// Scored customers.
    pub scored: u64,
    /// The scored customers' monetary total.
    pub monetary: i128,
    /// Decimal places of monetary values: the monetary attribute's scale, 0 for a
    /// whole-number attribute. Totals and means are in its units and print with its places.
    #[cfg_attr(feature = "serde", serde(default))]
    pub monetary_scale: u8,
    /// One row per score, highest first.
    pub rows: Vec<ScoreRow>,
}

impl fmt::Display for ScoreTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.measure {
            Measure::Recency => "days ago",
            Measure::Frequency => "purchases",
            Measure::Monetary => "monetary",
        };
        writeln!(
            f,
            "{:<6} {:>10} {:>8} {:>25} {:>8} {:>10}",
            "score", "customers", "share", unit, "revenue", "cum. rev"
        )?;
        let scale = match self.measure {
            Measure::Monetary => self.monetary_scale,
            Measure::Recency | Measure::Frequency => 0,
        };
        let value = |v: i64| units_text(i128::from(v), scale, true);
        let mut cr = 0.0;
        for r in &self.rows {
            cr += r.revenue_share;
            let range = match (r.min, r.max) {
                (Some(lo), Some(hi)) if lo == hi => value(lo),
                (Some(lo), Some(hi)) => format!("{}..{}", value(lo), value(hi)),
                _ => "-".to_string(),
            };
            writeln!(
                f,
                "{:<6} {:>10} {:>8} {:>25} {:>8} {:>10}",
                format!("{}{}", self.measure.letter(), r.score),
                thousands(i128::from(r.count)),
                pct(r.customer_share),
                range,
                pct(r.revenue_share),
                pct(cr),
            )?;
        }
        Ok(())
    }
}
