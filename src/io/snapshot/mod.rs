//! Snapshots: the whole store in a versioned, checksummed binary format.
//!
//! [`snapshot::write`](crate::snapshot::write) writes the directory, the taxonomy (tags, dimensions and
//! colours, the change log), every tag's members with their assignment days and every
//! attribute to an `impl Write`; [`snapshot::read`](crate::snapshot::read) reads them back from an
//! `impl Read`, or [`snapshot::read_slice`](crate::snapshot::read_slice) from bytes already in
//! memory (a file read whole, a memory map), reading each section where it lies instead of
//! copying it out first. [`snapshot::write_with`](crate::snapshot::write_with) and [`snapshot::read_with`](crate::snapshot::read_with) carry the
//! app's state outside the store along: rule sets, campaign send logs, RFM configurations
//! and tier definitions ([`Extras`]). The format is specified in `SNAPSHOT.md` at the root
//! of the repository, precisely enough for another program to read it. In short: a magic
//! number and a format version, then sections, each with a kind, a length and a CRC-32,
//! integers little-endian, bitmaps in the portable Roaring format.
//!
//! Loading trusts nothing. Every length is checked against the bytes actually present
//! before anything is allocated for it (a section's bytes are read in growing chunks, never
//! allocated from its declared length), every section's checksum is verified, and every
//! cross-reference is checked (a member that is not a live customer, a membership of a tag
//! that does not exist, overlapping assignment days, a value out of its attribute's
//! range...). Any problem is an [`ErrorKind::Snapshot`] naming
//! the section; the store is assembled only after everything was read and checked, so a
//! failed load leaves nothing behind.
//!
//! ```
//! use audience::{CustomerKey, Day, Edit, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 6)?;
//! let mut store = Store::new();
//! let vip = store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
//! let c = store.add_customer(CustomerKey::phone("85291234567")?)?;
//! store.add_tag(c, vip, today)?;
//!
//! let mut bytes = Vec::new();
//! let written = audience::snapshot::write(&store, &mut bytes)?;
//! assert_eq!(written, bytes.len() as u64);
//!
//! let loaded = audience::snapshot::read(&bytes[..])?;
//! assert_eq!(loaded.members(vip)?, store.members(vip)?);
//! assert_eq!(loaded.assigned_day(c, vip)?, Some(today));
//!
//! bytes[40] ^= 1;
//! assert!(audience::snapshot::read(&bytes[..]).is_err());
//! # Ok::<(), audience::Error>(())
//! ```

// Parses untrusted bytes: no construct that can panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::base::bits::transpose64;
use crate::base::fold::fold;
use crate::day::Day;
use crate::error::{Error, ErrorKind, quote};
use crate::store::attribute::{
    AttrId, AttrInfo, AttrKind, AttrSlot, Column, Offsets, Slot, each_width, words_to_bitmap,
};
use crate::store::directory::{CustomerKey, Directory, KeyRef};
use crate::store::membership::TagMembers;
use crate::store::policy::{NamingRules, Policy, TaxonomyAction};
use crate::store::taxonomy::{Change, DimensionInfo, LogEntry, TagId, TagInfo, TagKind, Taxonomy};
use crate::store::{MAX_ATTRIBUTES, Store, check_attr_name};

mod extras;

pub use crate::error::{Section, SnapshotError, SnapshotProblem};
pub use extras::Extras;

/// The first eight bytes of every snapshot (as PNG's: a byte with the high bit set, the
/// name, CR LF, DOS end-of-file, LF, so that text-mode transfers are detected).
pub const MAGIC: [u8; 8] = [0x89, b'A', b'U', b'D', b'\r', b'\n', 0x1A, b'\n'];

/// The format version this crate writes, and the newest it reads. Every older version is
/// read by every later crate version.
pub const FORMAT_VERSION: u32 = 1;

/// The largest section accepted, in bytes (4 GiB). A section declaring more is refused
/// before anything is read; a store whose section would exceed it cannot be written.
pub const MAX_SECTION_BYTES: u64 = 1 << 32;

/// Set in a section kind whose section a reader that does not know it may skip; a reader
/// must refuse a snapshot with an unknown kind without this bit.
const OPTIONAL: u32 = 1 << 31;

