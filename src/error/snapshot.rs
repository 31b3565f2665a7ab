//! Why a snapshot could not be read: the payload of [`ErrorKind::Snapshot`](super::ErrorKind::Snapshot).

use std::fmt;

/// The part of a snapshot a [`SnapshotError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Section {
    /// The magic number and the format version.
    Header,
    /// Customer keys by id.
    Directory,
    /// Tags, dimensions and colours, the change log.
    Taxonomy,
    /// One attribute's values.
    Attribute,
    /// One tag's members and their assignment days.
    Members,
    /// The taxonomy's governance policy (present only when it is not open).
    Policy,
    /// One rule set of the [`Extras`](crate::snapshot::Extras).
    RuleSet,
    /// One send log of the [`Extras`](crate::snapshot::Extras).
    SendLog,
    /// One RFM configuration of the [`Extras`](crate::snapshot::Extras).
    Rfm,
    /// One tier definition of the [`Extras`](crate::snapshot::Extras).
    Tiers,
    /// The journal position: the sequence number of the last change the snapshot holds.
    Journal,
    /// The closing section.
    End,
    /// A section of a kind this version does not know.
    Unknown(u32),
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Header => f.write_str("header"),
            Section::Directory => f.write_str("directory section"),
            Section::Taxonomy => f.write_str("taxonomy section"),
            Section::Attribute => f.write_str("attribute section"),
            Section::Members => f.write_str("members section"),
            Section::Policy => f.write_str("policy section"),
            Section::RuleSet => f.write_str("rule set section"),
            Section::SendLog => f.write_str("send log section"),
            Section::Rfm => f.write_str("RFM configuration section"),
            Section::Tiers => f.write_str("tiers section"),
            Section::Journal => f.write_str("journal position section"),
            Section::End => f.write_str("end section"),
            Section::Unknown(kind) => write!(f, "section of kind {kind:#010x}"),
        }
    }
}

/// What is wrong with a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotProblem {
    /// The input does not start with [`MAGIC`](crate::snapshot::MAGIC).
    #[error("not a snapshot (wrong magic number)")]
    NotASnapshot,
    /// Written by a newer version of the format.
    #[error(
        "format version {found} is newer than this reader, which reads versions 1 to {supported}"
    )]
    FutureVersion {
        /// The version in the header.
        found: u32,
        /// The newest version this reader reads.
        supported: u32,
    },
    /// A version number no version of the crate ever wrote.
    #[error("format version {found} does not exist")]
    UnknownVersion {
        /// The version in the header.
        found: u32,
    },
    /// The input ended inside the part.
    #[error("truncated: the input ends inside it")]
    Truncated,
    /// The input ended where a section should start: the closing section is missing.
    #[error("missing: the input ends before it (truncated at a section boundary?)")]
    Missing,
    /// The section's bytes do not match its CRC-32.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The CRC-32 stored after the section.
        stored: u32,
        /// The CRC-32 of the bytes read.
        computed: u32,
    },
    /// A section longer than [`MAX_SECTION_BYTES`](crate::snapshot::MAX_SECTION_BYTES).
    #[error("declares {len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The declared length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A section that must be understood, of a kind this version does not know (written by
    /// a newer version).
    #[error("unknown kind {kind:#010x}, which must not be skipped: written by a newer version?")]
    UnknownKind {
        /// The section kind.
        kind: u32,
    },
    /// Content that is malformed or contradicts the rest of the snapshot (a member that
    /// is not a live customer, a tag that does not exist, overlapping assignment days...).
    #[error("{0}")]
    Invalid(String),
}

/// A snapshot that cannot be read: where, and what is wrong.
///
/// ```
/// use audience::{ErrorKind, SnapshotProblem, Store};
///
/// let Err(err) = audience::snapshot::read(&b"hello, world"[..]) else { panic!() };
/// let ErrorKind::Snapshot(e) = err.kind() else { panic!() };
/// assert_eq!(e.problem, SnapshotProblem::NotASnapshot);
/// assert_eq!(err.to_string(), "snapshot header (at byte 0): not a snapshot (wrong magic number)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError {
    /// The part of the snapshot.
    pub section: Section,
    /// The section's position among the sections (from 0); `None` for the header.
    pub index: Option<u32>,
    /// The offset of the section's first byte in the input.
    pub offset: u64,
    /// What is wrong.
    pub problem: SnapshotProblem,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(
                f,
                "snapshot {} #{i} (at byte {}): {}",
                self.section, self.offset, self.problem
            ),
            None => write!(
                f,
                "snapshot {} (at byte {}): {}",
                self.section, self.offset, self.problem
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}
