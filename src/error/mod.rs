//! The crate's one error type.
//!
//! Every fallible call returns [`Error`], an opaque, cheap-to-move wrapper around an
//! [`ErrorKind`] that says exactly what went wrong. Match on [`Error::kind`]; the kind is
//! `#[non_exhaustive]` so new failure modes can be added without a breaking change. The
//! `Display` text of every kind is part of the tested contract.

mod import;
mod journal;
mod rfm;
mod snapshot;

pub use import::{
    Duplicate, Effect, Failure, FailureKind, FailureReason, Field, IgnoredColumn, ImportError,
    ImportReport, KeyKind, Warning, WarningKind, WarningReason,
};
pub use journal::{JournalError, JournalProblem};
pub use rfm::RfmScore;
use rfm::fmt_cells;
pub use snapshot::{Section, SnapshotError, SnapshotProblem};

use std::fmt;
use std::sync::Arc;

use crate::base::text::{counted, thousands};
pub(crate) use crate::base::text::{quote, quote_char};

/// The error type of every fallible operation in the crate.
///
/// ```
/// use audience::{Day, ErrorKind};
///
/// let err = "2023-02-30".parse::<Day>().unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidDay { .. }));
/// assert_eq!(err.to_string(), "invalid day \"2023-02-30\": no such date");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: Box<ErrorKind>,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.kind
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    /// The error underneath: the reader's or writer's [`std::io::Error`] for
    /// [`ErrorKind::Io`]; `None` for the crate's own errors, whose message says it all.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

impl Error {
    /// A name, id or key the store does not know: a customer, tag, attribute, dimension,
    /// group, query set or RFM segment (the message carries a did-you-mean where one is
    /// close). Callers typically ask the user to pick from the existing names.
    ///
    /// ```
    /// use audience::{Query, Store};
    ///
    /// let store = Store::new();
    /// let err = store.tag_id("vip").unwrap_err();
    /// assert!(err.is_unknown_name());
    /// let err = store.count(&Query::parse("vip")?, audience::Day::EPOCH).unwrap_err();
    /// assert!(err.is_unknown_name());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn is_unknown_name(&self) -> bool {
        names_unknown(&self.kind)
    }

    /// The taxonomy's policy refused the change: the actor is not an administrator, a
    /// reason is missing, or a naming rule is broken. Nothing changed.
    pub fn is_not_permitted(&self) -> bool {
        matches!(
            &*self.kind,
            ErrorKind::NotPermitted { .. }
                | ErrorKind::ReasonRequired { .. }
                | ErrorKind::NamingRule { .. }
        )
    }

    /// A size limit was reached: a name, list or count over the crate's limits, the id
    /// space, a query too long or too deep, an import file over its row, field or size
    /// limits. Splitting the input usually helps.
    pub fn is_limit_exceeded(&self) -> bool {
        match &*self.kind {
            ErrorKind::LimitExceeded { .. }
            | ErrorKind::IdSpaceExhausted(_)
            | ErrorKind::SplitTooLarge { .. } => true,
            ErrorKind::Query(q) => {
                matches!(
                    q.problem,
                    QueryProblem::TooLong { .. } | QueryProblem::TooDeep { .. }
                )
            }
            ErrorKind::Import(e) => matches!(
                e,
                ImportError::TooLarge { .. }
                    | ImportError::TooManyRows { .. }
                    | ImportError::TooManyNewTags { .. }
                    | ImportError::FieldTooLarge { .. }
                    | ImportError::RowTooLarge { .. }
                    | ImportError::TooManyFields { .. }
                    | ImportError::TooManyTagNames { .. }
            ),
            _ => false,
        }
    }

    /// Bytes that are not what they claim to be: a damaged, truncated or foreign
    /// snapshot, or a journal that cannot be replayed. Nothing was loaded or applied.
    pub fn is_corrupt_input(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Snapshot(_) | ErrorKind::Journal(_))
    }

    /// The caller's reader or writer failed ([`ErrorKind::Io`]); the I/O error is the
    /// [`source`](std::error::Error::source).
    pub fn is_io(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Io { .. })
    }
}

