//! The text form of the health report.

use crate::base::text::{noun, plural, thousands};
use std::fmt::{self, Display, Formatter, Write};

use super::{Finding, HealthReport, Severity, TagFlag, TagHealth};
use crate::store::taxonomy::TagId;

/// At most this many parts of a split suggestion are printed.
const SHOWN_PARTS: usize = 4;
/// At most this many findings of one kind are printed (the data holds them all).
const SHOWN_PER_KIND: usize = 10;

impl Display for HealthReport {
    /// A readable report: the headline, the findings worst first, the tags largest first,
    /// the dimensions.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let tax = &self.taxonomy;
        writeln!(
            f,
            "Tag health on {}: {} {}; {} in use, {}; {} archived",
            self.today,
            thousands(self.customers),
            noun(self.customers, "customer", "customers"),
            plural(tax.active_tags as u64, "tag", "tags"),
            tax.band.describe(),
            tax.archived_tags
        )?;
        writeln!(f)?;
        if self.findings.is_empty() {
            writeln!(f, "No findings: every tag is in good health.")?;
        } else {
            writeln!(f, "Findings, worst first ({}):", self.findings.len())?;
            let mut shown_of_kind = 0;
            let mut hidden = 0;
            for (i, finding) in self.findings.iter().enumerate() {
                let same_kind = i > 0
                    && self.findings.get(i - 1).map(std::mem::discriminant)
                        == Some(std::mem::discriminant(finding));
                shown_of_kind = if same_kind { shown_of_kind + 1 } else { 0 };
                if shown_of_kind >= SHOWN_PER_KIND {
                    hidden += 1;
                } else {
                    let label = match finding.severity() {
                        Severity::High => "high",
                        Severity::Medium => "medium",
                        Severity::Low => "low",
                    };
                    writeln!(f, "  {label:<7}{}", self.describe(finding))?;
                }
                let last_of_kind = self.findings.get(i + 1).map(std::mem::discriminant)
                    != Some(std::mem::discriminant(finding));
                if last_of_kind && hidden > 0 {
                    writeln!(
                        f,
                        "         ... and {hidden} more like these (see the tags below)"
                    )?;
                    hidden = 0;
                }
            }
        }
        if self.pairs_skipped > 0 {
            writeln!(
                f,
                "  (pairs of the {} smallest tags were not examined: too many tags)",
                self.pairs_skipped
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f)?;
            writeln!(f, "Skipped checks:")?;
            for check in &self.skipped {
                writeln!(f, "  {check}")?;
            }
        }

        writeln!(f)?;
        writeln!(f, "Tags, largest first:")?;
        writeln!(
            f,
            "  {:>10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}  tag",
            "members", "share", "0-30d", "31-90d", "91-180d", ">180d", "last used", "stale"
        )?;
        let mut order: Vec<&TagHealth> = self.tags.iter().collect();
        order.sort_by_key(|t| (std::cmp::Reverse(t.members), t.tag));
        for t in order {
            let last = t
                .last_used
                .map_or_else(|| "never".to_string(), |d| d.to_string());
            let stale = t.stale_members.map_or_else(|| "-".to_string(), thousands);
            write!(
                f,
                "  {:>10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}  \"{}\" ({})",
                thousands(t.members),
                percent(t.share),
                thousands(t.age.days_0_30),
                thousands(t.age.days_31_90),
                thousands(t.age.days_91_180),
                thousands(t.age.over_180),
                last,
                stale,
                t.name,
                t.dimension
            )?;
            let mut marks: Vec<&str> = t.flags.iter().map(flag_name).collect();
            if t.archived {
                marks.push("archived");
            }
            if !marks.is_empty() {
                write!(f, " [{}]", marks.join(", "))?;
            }
            writeln!(f)?;
        }

        writeln!(f)?;
        writeln!(f, "Dimensions:")?;
        for d in &tax.dimensions {
            writeln!(
                f,
                "  {:>3} {:<4} {:>10} customers {:>6}  {}",
                d.tags,
                if d.tags == 1 { "tag" } else { "tags" },
                thousands(d.customers),
                percent(d.share),
                d.dimension
            )?;
        }
        writeln!(
            f,
            "  untagged: {} {} ({})",
            thousands(tax.untagged),
            noun(tax.untagged, "customer", "customers"),
            percent(tax.untagged_share)
        )
    }
}

impl HealthReport {
    fn name(&self, tag: TagId) -> String {
        match self.tag(tag) {
            Some(t) => format!("\"{}\"", t.name),
            None => format!("tag #{}", tag.as_u32()),
        }
    }

