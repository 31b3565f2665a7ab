//! The crate's one error type.
//!
//! Every fallible call returns [`Error`], an opaque, cheap-to-move wrapper around an
//! [`ErrorKind`] that says exactly what went wrong. Match on [`Error::kind`]; the kind is
//! `#[non_exhaustive]` so new failure modes can be added without a breaking change. The
//! `Display` text of every kind is part of the tested contract.

use std::fmt;

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

impl std::error::Error for Error {}

/// Every way an operation can fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A day that does not parse or does not exist.
    #[error("invalid day {input:?}: {reason}")]
    InvalidDay {
        /// The text that was given (at most 64 characters of it).
        input: String,
        /// Why it was refused.
        reason: String,
    },

    /// A customer key that is not valid (empty member id, phone number with non-digits...).
    #[error("invalid customer key {key:?}: {reason}")]
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

    /// A customer with this key exists already.
    #[error("customer {key} exists already (id {id})")]
    DuplicateCustomer {
        /// The key as given.
        key: String,
        /// The id of the existing customer.
        id: u32,
    },

    /// No tag has this name.
    #[error("unknown tag {name:?}{}", did_you_mean(suggestion))]
    UnknownTag {
        /// The name as given.
        name: String,
        /// The nearest existing name, when one is close.
        suggestion: Option<String>,
    },

    /// The name exists in several dimensions; qualify it as `dimension:name`.
    #[error("tag name {name:?} is ambiguous: it exists in dimensions {}; write it as dimension:name", dimensions.join(", "))]
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
        "tag {name:?} clashes with existing tag {existing:?} in dimension {dimension:?} (names are compared ignoring case, width and extra spaces)"
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
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as given (at most 64 characters of it).
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// The tag is archived: it keeps its members but takes no new ones and is refused in
    /// queries.
    #[error("tag {name:?} is archived")]
    ArchivedTag {
        /// The tag's name.
        name: String,
    },

    /// A merge of a tag into itself, or a move from a tag to itself.
    #[error("{operation} needs two different tags, got {name:?} twice")]
    SameTag {
        /// The operation that was asked for.
        operation: &'static str,
        /// The tag's name.
        name: String,
    },

    /// No attribute has this name.
    #[error("unknown attribute {name:?}{}", did_you_mean(suggestion))]
    UnknownAttribute {
        /// The name as given.
        name: String,
        /// The nearest existing attribute name, when one is close.
        suggestion: Option<String>,
    },

    /// An attribute of this name exists already.
    #[error("attribute {name:?} exists already")]
    DuplicateAttribute {
        /// The name as given.
        name: String,
    },

    /// A value of the wrong type for an attribute (a day for a number, or the reverse).
    #[error("attribute {attribute:?} holds {expected} values, got {found}")]
    AttributeType {
        /// The attribute's name.
        attribute: String,
        /// What the attribute holds.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },

    /// A bulk call whose inputs do not line up (e.g. ids and values of different lengths).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

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

    /// All `u32` customer ids have been handed out.
    #[error("customer id space exhausted ({0} ids handed out)")]
    IdSpaceExhausted(u64),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

/// Shorthand for building an [`Error`] from a kind.
pub(crate) fn err<T>(kind: ErrorKind) -> Result<T, Error> {
    Err(kind.into())
}