/// Whether `kind` is about a name, id or key the store does not know (for
/// [`Error::is_unknown_name`]; a query's binding error is looked into, not copied).
fn names_unknown(kind: &ErrorKind) -> bool {
    match kind {
        ErrorKind::UnknownCustomer { .. }
        | ErrorKind::UnknownCustomerId { .. }
        | ErrorKind::CustomerIdNeverIssued { .. }
        | ErrorKind::UnknownTag { .. }
        | ErrorKind::UnknownTagId { .. }
        | ErrorKind::UnknownAttribute { .. }
        | ErrorKind::UnknownDimension { .. }
        | ErrorKind::UnknownGroup { .. } => true,
        ErrorKind::SettingAttribute { holds, .. } => holds.is_none(),
        ErrorKind::Query(q) => match &q.problem {
            QueryProblem::UnknownSet { .. } | QueryProblem::UnknownSegment { .. } => true,
            QueryProblem::Resolve(inner) => names_unknown(inner),
            _ => false,
        },
        _ => false,
    }
}

/// "the store has issued 7 ids (0 to 6)", for [`ErrorKind::CustomerIdNeverIssued`].
fn issued_ids(issued: u64) -> String {
    match issued {
        0 => "the store has issued no ids yet".to_string(),
        1 => "the store has issued 1 id (0)".to_string(),
        n => format!("the store has issued {} ids (0 to {})", thousands(n), n - 1),
    }
}

/// An I/O error of the caller's reader or writer, kept as itself and shared, so that
/// [`Error`] stays `Clone`. Two are equal when their kinds and messages are.
#[derive(Clone, Debug)]
pub struct IoError(Arc<std::io::Error>);

impl IoError {
    /// The I/O error.
    pub fn get(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoError {
    fn from(e: std::io::Error) -> IoError {
        IoError(Arc::new(e))
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &IoError) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoError {}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Error {
    /// An [`ErrorKind::Io`] for `operation` ("writing a snapshot"), keeping `e`.
    pub(crate) fn io(operation: &'static str, e: std::io::Error) -> Error {
        ErrorKind::Io {
            operation,
            kind: e.kind(),
            source: e.into(),
        }
        .into()
    }
}

/// Every way an operation can fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A decimal that does not parse, has more decimals than its attribute keeps, or does
    /// not fit.
    #[error("invalid decimal {}: {reason}", quote(input))]
    InvalidDecimal {
        /// The text that was given (at most 64 characters of it).
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A day that does not parse or does not exist.
    #[error("invalid day {}: {reason}", quote(input))]
    InvalidDay {
        /// The text that was given (at most 64 characters of it).
        input: String,
        /// Why it was refused.
        reason: String,
    },

    /// A customer key that is not valid (empty member id, phone number with non-digits...).
    #[error("invalid customer key {}: {reason}", quote(key))]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: String,
    },

    /// No live customer has this key.
    #[error("unknown customer {key}")]
    UnknownCustomer {
        /// The key as given.
        key: String,
    },

    /// No live customer has this id (never handed out, or erased).
    #[error("unknown customer id {id}")]
    UnknownCustomerId {
        /// The id as given.
        id: u32,
    },

    /// A customer id the store never handed out (ids are handed out 0, 1, 2, ...; erased
    /// ones included). Ids of another store, or made up, are refused where they are
    /// recorded, e.g. by [`SendLog::record`](crate::campaign::SendLog::record).
    #[error("customer id {id} was never issued: {}", issued_ids(*.issued))]
    CustomerIdNeverIssued {
        /// The first such id (the smallest).
        id: u32,
        /// How many ids the store has handed out (live or erased): ids `0..issued`.
        issued: u64,
    },

    /// A customer with this key exists already.
    #[error("customer {key} exists already (id {id})")]
    DuplicateCustomer {
        /// The key as given.
        key: String,
        /// The id of the existing customer.
        id: u32,
    },

    /// No tag has this name.
    #[error("unknown tag {}{}", quote(name), did_you_mean(suggestion))]
    UnknownTag {
        /// The name as given.
        name: String,
        /// The nearest existing name, when one is close.
        suggestion: Option<String>,
    },

    /// The name exists in several dimensions; qualify it as `dimension:name`.
    #[error("tag name {} is ambiguous: it exists in dimensions {}; write it as dimension:name", quote(name), dimensions.join(", "))]
    AmbiguousTag {
        /// The name as given.
        name: String,
        /// The dimensions that have a tag of that name.
        dimensions: Vec<String>,
    },

    /// No tag has this id (never created, or deleted or merged away).
    #[error("unknown tag id {id}")]
    UnknownTagId {
        /// The id as given.
        id: u32,
    },

    /// A tag with the same folded name exists in the dimension.
    #[error(
        "tag {} clashes with existing tag {} in dimension {} (names are compared ignoring case, width and extra spaces)",
        quote(name),
        quote(existing),
        quote(dimension)
    )]
    DuplicateTag {
        /// The name as given.
        name: String,
        /// The existing tag's name.
        existing: String,
        /// The dimension both belong to.
        dimension: String,
    },

