//! Why a journal could not be replayed: the payload of
//! [`ErrorKind::Journal`](super::ErrorKind::Journal).

use std::fmt;

/// What is wrong with a journal, at the record a [`JournalError`] names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalProblem {
    /// The record's header does not match its CRC-32: not a journal record, or damaged.
    #[error("header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    HeaderChecksum {
        /// The CRC-32 stored in the header.
        stored: u32,
        /// The CRC-32 of the header bytes read.
        computed: u32,
    },
    /// The record does not match its CRC-32, and more records follow it (a damaged last
    /// record is a torn tail, reported and ignored instead).
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The CRC-32 stored after the record.
        stored: u32,
        /// The CRC-32 of the bytes read.
        computed: u32,
    },
    /// A record version this reader does not know (written by a newer version).
    #[error("record version {found} is not one this reader knows (it reads version {supported})")]
    UnknownVersion {
        /// The version in the header.
        found: u8,
        /// The version this reader reads.
        supported: u8,
    },
    /// Flag bits no version sets.
    #[error("unknown flags {flags:#04x}")]
    UnknownFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A sequence number that is not the previous record's plus one.
    #[error("sequence number {found} follows {previous}: {}", if found <= previous { "a repeat" } else { "a gap" })]
    Sequence {
        /// The previous record's sequence number.
        previous: u64,
        /// This record's.
        found: u64,
    },
    /// The journal does not continue the store: its next change would be `expected`, the
    /// journal's first change after the store's is `found` (a journal of another store,
    /// or one missing records).
    #[error(
        "does not follow the store: the store holds changes up to {store}, so the next record must be {}, not {found}", store.wrapping_add(1)
    )]
    DoesNotFollow {
        /// The store's sequence number (the snapshot's).
        store: u64,
        /// The sequence number of the first record after it.
        found: u64,
    },
    /// A batch that the store holds in part: a snapshot is never written in the middle
    /// of a batch, so the journal belongs to another store.
    #[error("batch {first} to {last} straddles the store's sequence number {store}")]
    SplitBatch {
        /// The batch's first sequence number.
        first: u64,
        /// Its last.
        last: u64,
        /// The store's.
        store: u64,
    },
    /// A record whose content is malformed (an unknown operation, a count past the
    /// record's end, bytes left over...).
    #[error("{0}")]
    Invalid(String),
    /// A well-formed record that the store refuses: the journal was written by a store in
    /// another state.
    #[error("the store refuses the change: {0}")]
    Refused(String),
}

/// A journal that cannot be replayed: the byte offset of the record, and what is wrong.
/// Nothing was applied.
///
/// ```
/// use audience::{ErrorKind, JournalProblem, Store};
///
/// let mut store = Store::new();
/// let bytes = [0u8; 40];
/// let err = audience::journal::replay(&mut store, &bytes).unwrap_err();
/// let ErrorKind::Journal(e) = err.kind() else { panic!() };
/// assert_eq!(e.offset, 0);
/// assert!(matches!(e.problem, JournalProblem::HeaderChecksum { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalError {
    /// The offset of the record's first byte in the bytes replayed.
    pub offset: u64,
    /// The record's sequence number, when its header could be read.
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: JournalProblem,
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(
                f,
                "journal record {seq} (at byte {}): {}",
                self.offset, self.problem
            ),
            None => write!(
                f,
                "journal record at byte {}: {}",
                self.offset, self.problem
            ),
        }
    }
}

impl std::error::Error for JournalError {}
