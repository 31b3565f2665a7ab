//! An import's outcome: the report of every row ([`ImportReport`]) and why a whole import
//! was refused ([`ImportError`]). They live in the error layer because a refused import
//! carries its report; the importer itself is [`crate::import`].

use std::collections::BTreeMap;
use std::fmt;

use super::quote;
use crate::base::text::{noun, plural};
use crate::phone::{LineType, Phone, PhoneError};

// -----------------------------------------------------------------------------------------
// The report
// -----------------------------------------------------------------------------------------

/// What an import did (or, from a dry run, would do) with every row.
///
/// Rows are data rows: blank rows and the header are not counted. Every row read was
/// imported or skipped (`rows_read == rows_imported + rows_skipped`), and every imported
/// row's customer was created, updated or unchanged. Its `Display` is a readable summary for
/// the person who keeps the file, problems in line order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImportReport {
    /// Whether the batch was applied (`false` for a dry run).
    pub applied: bool,
    /// Data rows in the file.
    pub rows_read: u64,
    /// Rows applied.
    pub rows_imported: u64,
    /// Rows not applied: failed rows that were skipped, and duplicates.
    pub rows_skipped: u64,
    /// Rows with at least one failure (skipped, or imported without a tag): what the
    /// failure share counts.
    pub rows_failed: u64,
    /// Customers registered by the import.
    pub customers_created: u64,
    /// Existing customers whose tags changed.
    pub customers_updated: u64,
    /// Existing customers whose tags were already as listed.
    pub customers_unchanged: u64,
    /// Memberships that did not exist before.
    pub memberships_added: u64,
    /// Memberships removed by overwriting.
    pub memberships_removed: u64,
    /// Names of the tags created, in order of first appearance.
    pub tags_created: Vec<String>,
    /// The failures in line order: all of them, or the first [`MAX_LISTED_FAILURES`](crate::import::MAX_LISTED_FAILURES) when
    /// there are more (`failure_counts` counts every one).
    pub failures: Vec<Failure>,
    /// Rows skipped because an earlier row has the same number, in line order.
    pub duplicates: Vec<Duplicate>,
    /// How many failures of each kind.
    pub failure_counts: BTreeMap<FailureKind, u64>,
    /// The failure share the import accepts, in basis points (1,000 = 10%).
    pub failure_limit_basis_points: u32,
    /// The line of the header row, if the file has one.
    pub header_line: Option<u64>,
    /// The key column, counting from 1.
    pub key_column: u32,
    /// The tags column, counting from 1, if the file has one.
    pub tags_column: Option<u32>,
    /// The country column, counting from 1, if the file's header names one.
    pub country_column: Option<u32>,
    /// What to check in rows that were read (an extension split off, a number that is not
    /// a mobile, digits read with another country's code), in line order: all of them, or
    /// the first [`MAX_LISTED_FAILURES`](crate::import::MAX_LISTED_FAILURES).
    pub warnings: Vec<Warning>,
    /// How many warnings of each kind.
    pub warning_counts: BTreeMap<WarningKind, u64>,
    /// Columns without a header whose values were ignored (see
    /// [`UnnamedColumns`](crate::import::UnnamedColumns)), by column.
    #[cfg_attr(feature = "serde", serde(default))]
    pub ignored_columns: Vec<IgnoredColumn>,
}

impl ImportReport {
    /// The share of rows that failed (0.0 for an empty file).
    pub fn failed_share(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rows_failed as f64 / self.rows_read as f64
        }
    }

    /// Whether more rows failed than the importer accepts: an import of this file is
    /// refused (import guides of WhatsApp and LINE tagging tools: "if over 10% failed, stop
    /// and fix the file").
    pub fn over_failure_limit(&self) -> bool {
        u128::from(self.rows_failed) * 10_000
            > u128::from(self.failure_limit_basis_points) * u128::from(self.rows_read)
    }
}