    /// A tag or attribute name that is empty, too long or otherwise unusable.
    #[error("invalid name {}: {reason}", quote(name))]
    InvalidName {
        /// The name as given (at most 64 characters of it).
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// The tag is archived: it keeps its members but takes no new ones and is refused in
    /// queries.
    #[error("tag {} is archived", quote(name))]
    ArchivedTag {
        /// The tag's name.
        name: String,
    },

    /// A merge of a tag into itself, or a move from a tag to itself.
    #[error("{operation} needs two different tags, got {} twice", quote(name))]
    SameTag {
        /// The operation that was asked for.
        operation: &'static str,
        /// The tag's name.
        name: String,
    },

    /// No attribute has this name.
    #[error("unknown attribute {}{}", quote(name), did_you_mean(suggestion))]
    UnknownAttribute {
        /// The name as given.
        name: String,
        /// The nearest existing attribute name, when one is close.
        suggestion: Option<String>,
    },

    /// An attribute of this name exists already.
    #[error("attribute {} exists already", quote(name))]
    DuplicateAttribute {
        /// The name as given.
        name: String,
    },

    /// A value of the wrong type for an attribute (a day for a number, or the reverse).
    #[error("attribute {} holds {expected} values, got {found}", quote(attribute))]
    AttributeType {
        /// The attribute's name.
        attribute: String,
        /// What the attribute holds.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },

    /// An attribute that a setting reads (a preset's default name or the caller's) is
    /// missing from the store, or holds the other kind of values. The message names the
    /// setting and how to change it:
    ///
    /// ```text
    /// unknown attribute "last_purchase" (RfmConfig::recency reads it; set RfmConfig::recency(..) to your column)
    /// attribute "last_purchase_day" holds numbers, but RfmConfig::recency needs a day attribute (set RfmConfig::recency(..) to one, or convert day numbers with Store::set_days_from_numbers)
    /// ```
    #[error(
        "{}",
        setting_attribute_text(setting, attribute, holds, needs, suggestion)
    )]
    SettingAttribute {
        /// The setting that names the attribute, e.g. `RfmConfig::recency`.
        setting: &'static str,
        /// The attribute's name as the setting gives it.
        attribute: String,
        /// What the attribute holds (`"numbers"` or `"days"`); `None` when the store has no
        /// attribute of that name.
        holds: Option<&'static str>,
        /// What the setting needs, e.g. `"a day attribute"`.
        needs: &'static str,
        /// The nearest attribute name, when the attribute is missing and one is close.
        suggestion: Option<String>,
    },