const KIND_DIRECTORY: u32 = 1;
const KIND_TAXONOMY: u32 = 2;
const KIND_ATTRIBUTE: u32 = 3;
const KIND_MEMBERS: u32 = 4;
const KIND_POLICY: u32 = 5;
const KIND_END: u32 = 0x7FFF_FFFF;
/// The journal position: the sequence number of the last change the snapshot holds.
/// Optional (bit 31 set): an older reader skips it and loads the store at sequence 0, onto
/// which a later journal refuses to replay rather than replay wrongly.
const KIND_JOURNAL: u32 = OPTIONAL | 1;

/// A directory slot holding a member id (the next one of the member-id table).
const SLOT_MEMBER: u64 = 1 << 63;
/// A directory slot of an erased customer.
const SLOT_ERASED: u64 = u64::MAX;
/// Section header: kind (4 bytes) and payload length (8 bytes).
const SECTION_HEADER: usize = 12;
/// First read of a section's payload: larger sections grow from here as bytes arrive.
const FIRST_CHUNK: u64 = 1 << 20;

impl Section {
    fn of_kind(kind: u32) -> Section {
        match kind {
            KIND_DIRECTORY => Section::Directory,
            KIND_TAXONOMY => Section::Taxonomy,
            KIND_ATTRIBUTE => Section::Attribute,
            KIND_MEMBERS => Section::Members,
            KIND_POLICY => Section::Policy,
            extras::KIND_RULE_SET => Section::RuleSet,
            extras::KIND_SEND_LOG => Section::SendLog,
            extras::KIND_RFM => Section::Rfm,
            extras::KIND_TIERS => Section::Tiers,
            KIND_END => Section::End,
            KIND_JOURNAL => Section::Journal,
            other => Section::Unknown(other),
        }
    }
}

mod read;
mod slots;
mod write;

use read::*;
pub use read::{read, read_slice, read_slice_with, read_with};
use slots::*;
use write::*;
pub use write::{write, write_with};

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::store::journal::op::check_portable_header;

    /// The largest E.164 number (15 digits).
    const MAX_PHONE: u64 = 999_999_999_999_999;

    #[test]
    fn duplicates_are_found() {
        assert_eq!(first_duplicate(|| [].into_iter()), None);
        assert_eq!(first_duplicate(|| [5].into_iter()), None);
        assert_eq!(first_duplicate(|| [3, 1, 2].into_iter()), None);
        assert_eq!(first_duplicate(|| [1, 2, 3, 3].into_iter()), Some(3));
        assert_eq!(
            first_duplicate(|| [MAX_PHONE, 7, MAX_PHONE].into_iter()),
            Some(MAX_PHONE)
        );
        let mut v: Vec<u64> = (0..100_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % MAX_PHONE)
            .collect();
        assert_eq!(first_duplicate(|| v.iter().copied()), None);
        v.push(v[4_321]);
        assert_eq!(first_duplicate(|| v.iter().copied()), Some(v[4_321]));
        // Ascending, then one value again.
        let mut v: Vec<u64> = (1..100_000u64).collect();
        assert_eq!(first_duplicate(|| v.iter().copied()), None);
        v.insert(50_000, 77);
        assert_eq!(first_duplicate(|| v.iter().copied()), Some(77));
        // Random lengths and values against a plain sort, with and without repeats.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..200 {
            let len = (next() % 3_000) as usize;
            let range = [10, 5_000, MAX_PHONE][round % 3];
            let v: Vec<u64> = (0..len).map(|_| 1 + next() % range).collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let expected = sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
            assert_eq!(
                first_duplicate(|| v.iter().copied()),
                expected,
                "round {round}"
            );
        }
    }

    #[test]
    fn portable_header_checks() {
        assert!(check_portable_header(&[]).is_err());
        let mut bytes = Vec::new();
        let bm: RoaringBitmap = (0..10).collect();
        bm.serialize_into(&mut bytes).unwrap();
        assert!(check_portable_header(&bytes).is_ok());
        // A claimed 65,536 containers in 16 bytes.
        let mut fake = 12346u32.to_le_bytes().to_vec();
        fake.extend_from_slice(&65_536u32.to_le_bytes());
        fake.extend_from_slice(&[0; 8]);
        assert_eq!(
            check_portable_header(&fake).unwrap_err(),
            "65536 containers do not fit in 16 bytes"
        );
    }
}