impl ImportReport {
    /// One line per column without a header whose values were ignored (the first
    /// [`LISTED_COLUMNS`], then how many more).
    fn write_ignored_columns(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let were = if self.applied { "were" } else { "would be" };
        for c in self.ignored_columns.iter().take(LISTED_COLUMNS) {
            writeln!(
                f,
                "Column {} has no header, so its values {were} ignored ({}, first at line {}: \
                 {}); to import them as tags, put them in the tags column.",
                c.column,
                plural(c.rows, "row", "rows"),
                c.first_line,
                quote(&c.first_value)
            )?;
        }
        match self.ignored_columns.len().saturating_sub(LISTED_COLUMNS) {
            0 => {}
            1 => {
                let was = if self.applied { "was" } else { "would be" };
                writeln!(f, "Another column without a header {was} ignored too.")?
            }
            more => writeln!(
                f,
                "{more} more columns without a header {were} ignored too."
            )?,
        }
        Ok(())
    }
}

/// How many columns without a header a report's text lists one by one.
const LISTED_COLUMNS: usize = 5;

impl fmt::Display for ImportReport {
    /// The report for the person who keeps the file: what was (or, for a dry run, would
    /// be) imported, created and changed, the failed rows and every listed failure and
    /// duplicate in line order. The alternate form (`{:#}`, [`ImportReport::summary`])
    /// gives the counts and only the first few failures of each reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_counts(f)?;
        if f.alternate() {
            self.write_grouped(f)?;
        } else {
            self.write_listed(f)?;
        }
        self.write_warnings(f, f.alternate())?;
        self.write_verdict(f)
    }
}

/// How many failures of each reason the summary form lists.
const SUMMARY_PER_REASON: usize = 3;

impl ImportReport {
    /// The summary form of the report: the counts, then per reason how many failures and
    /// the first few of them, then the duplicates' count and the first few; what a refused
    /// import of thousands of rows should print. The same as `format!("{report:#}")`.
    ///
    /// ```
    /// use audience::import::Importer;
    /// use audience::{Day, Edit, Store};
    ///
    /// let today = Day::from_ymd(2025, 6, 18)?;
    /// let file = "phone,tags\n12,VIP\n13,VIP\n14,VIP\n15,VIP\n85291234567,VIP\n";
    /// let report = Importer::new().dry_run_str(&Store::new(), file, &Edit::new("import", today))?;
    /// assert_eq!(
    ///     report.summary(),
    ///     "5 rows read: 1 would be imported, 4 would be skipped.\n\
    ///      Customers: 1 would be created, 0 would be updated, 0 unchanged. \
    ///      Memberships: 0 would be added, 0 would be removed.\n\
    ///      Failed rows: 5 of 5 (100%), with 5 failures:\n\
    ///      \x20 invalid phone number: 4, the first 3:\n\
    ///      \x20   line 2, column 1 (phone): \"12\": number \"12\" has no country code: write it with the country code, e.g. 85291234567, or set a default country; row skipped\n\
    ///      \x20   line 3, column 1 (phone): \"13\": number \"13\" has no country code: write it with the country code, e.g. 85291234567, or set a default country; row skipped\n\
    ///      \x20   line 4, column 1 (phone): \"14\": number \"14\" has no country code: write it with the country code, e.g. 85291234567, or set a default country; row skipped\n\
    ///      \x20 unknown tag: 1\n\
    ///      \x20   line 6, column 2 (tags): \"VIP\": unknown tag \"VIP\"; tag ignored\n\
    ///      More than 10% of the rows failed: stop and fix the file, then import it again."
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn summary(&self) -> String {
        format!("{self:#}")
    }

    /// The counts: rows, customers, memberships, tags created, ignored columns, failed
    /// rows and failures.
    fn write_counts(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (imported, skipped, created) = if self.applied {
            ("imported", "skipped", "created")
        } else {
            ("would be imported", "would be skipped", "would be created")
        };
        write!(
            f,
            "{} read: {} {imported}, {} {skipped}",
            plural(self.rows_read, "row", "rows"),
            self.rows_imported,
            self.rows_skipped,
        )?;
        match self.duplicates.len() as u64 {
            0 => writeln!(f, ".")?,
            n => writeln!(f, " ({}).", plural(n, "duplicate", "duplicates"))?,
        }
        let (updated, added, removed) = if self.applied {
            ("updated", "added", "removed")
        } else {
            ("would be updated", "would be added", "would be removed")
        };
        writeln!(
            f,
            "Customers: {} {created}, {} {updated}, {} unchanged. \
             Memberships: {} {added}, {} {removed}.",
            self.customers_created,
            self.customers_updated,
            self.customers_unchanged,
            self.memberships_added,
            self.memberships_removed
        )?;
        if !self.tags_created.is_empty() {
            let names: Vec<String> = self.tags_created.iter().map(|n| quote(n)).collect();
            let tags = noun(names.len() as u64, "Tag", "Tags");
            writeln!(f, "{tags} {created}: {}.", names.join(", "))?;
        }
        self.write_ignored_columns(f)?;
        if self.rows_failed > 0 {
            let failures: u64 = self.failure_counts.values().sum();
            write!(
                f,
                "Failed rows: {} of {} ({}), with {}",
                self.rows_failed,
                self.rows_read,
                Percent(self.rows_failed, self.rows_read),
                plural(failures, "failure", "failures")
            )?;
            if failures != self.rows_failed {
                write!(f, " (a row can fail for more than one reason)")?;
            }
            writeln!(f, ":")?;
        }
        Ok(())
    }