    /// A bulk call whose inputs do not line up (e.g. ids and values of different lengths).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A change logged on one day but evaluated on another: the [`Edit`](crate::Edit) of a
    /// rule run or a materialised query must carry the day its
    /// [`Context`](crate::Context) evaluates on.
    #[error(
        "the edit is dated {edit_day} but the query is evaluated on {context_day}: change and evaluate on one day"
    )]
    DayMismatch {
        /// The edit's day (ISO 8601).
        edit_day: String,
        /// The evaluation context's day (ISO 8601).
        context_day: String,
    },

    /// A configuration setting out of its range, refused where the configuration is made
    /// (by the setter, or by the constructor that takes settings that depend on each
    /// other).
    #[error("invalid setting {setting}: {reason}")]
    InvalidSetting {
        /// The setting, as `Type::setter` (e.g. `HealthConfig::oversized_share`).
        setting: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A size limit that protects the process was exceeded.
    #[error("{what} exceeds the limit of {limit} (got {actual})")]
    LimitExceeded {
        /// What was too large.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// What was given.
        actual: u64,
    },

    /// A phone number that does not normalise to E.164.
    #[error(transparent)]
    InvalidPhone(#[from] crate::phone::PhoneError),

    /// No tag of the store belongs to a dimension of this name.
    #[error("unknown dimension {}{}", quote(name), did_you_mean(suggestion))]
    UnknownDimension {
        /// The name as given.
        name: String,
        /// The nearest existing dimension name, when one is close.
        suggestion: Option<String>,
    },

    /// A split or sample asks for more customers than the audience has.
    #[error(
        "the split needs {} but the audience has only {}",
        counted(*.requested, "customer", "customers"),
        thousands(*.available)
    )]
    SplitTooLarge {
        /// Customers the fixed-size groups (and holdout) need together.
        requested: u64,
        /// Customers in the audience.
        available: u64,
    },

    /// A rule that does not fit the store or the run; `error` says why (an unknown or
    /// archived tag, a query that does not bind, a template that does not render...).
    #[error("rule {}: {error}", quote(rule))]
    Rule {
        /// The rule's name.
        rule: String,
        /// What is wrong with it.
        error: Box<ErrorKind>,
    },

    /// Rules whose effects feed each other in a cycle: each writes a tag the next one's
    /// query reads, so their order (and the result) would flip from run to run.
    #[error("rules feed each other in a cycle: {}", cycle_text(rules))]
    RuleCycle {
        /// The rules of the cycle, in order; the last one feeds the first.
        rules: Vec<String>,
    },

    /// Two rules of one set have the same name (compared as tag names are).
    #[error("two rules are named {}", quote(name))]
    DuplicateRule {
        /// The name.
        name: String,
    },

    /// A tag template that does not parse (see `TagTemplate`).
    #[error("invalid tag template {}: {reason}", quote(template))]
    InvalidTemplate {
        /// The template.
        template: String,
        /// Why it was refused.
        reason: String,
    },

    /// A combination of settings that cannot be used together, found where they are used:
    /// an RFM segment map that does not fit the bins (a segment asking for R5 of four
    /// bins, a map naming no segment or one segment twice), or tiers read from a snapshot
    /// that do not hold. A single setting out of range is [`ErrorKind::InvalidSetting`].
    #[error("{what}: {reason}")]
    InvalidBuckets {
        /// What was being configured: "RFM recency bins", "tiers of lead_score"...
        what: String,
        /// Why it was refused.
        reason: String,
    },

    /// A tag template placeholder that the run gives no value for.
    #[error(
        "tag template {} needs the variable {}: pass it with the run",
        quote(template),
        quote(variable)
    )]
    MissingVariable {
        /// The template.
        template: String,
        /// The placeholder's name.
        variable: String,
    },

    /// A rule names a tag group that its rule set does not define.
    #[error("unknown tag group {}", quote(name))]
    UnknownGroup {
        /// The group's name.
        name: String,
    },

    /// A customer list that cannot be imported as a whole (not UTF-8, too many rows, no
    /// phone column, too many failed rows...). Nothing was imported.
    #[error("{0}")]
    Import(ImportError),

    /// The taxonomy's policy does not let this actor make this change (see
    /// `crate::governance`).
    #[error("actor {} may not {action}; ask an administrator ({})", quote(actor), administrators.join(", "))]
    NotPermitted {
        /// Who tried.
        actor: String,
        /// What they tried, e.g. "delete tags".
        action: &'static str,
        /// Who may.
        administrators: Vec<String>,
    },

    /// Deleting or merging a tag without a reason in the `Edit`.
    #[error("a reason is required to {action} tag {}", quote(tag))]
    ReasonRequired {
        /// "delete" or "merge".
        action: &'static str,
        /// The tag that would disappear.
        tag: String,
    },

    /// A tag name that breaks one of the policy's naming rules.
    #[error("tag name {} breaks a naming rule: {rule}", quote(name))]
    NamingRule {
        /// The name as given (tidied, at most 64 characters of it).
        name: String,
        /// The rule it breaks.
        rule: String,
    },

    /// An RFM segment map that leaves score cells without a segment.
    #[error(
        "the RFM segment map leaves {} without a segment: {}",
        cell_count(cells),
        fmt_cells(cells)
    )]
    SegmentGap {
        /// Every (R, F, M) cell no segment claims.
        cells: Vec<RfmScore>,
    },

    /// Two segments of an RFM segment map claim the same score cells.
    #[error(
        "RFM segments {} and {} both claim {}: {}",
        quote(first),
        quote(second),
        cell_count(cells),
        fmt_cells(cells)
    )]
    SegmentOverlap {
        /// The earlier segment of the map.
        first: String,
        /// The later segment of the map.
        second: String,
        /// The cells both claim.
        cells: Vec<RfmScore>,
    },

    /// Groups of an assignment (tiers, segments) that share customers: a customer belongs
    /// to one group at most.
    #[error(
        "groups {} and {} share {shared} customer(s) (e.g. id {example}); a customer can be in one group only",
        quote(first),
        quote(second)
    )]
    OverlappingGroups {
        /// The earlier group.
        first: String,
        /// The later group.
        second: String,
        /// How many customers both hold.
        shared: u64,
        /// The smallest shared customer id.
        example: u32,
    },

    /// A snapshot that cannot be read: not a snapshot, a newer format version, truncated,
    /// a checksum mismatch, or content that is malformed or contradicts itself. Names the
    /// section.
    #[error("{0}")]
    Snapshot(SnapshotError),

    /// A journal that cannot be replayed: a damaged record before the last one, a gap or
    /// repeat in the sequence numbers, a journal that does not follow the store, or a
    /// record the store refuses. Names the record's byte offset; nothing was applied.
    #[error("{0}")]
    Journal(JournalError),

    /// An entry of a snapshot's [`Extras`](crate::io::snapshot::Extras) that the snapshot cannot
    /// hold as it is, so that a reader would refuse it: a definition its own checks refuse,
    /// a query whose canonical text does not read back as the same query, a send log with
    /// customer ids the store never handed out, a name or list over the snapshot's limits.
    /// Found before anything was written.
    #[error("cannot write {what} {} to a snapshot: {reason}", quote(name))]
    SnapshotExtra {
        /// The kind of entry: "rule set", "send log", "RFM configuration" or "tiers".
        what: &'static str,
        /// The entry's name in the extras (at most 64 characters of it).
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The reader or writer given to the crate failed. The I/O error itself is kept (and is
    /// the error's [`source`](std::error::Error::source)).
    #[error("I/O error while {operation}: {source}")]
    Io {
        /// What the crate was doing ("writing a snapshot").
        operation: &'static str,
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The reader's or writer's own error.
        source: IoError,
    },

    /// A query that does not parse or does not bind to the store.
    #[error("{0}")]
    Query(QueryError),

    /// All `u32` customer ids have been handed out.
    #[error("customer id space exhausted ({0} ids handed out)")]
    IdSpaceExhausted(u64),

    /// A query term or a stored value that has no counterpart in an engine's SQL or
    /// tables (e.g. an `rfm.*` term, or a day outside ClickHouse's `Date32` range).
    #[error("cannot translate {} to {engine}: {reason}", quote(term))]
    Untranslatable {
        /// The engine, e.g. `ClickHouse`.
        engine: &'static str,
        /// The term (as query text) or the value.
        term: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// Bytes that are not a bitmap of the format they were read as.
    #[error("invalid {format} bitmap at byte {offset}: {reason}")]
    InvalidBitmap {
        /// The format, e.g. `ClickHouse groupBitmap`.
        format: &'static str,
        /// Where the problem starts, in bytes from the start of the input.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Why a number in a query is refused, when it looks like a number of another kind.
fn number_hint(text: &str) -> &'static str {
    let body = text.trim_start_matches(['-', '+']);
    let (whole, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if text.contains(',') {
        ": write numbers without thousands separators, with a point for decimals (1234.50)"
    } else if digits(whole) && digits(frac) {
        ": past the largest number an attribute holds"
    } else {
        ""
    }
}

fn setting_attribute_text(
    setting: &str,
    attribute: &str,
    holds: &Option<&'static str>,
    needs: &str,
    suggestion: &Option<String>,
) -> String {
    match holds {
        None => {
            let near = match suggestion {
                Some(s) => format!("; did you mean {}?", quote(s)),
                None => String::new(),
            };
            format!(
                "unknown attribute {} ({setting} reads it; set {setting}(..) to your column{near})",
                quote(attribute)
            )
        }
        Some(holds) => {
            // Day numbers in a number column: say how to turn them into days.
            let convert = if *holds == "numbers" && needs == "a day attribute" {
                ", or convert day numbers with Store::set_days_from_numbers"
            } else {
                ""
            };
            format!(
                "attribute {} holds {holds}, but {setting} needs {needs} (set {setting}(..) to \
                 one{convert})",
                quote(attribute)
            )
        }
    }
}

fn cycle_text(rules: &[String]) -> String {
    let mut out = String::new();
    for r in rules.iter().chain(rules.first()) {
        if !out.is_empty() {
            out.push_str(" -> ");
        }
        out.push_str(&quote(r));
    }
    out
}

fn cell_count(cells: &[RfmScore]) -> String {
    match cells.len() {
        1 => "1 score cell".to_string(),
        n => format!("{n} score cells"),
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {}?)", quote(s)),
        None => String::new(),
    }
}

/// [`ErrorKind::InvalidName`] for `name` (at most 64 characters of it are kept).
pub(crate) fn invalid_name(name: &str, reason: impl Into<String>) -> ErrorKind {
    ErrorKind::InvalidName {
        name: name.chars().take(64).collect(),
        reason: reason.into(),
    }
}

/// Shorthand for building an [`Error`] from a kind.
pub(crate) fn err<T>(kind: ErrorKind) -> Result<T, Error> {
    Err(kind.into())
}

/// A byte range in a query's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// What is wrong with a query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryProblem {
    /// Nothing to evaluate.
    #[error("empty query")]
    Empty,
    /// A token where something else was expected.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the grammar wanted here.
        expected: &'static str,
        /// What was there (quoted text, or "end of query").
        found: String,
    },
    /// A character that starts no token.
    #[error("unexpected character {}", quote_char(*.0))]
    BadChar(char),
    /// `(` without its `)`.
    #[error("unclosed parenthesis")]
    UnclosedParen,
    /// `[` without its `]`.
    #[error("unclosed bracket")]
    UnclosedBracket,
    /// `"` without its closing quote.
    #[error("unclosed quote")]
    UnclosedQuote,
    /// A number that does not parse or does not fit.
    #[error("bad number {}{}", quote(.0), number_hint(.0))]
    BadNumber(String),
    /// A day literal that does not exist.
    #[error("bad day {}: expected YYYY-MM-DD", quote(.0))]
    BadDay(String),
    /// A duration that is not `<N>d`, `<N>w`, `<N>mo` or `<N>y`, or is too long.
    #[error(
        "bad duration {}: expected a whole number and a unit: 30d (days), 2w (weeks), 3mo \
         (months) or 1y (years)",
        quote(.0)
    )]
    BadDuration(String),
    /// The query text is too long.
    #[error("query is {len} bytes long, the limit is {limit}")]
    TooLong {
        /// The query's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Parentheses or NOTs nest too deeply.
    #[error("query nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A caller-supplied set (`@name`) that the evaluation context lacks.
    #[error("unknown set @{name}: pass it in the evaluation context")]
    UnknownSet {
        /// Its name.
        name: String,
    },
    /// A comparison that does not fit the attribute (a day for a number, text for a
    /// number, WITHIN on a number...).
    #[error("{0}")]
    Mismatch(String),
    /// A name that does not resolve in the store (unknown, ambiguous or archived tag,
    /// unknown attribute, attribute type...).
    #[error("{0}")]
    Resolve(Box<ErrorKind>),
    /// An RFM score outside the scores' range (`rfm.r >= 7` when recency has 5 bins).
    #[error("{term} scores run from 1 to {bins}, got {score}")]
    ScoreOutOfRange {
        /// The term: `rfm.r`, `rfm.f` or `rfm.m`.
        term: String,
        /// The number of bins, the highest score.
        bins: u8,
        /// The score asked for.
        score: i64,
    },
    /// `BETWEEN lo AND hi` with `lo` above `hi`, which no value could match.
    #[error(
        "BETWEEN {lo} AND {hi} matches nothing: the lower bound comes first (write BETWEEN {hi} AND {lo})"
    )]
    ReversedBounds {
        /// The lower bound as written.
        lo: String,
        /// The upper bound as written.
        hi: String,
    },
    /// A named RFM segment that the scores' segment map does not have.
    #[error("unknown RFM segment {}{}", quote(name), did_you_mean(suggestion))]
    UnknownSegment {
        /// The name as given.
        name: String,
        /// The nearest segment name, when one is close.
        suggestion: Option<String>,
    },
}

