//! The text form of the insights' reports: a headline, then the best findings first, each
//! with its query text.

use std::fmt::{self, Display, Formatter};

use crate::base::text::{noun, thousands};

use super::compare::{Comparison, Difference};
use super::outcome::{OutcomeRates, ValueShares};
use super::profile::Profile;
use crate::decimal::{mean_units, units_text};

/// At most this many findings of one list are printed (the data holds them all).
const SHOWN: usize = 20;

impl Display for Profile {
    /// The headline, then the significant findings, largest lift in either direction first.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let significant = self.significant().count();
        writeln!(
            f,
            "Profile of {} {} against a base of {}: {} {}, {} tested, {} significant \
             (false discovery rate {})",
            thousands(self.target),
            noun(self.target, "customer", "customers"),
            thousands(self.base),
            self.candidates,
            noun(self.candidates as u64, "candidate", "candidates"),
            self.findings.len(),
            significant,
            percent(self.config.fdr())
        )?;
        if self.below_support > 0 {
            writeln!(
                f,
                "  ({} {} fewer than {} customers to go on)",
                self.below_support,
                noun(self.below_support as u64, "candidate had", "candidates had"),
                self.config.minimum_support()
            )?;
        }
        writeln!(f)?;
        if significant == 0 {
            return writeln!(f, "Nothing sets the target apart beyond chance.");
        }
        writeln!(f, "What sets the target apart, strongest first:")?;
        writeln!(
            f,
            "  {:>8} {:>7} {:>7} {:>10} {:>8}  candidate  (query)",
            "lift", "target", "base", "customers", "q"
        )?;
        for x in self.significant().take(SHOWN) {
            writeln!(
                f,
                "  {:>8} {:>7} {:>7} {:>10} {:>8}  {}: {}  ({})",
                times(x.lift),
                percent(x.target_share),
                percent(x.base_share),
                thousands(x.in_target),
                q_value(x.q),
                x.dimension,
                x.label,
                x.query
            )?;
        }
        more(f, significant)
    }
}

impl Display for OutcomeRates {
    /// The headline, then the significant candidates and pairs, highest rate first.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let significant = self.significant().count();
        writeln!(
            f,
            "Outcome {}: {} of {} {} ({}); {} {}, {} pairs across dimensions, \
             {} significant (false discovery rate {})",
            self.outcome,
            thousands(self.outcome_count),
            thousands(self.base),
            noun(self.base, "customer", "customers"),
            percent(self.rate),
            self.candidates,
            noun(self.candidates as u64, "candidate", "candidates"),
            thousands(self.pairs),
            significant,
            percent(self.config.fdr())
        )?;
        if self.left_out_of_pairs > 0 {
            writeln!(
                f,
                "  (the {} smallest candidates were not paired: at most {} are)",
                self.left_out_of_pairs,
                self.config.pair_candidates()
            )?;
        }
        if self.below_support > 0 {
            writeln!(
                f,
                "  ({} candidates and pairs had fewer than {} customers to go on)",
                thousands(self.below_support),
                self.config.minimum_support()
            )?;
        }
        writeln!(f)?;
        if significant == 0 {
            return writeln!(
                f,
                "No candidate's rate differs from the others' beyond chance."
            );
        }
        writeln!(
            f,
            "Rates that differ, highest first (lift: against everyone else; parts: a pair's rate \
             against its better part's):"
        )?;
        writeln!(
            f,
            "  {:>8} {:>7} {:>7} {:>10} {:>8} {:>8}  candidate  (query)",
            "lift", "rate", "rest", "customers", "parts", "q"
        )?;
        for x in self.significant().take(SHOWN) {
            writeln!(
                f,
                "  {:>8} {:>7} {:>7} {:>10} {:>8} {:>8}  {}: {}  ({})",
                times(x.lift),
                percent(x.rate),
                percent(x.rest_rate),
                thousands(x.customers),
                x.over_parts.map_or_else(String::new, times),
                q_value(x.q),
                x.dimension,
                x.label,
                x.query
            )?;
        }
        more(f, significant)
    }
}