    /// Every listed failure and duplicate in line order, under the counts per reason.
    fn write_listed(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows_failed > 0 {
            for (kind, n) in &self.failure_counts {
                writeln!(f, "  {kind}: {n}")?;
            }
        }
        let mut failures = self.failures.iter().peekable();
        let mut duplicates = self.duplicates.iter().peekable();
        loop {
            let take_failure = match (failures.peek(), duplicates.peek()) {
                (Some(a), Some(b)) => a.line <= b.line,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_failure {
                if let Some(x) = failures.next() {
                    writeln!(f, "  {x}")?;
                }
            } else if let Some(x) = duplicates.next() {
                writeln!(f, "  {x}")?;
            }
        }
        let counted: u64 = self.failure_counts.values().sum();
        let unlisted = counted.saturating_sub(self.failures.len() as u64);
        if unlisted > 0 {
            let failures = noun(unlisted, "failure", "failures");
            writeln!(f, "  ... and {unlisted} more {failures}, not listed")?;
        }
        Ok(())
    }

    /// Per reason, its count and its first few failures; then the duplicates alike.
    fn write_grouped(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, &n) in &self.failure_counts {
            let first: Vec<&Failure> = self
                .failures
                .iter()
                .filter(|x| x.reason.kind() == *kind)
                .take(SUMMARY_PER_REASON)
                .collect();
            if (first.len() as u64) < n {
                writeln!(f, "  {kind}: {n}, the first {}:", first.len())?;
            } else {
                writeln!(f, "  {kind}: {n}")?;
            }
            for x in first {
                writeln!(f, "    {x}")?;
            }
        }
        let n = self.duplicates.len();
        if n > 0 {
            let shown = n.min(SUMMARY_PER_REASON);
            if shown < n {
                writeln!(f, "Duplicates: {n}, the first {shown}:")?;
            } else {
                writeln!(f, "Duplicates: {n}")?;
            }
            for x in self.duplicates.iter().take(shown) {
                writeln!(f, "  {x}")?;
            }
        }
        Ok(())
    }

    /// Whether the file must be fixed.
    fn write_verdict(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = Percent(u64::from(self.failure_limit_basis_points), 10_000);
        if self.over_failure_limit() {
            write!(
                f,
                "More than {limit} of the rows failed: stop and fix the file, then import it again."
            )
        } else if self.rows_failed > 0 {
            write!(
                f,
                "Within the {limit} of failed rows allowed; fix the rows above and import them again."
            )
        } else {
            write!(f, "No failures.")
        }
    }
}

impl ImportReport {
    /// The warnings block of the text form: counts by kind, then each warning (in the
    /// summary form, the first few of each kind).
    fn write_warnings(&self, f: &mut fmt::Formatter<'_>, summary: bool) -> fmt::Result {
        let counted: u64 = self.warning_counts.values().sum();
        if counted == 0 {
            return Ok(());
        }
        writeln!(f, "Warnings: {counted} (rows imported; check them).")?;
        for (kind, n) in &self.warning_counts {
            writeln!(f, "  {kind}: {n}")?;
        }
        let mut shown = 0u64;
        if summary {
            for kind in self.warning_counts.keys() {
                let of_kind = self.warnings.iter().filter(|w| w.reason.kind() == *kind);
                for warning in of_kind.take(SUMMARY_PER_REASON) {
                    writeln!(f, "  {warning}")?;
                    shown += 1;
                }
            }
        } else {
            for warning in &self.warnings {
                writeln!(f, "  {warning}")?;
                shown += 1;
            }
        }
        let unlisted = counted.saturating_sub(shown);
        if unlisted > 0 {
            let warnings = noun(unlisted, "warning", "warnings");
            writeln!(f, "  ... and {unlisted} more {warnings}, not listed")?;
        }
        Ok(())
    }
}