/// A query that does not parse or does not bind to the store: the problem, where it is, and
/// the query text. Its `Display` shows the query with a caret under the problem:
///
/// ```text
/// unknown tag "interest/cosmetic" (did you mean "interest/cosmetics"?)
///   interest/cosmetic AND stage/purchased
///   ^^^^^^^^^^^^^^^^^
/// ```
///
/// A query of any length keeps its caret: a line wider than [`QueryError::WINDOW`] columns
/// is shown as a window around the problem, with `...` where it is cut, and the message
/// names the column. A query of several lines names the line and the column (both counted
/// in characters, from 1) and shows that line:
///
/// ```
/// use audience::Query;
///
/// let err = Query::parse("vip\n  AND (newcomer OR returning").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "unclosed parenthesis at line 2, column 7\n    AND (newcomer OR returning\n        ^"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// What is wrong.
    pub problem: QueryProblem,
    /// Where, when the query came from text.
    pub span: Option<Span>,
    /// The query text, when it came from text.
    pub query: Option<String>,
}

/// The widest text (in terminal columns) around a problem shown per query line; a longer
/// line is cut, around the problem, to about this width.
const WINDOW: usize = 100;
/// The most columns of the problem itself that the caret underlines.
const MARKED: usize = 60;

impl QueryError {
    /// The widest part of a query line (in terminal columns) that the error shows.
    pub const WINDOW: usize = WINDOW;