impl Display for ValueShares {
    /// The headline, then the candidates, most concentrated first.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: total {} over {} customers with a value (of {}), mean {}",
            self.attribute,
            units_text(self.total, self.scale, true),
            thousands(self.with_value),
            thousands(self.base),
            mean_text(self.mean, self.total, self.with_value, self.scale)
        )?;
        writeln!(f)?;
        if self.rows.is_empty() {
            return writeln!(f, "No candidate has enough customers.");
        }
        writeln!(
            f,
            "Share of the total against share of customers, most concentrated first:"
        )?;
        writeln!(
            f,
            "  {:>8} {:>7} {:>10} {:>12}  candidate  (query)",
            "of total", "of base", "customers", "mean"
        )?;
        for x in self.rows.iter().take(SHOWN) {
            writeln!(
                f,
                "  {:>8} {:>7} {:>10} {:>12}  {}: {}  ({})",
                percent(x.value_share),
                percent(x.customer_share),
                thousands(x.customers),
                mean_text(x.mean, x.sum, x.with_value, self.scale),
                x.dimension,
                x.label,
                x.query
            )?;
        }
        more(f, self.rows.len())
    }
}

impl Display for Comparison {
    /// The headline, then what is more common in A, then what is more common in B.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "A: {} customers, B: {} customers ({} in both); {} candidates, {} tested \
             (false discovery rate {})",
            thousands(self.a),
            thousands(self.b),
            thousands(self.both),
            self.candidates,
            self.findings.len(),
            percent(self.config.fdr())
        )?;
        for (title, list) in [
            ("More common in A", self.more_in_a().collect::<Vec<_>>()),
            ("More common in B", self.more_in_b().collect::<Vec<_>>()),
        ] {
            writeln!(f)?;
            if list.is_empty() {
                writeln!(f, "{title}: nothing beyond chance.")?;
                continue;
            }
            writeln!(f, "{title}, strongest first:")?;
            writeln!(
                f,
                "  {:>8} {:>7} {:>7} {:>8}  candidate  (query)",
                "A / B", "in A", "in B", "q"
            )?;
            for x in list.iter().take(SHOWN) {
                difference(f, x)?;
            }
            more(f, list.len())?;
        }
        Ok(())
    }
}

fn difference(f: &mut Formatter<'_>, x: &Difference) -> fmt::Result {
    writeln!(
        f,
        "  {:>8} {:>7} {:>7} {:>8}  {}: {}  ({})",
        times(x.ratio),
        percent(x.share_a),
        percent(x.share_b),
        q_value(x.q),
        x.dimension,
        x.label,
        x.query
    )
}

/// The line after a list cut at [`SHOWN`].
fn more(f: &mut Formatter<'_>, total: usize) -> fmt::Result {
    if total > SHOWN {
        writeln!(f, "  ... and {} more (see the data)", total - SHOWN)?;
    }
    Ok(())
}

/// `-1234567` -> `-1,234,567`.
/// A mean for the text form: whole-number attributes with two decimals, decimal attributes
/// with their places, exactly from the sum and count (half away from zero).
fn mean_text(mean: Option<f64>, sum: i128, count: u64, scale: u8) -> String {
    match (mean, scale) {
        (None, _) => "-".to_string(),
        (Some(m), 0) => format!("{m:.2}"),
        (Some(_), _) => {
            mean_units(sum, count).map_or_else(|| "-".to_string(), |m| units_text(m, scale, true))
        }
    }
}

/// `0.4` -> `40.0%`.
fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// `2.5` -> `2.50x`; an infinite ratio is `only` (only the first set has it).
fn times(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}x")
    } else {
        "only".to_string()
    }
}

/// A q-value, `<0.001` below a thousandth.
fn q_value(q: f64) -> String {
    if q < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{q:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(units_text(-1_234_567, 0, true), "-1,234,567");
        assert_eq!(units_text(999, 0, true), "999");
        assert_eq!(mean_text(Some(2.5), 5, 2, 0), "2.50");
        assert_eq!(mean_text(Some(0.5), 1, 2, 2), "0.01");
        assert_eq!(mean_text(None, 0, 0, 2), "-");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(times(2.5), "2.50x");
        assert_eq!(times(f64::INFINITY), "only");
        assert_eq!(q_value(0.0004), "<0.001");
        assert_eq!(q_value(0.0123), "0.012");
    }
}