/// Something to check about a row that was read: its number had an extension, is not a
/// mobile, or was read with the country code of a country that is not expected. The row is
/// imported (a warning is not a failure).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Warning {
    /// The line the row starts on, counting from 1.
    pub line: u64,
    /// The column, counting from 1.
    pub column: u32,
    /// The value as written, trimmed (at most 100 characters).
    pub value: String,
    /// What to check.
    pub reason: WarningReason,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (phone): {}: {}; row imported",
            self.line,
            self.column,
            quote(&self.value),
            self.reason
        )
    }
}

/// What a [`Warning`] is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum WarningReason {
    /// An extension was split off the number; the number was imported without it.
    Extension {
        /// The number.
        phone: Phone,
        /// The extension's digits.
        extension: String,
    },
    /// The number is a fixed line, toll-free or shared-cost number: WhatsApp and LINE
    /// reach mobiles.
    NotMobile {
        /// The number.
        phone: Phone,
        /// What it is.
        line_type: LineType,
    },
    /// The digits begin with the calling code of a country that is not expected, and no
    /// expected country's national reading fits: read internationally.
    OtherCountryCode {
        /// The number as read.
        phone: Phone,
    },
}

impl WarningReason {
    /// The kind, for counting.
    pub fn kind(&self) -> WarningKind {
        match self {
            WarningReason::Extension { .. } => WarningKind::Extension,
            WarningReason::NotMobile { .. } => WarningKind::NotMobile,
            WarningReason::OtherCountryCode { .. } => WarningKind::OtherCountryCode,
        }
    }
}

impl fmt::Display for WarningReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WarningReason::Extension { phone, extension } => write!(
                f,
                "extension {extension} split off, the number {phone} kept"
            ),
            WarningReason::NotMobile { phone, line_type } => {
                let what = match line_type {
                    LineType::FixedLine => "a fixed-line number",
                    LineType::TollFree => "a toll-free number",
                    LineType::SharedCost => "a shared-cost number",
                    _ => "not a mobile number",
                };
                write!(
                    f,
                    "{what} ({phone}): WhatsApp and LINE reach mobiles, so messages may not \
                     arrive"
                )
            }
            WarningReason::OtherCountryCode { phone } => write!(
                f,
                "read as {phone} with the country code +{}, which is not an expected \
                 country, since no expected country's number fits",
                phone.country_code()
            ),
        }
    }
}

/// The kinds of [`WarningReason`], for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum WarningKind {
    /// [`WarningReason::Extension`].
    Extension,
    /// [`WarningReason::NotMobile`].
    NotMobile,
    /// [`WarningReason::OtherCountryCode`].
    OtherCountryCode,
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WarningKind::Extension => "extension split off",
            WarningKind::NotMobile => "not a mobile number",
            WarningKind::OtherCountryCode => "read with another country's code",
        })
    }
}

/// `n / d` as a percentage with one decimal, without floating point in tests' way.
pub(crate) struct Percent(u64, u64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 == 0 {
            return f.write_str("0%");
        }
        let tenths = (u128::from(self.0) * 1000 + u128::from(self.1) / 2) / u128::from(self.1);
        if tenths % 10 == 0 {
            write!(f, "{}%", tenths / 10)
        } else {
            write!(f, "{}.{}%", tenths / 10, tenths % 10)
        }
    }
}

/// A column without a header whose values were ignored, not read as tags (a notes column
/// after the tags, a value typed past the last named column). Not a failure: the rows were
/// imported without it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IgnoredColumn {
    /// The column, counting from 1.
    pub column: u32,
    /// Data rows with a value in it.
    pub rows: u64,
    /// The line of the first of them.
    pub first_line: u64,
    /// Its value there, trimmed (at most 100 characters).
    pub first_value: String,
}