    /// Where the problem starts, as a line and a column, both counted from 1 in characters
    /// (never bytes): `(1, 9)` for the ninth character of a one-line query. `None` when the
    /// query did not come from text.
    ///
    /// ```
    /// use audience::{ErrorKind, Query};
    ///
    /// let err = Query::parse("會員 AND (vip").unwrap_err();
    /// let ErrorKind::Query(q) = err.kind() else { unreachable!() };
    /// assert_eq!(q.line_column(), Some((1, 8)));
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let (span, query) = (self.span?, self.query.as_ref()?);
        let before = query.get(..boundary(query, span.start)).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        Some((line, column))
    }

    /// "at column 8" for a one-line query, "at line 2, column 5" for a query of several
    /// lines; `None` when the query did not come from text. For messages on one line.
    pub fn location(&self) -> Option<String> {
        let (line, column) = self.line_column()?;
        let multi = self.query.as_ref().is_some_and(|q| q.contains('\n'));
        Some(if multi {
            format!("at line {line}, column {column}")
        } else {
            format!("at column {column}")
        })
    }
}

/// The largest char boundary of `s` at or before `i`.
fn boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The text as shown on one terminal line: tabs and other control characters as spaces.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The longest prefix of `s` at most `width` columns wide.
fn head(s: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += char_width(c);
        if used > width {
            return s.get(..i).unwrap_or("");
        }
    }
    s
}