    fn members(&self, tag: TagId) -> u64 {
        self.tag(tag).map_or(0, |t| t.members)
    }

    /// One line for a finding.
    fn describe(&self, finding: &Finding) -> String {
        let c = &self.config;
        match finding {
            Finding::TagCount { band, tags } => {
                let tags = plural(*tags as u64, "tag", "tags");
                format!("{tags} in use: {}", band.describe())
            }
            Finding::Oversized { tag, share } => {
                let mut line = format!(
                    "{} is carried by {} of customers (over {}): too coarse, split it",
                    self.name(*tag),
                    percent(*share),
                    percent(c.oversized_share)
                );
                let split = self.tag(*tag).and_then(|t| {
                    t.flags.iter().find_map(|flag| match flag {
                        TagFlag::Oversized { split, .. } => split.as_ref(),
                        _ => None,
                    })
                });
                if let Some(s) = split {
                    let _ = write!(line, ", e.g. by {}:", s.dimension);
                    for p in s.parts.iter().take(SHOWN_PARTS) {
                        let _ = write!(line, " \"{}\" {},", p.name, thousands(p.members));
                    }
                    line.pop();
                    if s.parts.len() > SHOWN_PARTS {
                        let _ = write!(line, " and {} more", s.parts.len() - SHOWN_PARTS);
                    }
                }
                line
            }
            Finding::Redundant { a, b, jaccard } => {
                let pair = self
                    .redundant
                    .iter()
                    .find(|p| p.a == *a && p.b == *b)
                    .map(|p| format!("; {} carry both, {} either", thousands(p.both), thousands(p.either)))
                    .unwrap_or_default();
                format!(
                    "{} and {} have nearly the same members (Jaccard {jaccard:.2}{pair}): \
                     probably one meaning, keep one name",
                    self.name(*a),
                    self.name(*b)
                )
            }
            Finding::Stale {
                tag,
                members,
                share,
            } => {
                let query = self
                    .tag(*tag)
                    .and_then(|t| {
                        t.flags.iter().find_map(|flag| match flag {
                            TagFlag::Stale { query, .. } => Some(query.as_str()),
                            _ => None,
                        })
                    })
                    .unwrap_or("");
                format!(
                    "{}: {} of {} {} ({}) idle for over {}, select them with: {query}",
                    self.name(*tag),
                    thousands(*members),
                    thousands(self.members(*tag)),
                    noun(self.members(*tag), "member", "members"),
                    percent(*share),
                    plural(u64::from(c.stale_days), "day", "days")
                )
            }
            Finding::Silent { tag, idle_days } => {
                let since = match self.tag(*tag).and_then(|t| t.last_used) {
                    Some(d) => format!("last used {d}"),
                    None => "never used".to_string(),
                };
                format!(
                    "{} has not been used for {} ({since}): archive or delete it",
                    self.name(*tag),
                    plural(idle_days.unsigned_abs(), "day", "days")
                )
            }
            Finding::Empty { tag } => format!("{} has no members", self.name(*tag)),
            Finding::Untagged { customers, share } => format!(
                "{} {} ({}) {} no tag",
                thousands(*customers),
                noun(*customers, "customer", "customers"),
                percent(*share),
                noun(*customers, "carries", "carry")
            ),
            Finding::Tiny { tag, members } => format!(
                "{} has only {members} member{}",
                self.name(*tag),
                if *members == 1 { "" } else { "s" }
            ),
            Finding::Subset { subset, superset } => format!(
                "every member of {} ({}) also carries {} ({})",
                self.name(*subset),
                thousands(self.members(*subset)),
                self.name(*superset),
                thousands(self.members(*superset))
            ),
            Finding::Governance { administrators: 0 } => {
                "no administrators: anyone may create and delete tags (CRM tagging guides advise 1-2)"
                    .to_string()
            }
            Finding::Governance { administrators } => format!(
                "{administrators} administrators may change the taxonomy (CRM tagging guides advise 1-2)"
            ),
            Finding::NamingRule { tag, rule } => {
                format!("{} breaks a naming rule: {rule}", self.name(*tag))
            }
        }
    }
}

fn flag_name(flag: &TagFlag) -> &'static str {
    match flag {
        TagFlag::Oversized { .. } => "oversized",
        TagFlag::Empty => "empty",
        TagFlag::Tiny { .. } => "tiny",
        TagFlag::Silent { .. } => "silent",
        TagFlag::Stale { .. } => "stale",
    }
}

/// `0.4` -> `40.0%`.
fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(0.92), "92.0%");
        assert_eq!(percent(0.0), "0.0%");
    }
}