/// Which field of a row a failure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Field {
    /// The phone number.
    Phone,
    /// The member id.
    MemberId,
    /// A tag name.
    Tags,
    /// The row's country.
    Country,
}

/// What a failure did to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Effect {
    /// The row was not imported.
    RowSkipped,
    /// The row was imported without this tag.
    TagIgnored,
}

/// One problem in one row.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Failure {
    /// The line the row starts on, counting from 1 (a byte order mark or `sep=` line
    /// included, as an editor counts).
    pub line: u64,
    /// The column, counting from 1 as spreadsheets do.
    pub column: u32,
    /// Which field.
    pub field: Field,
    /// The value as written, trimmed (at most 100 characters). For tags, the one name.
    pub value: String,
    /// Why it failed.
    pub reason: FailureReason,
    /// What happened to the row.
    pub effect: Effect,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = match self.field {
            Field::Phone => "phone",
            Field::MemberId => "member id",
            Field::Tags => "tags",
            Field::Country => "country",
        };
        let effect = match self.effect {
            Effect::RowSkipped => "row skipped",
            Effect::TagIgnored => "tag ignored",
        };
        write!(
            f,
            "line {}, column {} ({field}): {}: ",
            self.line,
            self.column,
            quote(&self.value)
        )?;
        match &self.reason {
            FailureReason::UnknownTag { suggestion } => {
                write!(f, "unknown tag {}", quote(&self.value))?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean {}?)", quote(s))?;
                }
            }
            other => write!(f, "{other}")?,
        }
        write!(f, "; {effect}")
    }
}

/// Why a value failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum FailureReason {
    /// The phone number does not normalise (the phone module's reason).
    InvalidPhone(PhoneError),
    /// The country column names no country the importer knows (a covered country's code or
    /// name, or a calling code).
    UnknownCountry,
    /// The number is in scientific notation (`8.52912E+10`): Excel showed a long number
    /// that way and its last digits are lost.
    ScientificNotation,
    /// The member id is empty, too long or has control characters.
    InvalidMemberId {
        /// Why.
        reason: String,
    },
    /// No tag has this name.
    UnknownTag {
        /// The nearest existing name, when one is close.
        suggestion: Option<String>,
    },
    /// Tags of this name exist in several dimensions; write it as `dimension:name`.
    AmbiguousTag {
        /// The dimensions that have it.
        dimensions: Vec<String>,
    },
    /// The tag is archived and takes no new members.
    ArchivedTag,
    /// A name the taxonomy refuses for a new tag (too long, control characters).
    InvalidTagName {
        /// Why.
        reason: String,
    },
    /// A new tag's name that breaks one of the policy's naming rules (see
    /// [`NamingRules`](crate::NamingRules)).
    NamingRule {
        /// The rule it breaks.
        rule: String,
    },
}

impl FailureReason {
    /// The kind, for counting.
    pub fn kind(&self) -> FailureKind {
        match self {
            FailureReason::InvalidPhone(PhoneError::AmbiguousCountry { .. }) => {
                FailureKind::AmbiguousCountry
            }
            FailureReason::InvalidPhone(_) => FailureKind::InvalidPhone,
            FailureReason::UnknownCountry => FailureKind::UnknownCountry,
            FailureReason::ScientificNotation => FailureKind::ScientificNotation,
            FailureReason::InvalidMemberId { .. } => FailureKind::InvalidMemberId,
            FailureReason::UnknownTag { .. } => FailureKind::UnknownTag,
            FailureReason::AmbiguousTag { .. } => FailureKind::AmbiguousTag,
            FailureReason::ArchivedTag => FailureKind::ArchivedTag,
            FailureReason::InvalidTagName { .. } => FailureKind::InvalidTagName,
            FailureReason::NamingRule { .. } => FailureKind::NamingRule,
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::InvalidPhone(e) => write!(f, "{e}"),
            FailureReason::UnknownCountry => f.write_str(
                "unknown country: write a country code (HK, TW, CN, TH, RU, SA, AE), its name, \
                 or its calling code (852)",
            ),
            FailureReason::ScientificNotation => f.write_str(
                "the number is in scientific notation, so its last digits are lost: format \
                 the column as text in the spreadsheet and export it again",
            ),
            FailureReason::InvalidMemberId { reason } => write!(f, "invalid member id: {reason}"),
            FailureReason::UnknownTag { suggestion } => {
                f.write_str("unknown tag")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean {}?)", quote(s))?;
                }
                Ok(())
            }
            FailureReason::AmbiguousTag { dimensions } => write!(
                f,
                "the tag name exists in dimensions {}; write it as dimension:name",
                dimensions.join(", ")
            ),
            FailureReason::ArchivedTag => f.write_str("the tag is archived"),
            FailureReason::InvalidTagName { reason } => write!(f, "invalid tag name: {reason}"),
            FailureReason::NamingRule { rule } => write!(f, "breaks a naming rule: {rule}"),
        }
    }
}