/// The longest suffix of `s` at most `width` columns wide.
fn tail(s: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        used += char_width(c);
        if used > width {
            return s.get(i + c.len_utf8()..).unwrap_or("");
        }
    }
    s
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.problem)?;
        let (Some(span), Some(query)) = (self.span, &self.query) else {
            return Ok(());
        };
        let start = boundary(query, span.start);
        let line_start = query
            .get(..start)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line_end = query
            .get(start..)
            .and_then(|a| a.find('\n'))
            .map_or(query.len(), |i| start + i);
        let end = boundary(query, span.end).clamp(start, line_end);
        let before = shown(query.get(line_start..start).unwrap_or(""));
        let marked = shown(query.get(start..end).unwrap_or(""));
        let after = shown(query.get(end..line_end).unwrap_or(""));
        let (bw, mw, aw) = (
            display_width(&before),
            display_width(&marked),
            display_width(&after),
        );
        let cut = bw + mw + aw > WINDOW;
        let (text, pad, carets) = if !cut {
            (format!("{before}{marked}{after}"), bw, mw)
        } else {
            // Cut around the problem: up to MARKED columns of it, the rest of the window
            // shared between what comes before and after (before gets at least a third).
            let m = head(&marked, MARKED);
            let mw = display_width(m);
            let room = WINDOW.saturating_sub(mw);
            let before_room = room.saturating_sub(aw).max(room / 3);
            let b = tail(&before, before_room);
            let after_room = room.saturating_sub(display_width(b));
            let a = if m.len() < marked.len() {
                ""
            } else {
                head(&after, after_room)
            };
            let open = if b.len() < before.len() { "..." } else { "" };
            let close = if a.len() < after.len() || m.len() < marked.len() {
                "..."
            } else {
                ""
            };
            (
                format!("{open}{b}{m}{a}{close}"),
                open.len() + display_width(b),
                mw,
            )
        };
        // Where, in words, when the caret alone does not say it: a cut line, or one of
        // several lines.
        if (cut || query.contains('\n'))
            && let Some(at) = self.location()
        {
            write!(f, " {at}")?;
        }
        write!(
            f,
            "\n  {}\n  {}{}",
            text.trim_end(),
            " ".repeat(pad),
            "^".repeat(carets.max(1))
        )
    }
}