/// The kinds of [`FailureReason`], for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum FailureKind {
    /// [`FailureReason::InvalidPhone`].
    InvalidPhone,
    /// [`FailureReason::InvalidPhone`] with [`PhoneError::AmbiguousCountry`]: a number valid
    /// in several expected countries.
    AmbiguousCountry,
    /// [`FailureReason::UnknownCountry`].
    UnknownCountry,
    /// [`FailureReason::ScientificNotation`].
    ScientificNotation,
    /// [`FailureReason::InvalidMemberId`].
    InvalidMemberId,
    /// [`FailureReason::UnknownTag`].
    UnknownTag,
    /// [`FailureReason::AmbiguousTag`].
    AmbiguousTag,
    /// [`FailureReason::ArchivedTag`].
    ArchivedTag,
    /// [`FailureReason::InvalidTagName`].
    InvalidTagName,
    /// [`FailureReason::NamingRule`].
    NamingRule,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::InvalidPhone => "invalid phone number",
            FailureKind::AmbiguousCountry => "phone number fits several countries",
            FailureKind::UnknownCountry => "unknown country",
            FailureKind::ScientificNotation => "number in scientific notation",
            FailureKind::InvalidMemberId => "invalid member id",
            FailureKind::UnknownTag => "unknown tag",
            FailureKind::AmbiguousTag => "ambiguous tag",
            FailureKind::ArchivedTag => "archived tag",
            FailureKind::InvalidTagName => "invalid tag name",
            FailureKind::NamingRule => "tag name breaks a naming rule",
        })
    }
}

/// A row skipped because an earlier row has the same number (first occurrence wins).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Duplicate {
    /// The skipped row's line.
    pub line: u64,
    /// The line of the row that counts.
    pub first_line: u64,
    /// The number as written in the skipped row (at most 100 characters).
    pub value: String,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: duplicate of line {}; row skipped",
            self.line,
            quote(&self.value),
            self.first_line
        )
    }
}

// -----------------------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------------------

/// Why a whole import was refused. Nothing was imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input is UTF-16 (as Excel's "Unicode text" writes it), not UTF-8.
    #[error(
        "the file is UTF-16 ({}), not UTF-8: save it as UTF-8 (in Excel: Save As, \"CSV UTF-8\") and import it again",
        if *big_endian { "big-endian" } else { "little-endian" }
    )]
    Utf16 {
        /// Big-endian (`FE FF`) rather than little-endian (`FF FE`).
        big_endian: bool,
    },
    /// Bytes that are not UTF-8 (a GBK, Big5 or Windows-1252 file).
    #[error(
        "the file is not UTF-8: line {line} has the byte 0x{byte:02X}, which UTF-8 does not allow there (GBK, Big5 and Windows-1252 files look like this): save it as UTF-8 and import it again"
    )]
    NotUtf8 {
        /// The line of the first bad byte.
        line: u64,
        /// The byte.
        byte: u8,
    },
    /// Not a text file at all.
    #[error(
        "the input is {what}, not a CSV or TXT file (line {line}): save it as \"CSV UTF-8\" and import that"
    )]
    NotText {
        /// What it looks like.
        what: &'static str,
        /// Where that showed.
        line: u64,
    },
    /// More input than [`Importer::max_input_bytes`](crate::Importer::max_input_bytes).
    #[error("the input is larger than {limit} bytes, the most one import reads: split the file")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// More rows than [`Importer::max_rows`](crate::Importer::max_rows).
    #[error(
        "the file has {rows} rows; at most {limit} are imported at once: split it into {} batches",
        rows.div_ceil((*limit).max(1))
    )]
    TooManyRows {
        /// Data rows in the file.
        rows: u64,
        /// The limit.
        limit: u64,
    },
    /// A header row without a key column.
    #[error(
        "no {} column: the header row has {}; name the column {} or give its position",
        match kind { KeyKind::Phone => "phone", KeyKind::MemberId => "member id" },
        header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(", "),
        match kind {
            KeyKind::Phone => "\"phone\" (or 電話, 手机, โทรศัพท์, телефон, هاتف)",
            KeyKind::MemberId => "\"member id\" (or 會員編號, 会员编号, รหัสสมาชิก)",
        }
    )]
    NoKeyColumn {
        /// What the key column should hold.
        kind: KeyKind,
        /// The header row's fields (trimmed, at most 100 characters each).
        header: Vec<String>,
    },
    /// The header has no column of the name
    /// [`Importer::country_column`](crate::Importer::country_column) gives, or the file has
    /// no header row.
    #[error(
        "the file has no country column {}: {}",
        quote(name),
        match header {
            Some(header) => format!(
                "its header's columns are {}",
                header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(", ")
            ),
            None => "it has no header row".to_string(),
        }
    )]
    NoCountryColumn {
        /// The name asked for.
        name: String,
        /// The header row's fields (trimmed, at most 100 characters each), if the file
        /// has a header row.
        header: Option<Vec<String>>,
    },
    /// More tags to create than [`Importer::max_new_tags`](crate::Importer::max_new_tags).
    #[error(
        "the file would create {count} new tags, more than the {limit} one import may create: check that the tags column holds tag names, or create the tags first"
    )]
    TooManyNewTags {
        /// Tags the file would create.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// A field longer than [`MAX_FIELD_BYTES`](crate::import::MAX_FIELD_BYTES): almost always a quote that is never
    /// closed, which takes in the rest of the file.
    #[error(
        "line {line}, column {column}: a field is longer than {limit} bytes, the most one field may hold: check that every quote in the file is closed"
    )]
    FieldTooLarge {
        /// The line the row starts on.
        line: u64,
        /// The field's column, counting from 1.
        column: u32,
        /// The limit in bytes.
        limit: u64,
    },
    /// A row whose fields hold more than [`MAX_ROW_BYTES`](crate::import::MAX_ROW_BYTES) together.
    #[error(
        "line {line}: the row is longer than {limit} bytes, the most one row may hold: check that every quote in the file is closed"
    )]
    RowTooLarge {
        /// The line the row starts on.
        line: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A row with more than [`MAX_ROW_FIELDS`](crate::import::MAX_ROW_FIELDS) fields.
    #[error(
        "line {line}: the row has more than {limit} fields, the most one row may have: check the separator"
    )]
    TooManyFields {
        /// The line the row starts on.
        line: u64,
        /// The limit.
        limit: u64,
    },
    /// More different tag names than [`MAX_TAG_NAMES`](crate::import::MAX_TAG_NAMES).
    #[error(
        "the file lists more than {limit} different tag names (line {line} has one more): check that the tags column holds tag names"
    )]
    TooManyTagNames {
        /// The line of the first name over the limit.
        line: u64,
        /// The limit.
        limit: u64,
    },
    /// A spreadsheet ([`Importer::import_sheet`](crate::Importer::import_sheet), the
    /// `xlsx` feature) that could not be read.
    #[error("the spreadsheet could not be read: {reason}")]
    Spreadsheet {
        /// Why (the reader's message, at most 100 characters).
        reason: String,
    },
    /// A workbook (`.xlsx`, `.ods`, zip archives of parts) whose parts unpack to more than
    /// [`MAX_UNPACKED_FACTOR`](crate::import::MAX_UNPACKED_FACTOR) times
    /// [`Importer::max_input_bytes`](crate::Importer::max_input_bytes) together: checked
    /// before the workbook is read, so a small file that unpacks to gigabytes (a "zip
    /// bomb") is refused without being unpacked.
    #[error(
        "the spreadsheet could not be read: its parts unpack to more than {limit} bytes (past it at {}), the most a workbook may for this import (4 times its input limit): split the list, or save it as \"CSV UTF-8\" and import that",
        quote(part)
    )]
    WorkbookTooLarge {
        /// The part that takes the total past the limit.
        part: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A part of a workbook over
    /// [`TIGHT_PACKING_FLOOR`](crate::import::TIGHT_PACKING_FLOOR) bytes that unpacks to
    /// more than [`MAX_PACKING_RATIO`](crate::import::MAX_PACKING_RATIO) times its packed
    /// size, which spreadsheet programs never write and zip bombs do.
    #[error(
        "the spreadsheet could not be read: its part {} unpacks to more than {limit} times its packed size, which no spreadsheet program writes: save the list as \"CSV UTF-8\" and import that",
        quote(part)
    )]
    WorkbookPackedTooTightly {
        /// The part.
        part: String,
        /// The largest ratio allowed.
        limit: u64,
    },
    /// An `.ods` workbook whose sheets spread out to more cells than the import allows:
    /// its reader holds a cell repeated across columns once per column, and a sheet's
    /// rows as wide as its widest one, so a few bytes can ask for gigabytes. The limit is
    /// one cell per 64 bytes of [`MAX_UNPACKED_FACTOR`](crate::import::MAX_UNPACKED_FACTOR)
    /// times [`Importer::max_input_bytes`](crate::Importer::max_input_bytes), counted
    /// before the sheets are read.
    #[error(
        "the spreadsheet could not be read: its sheets spread out to more than {limit} cells (repeated cells and the rows between counted one by one), the most a workbook may for this import: delete the empty rows and columns, or save it as \"CSV UTF-8\" and import that"
    )]
    SheetTooLarge {
        /// The most cells.
        limit: u64,
    },
    /// An Excel 97-2003 (`.xls`) workbook whose reader would hold more than
    /// [`MAX_HELD_FACTOR`](crate::import::MAX_HELD_FACTOR) times
    /// [`Importer::max_input_bytes`](crate::Importer::max_input_bytes): it reads every sheet
    /// whole, each as a grid from its first to its last cell, so a few bytes (a cell far
    /// away, a size the file declares) can ask for gigabytes. Sized from the file's record
    /// headers before it is read.
    #[error(
        "the spreadsheet could not be read: reading it would take more than {limit} bytes of memory (its sheets held whole, each as a grid from its first to its last cell), the most a workbook may for this import (8 times its input limit): delete the empty rows and columns, split the list, or save it as .xlsx or \"CSV UTF-8\" and import that"
    )]
    WorkbookTooLargeToRead {
        /// The most bytes.
        limit: u64,
    },
    /// The workbook has no sheet of the name [`Importer::sheet`](crate::Importer::sheet)
    /// gives (or no sheet at all).
    #[error(
        "the workbook has no sheet {}: its sheets are {}",
        quote(name),
        if sheets.is_empty() { "none".to_string() } else { sheets.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ") }
    )]
    NoSuchSheet {
        /// The name asked for.
        name: String,
        /// The workbook's sheets, in order.
        sheets: Vec<String>,
    },
    /// The CSV structure could not be read.
    #[error("malformed CSV at line {line}: {message}")]
    Malformed {
        /// Where.
        line: u64,
        /// The CSV reader's message.
        message: String,
    },
    /// More rows failed than [`Importer::max_failed_share`](crate::Importer::max_failed_share) allows. The report says which.
    #[error(
        "import refused: {failed} of {rows} {} failed ({}), more than the {} allowed; nothing was imported: stop and fix the file, then import it again",
        crate::base::text::noun(*rows, "row", "rows"),
        Percent(*failed, *rows),
        Percent(u64::from(*limit_basis_points), 10_000)
    )]
    Refused {
        /// Rows with failures.
        failed: u64,
        /// Rows read.
        rows: u64,
        /// The accepted share in basis points.
        limit_basis_points: u32,
        /// What the import would have done, with every failure.
        report: Box<ImportReport>,
    },
}
/// What the key column holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum KeyKind {
    /// Phone numbers, normalised to E.164 (the default).
    #[default]
    Phone,
    /// The app's member ids, taken as they are (trimmed). The header names recognised for
    /// the key column are then `member id`, `member`, `customer id`, `id`, `會員編號`,
    /// `会员编号`, `รหัสสมาชิก`, `id клиента`, `رقم العضوية`, ...
    MemberId,
}