/// Approximate terminal width: combining marks take no column, East Asian wide characters
/// take two, everything else one.
fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// One character's approximate terminal width (see [`display_width`]).
fn char_width(c: char) -> usize {
    let u = c as u32;
    let zero = matches!(u,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x06DF..=0x06E4 | 0x0E31
        | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E | 0x200B..=0x200F | 0xFE00..=0xFE0F);
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F
        | 0x20000..=0x3FFFD);
    if zero {
        0
    } else if wide {
        2
    } else {
        1
    }
}

impl From<crate::phone::PhoneError> for Error {
    fn from(e: crate::phone::PhoneError) -> Error {
        ErrorKind::InvalidPhone(e).into()
    }
}

impl From<ImportError> for Error {
    fn from(e: ImportError) -> Error {
        ErrorKind::Import(e).into()
    }
}

impl From<std::io::Error> for Error {
    /// For the caller's readers and writers outside snapshots (customer lists in, exports
    /// out).
    fn from(e: std::io::Error) -> Error {
        Error::io("reading input or writing output", e)
    }
}

impl From<QueryError> for Error {
    fn from(e: QueryError) -> Error {
        ErrorKind::Query(e).into()
    }
}

/// Errors with [`ErrorKind::LimitExceeded`](ErrorKind::LimitExceeded) when `text` has
/// more than `limit` characters; `what` names it ("tag description length in characters").
pub(crate) fn check_chars(what: &'static str, text: &str, limit: usize) -> Result<(), Error> {
    // A character takes at least one byte: most texts pass without counting.
    if text.len() <= limit {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars <= limit {
        return Ok(());
    }
    Err(ErrorKind::LimitExceeded {
        what,
        limit: limit as u64,
        actual: chars as u64,
    }
    .into())
}

#[cfg(test)]
mod check_chars_tests {
    use super::check_chars;

    #[test]
    fn text_lengths_are_checked() {
        assert!(check_chars("x", &"é".repeat(10), 10).is_ok());
        assert_eq!(
            check_chars("tag description length in characters", &"é".repeat(11), 10)
                .unwrap_err()
                .to_string(),
            "tag description length in characters exceeds the limit of 10 (got 11)"
        );
    }
}
