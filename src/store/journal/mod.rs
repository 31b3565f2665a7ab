//! The change journal: every change to a [`Store`](crate::Store) as a record of bytes the app appends to a
//! file of its own, so that a crash between two snapshots loses nothing that was written.
//!
//! SQLite's write-ahead log, Redis's append-only file and LMDB's commit records all pair a
//! periodic checkpoint (here: a snapshot) with a log of the changes made since. A store
//! keeps the log in memory: each change that succeeds appends one record to its
//! [`Journal`], numbered by a sequence number that only grows, and the app takes the
//! records when it likes ([`Journal::drain_into`] a file, then `fsync` it). `audience`
//! does no I/O of its own: the app owns the file and decides when to flush.
//!
//! - **Nothing is lost silently.** Journaling is on for every store; records stay pending
//!   until the app takes them, and [`Journal::pending_bytes`] says how many there are. An
//!   app that keeps state only in snapshots turns it off ([`Journal::set_enabled`]); the
//!   sequence number still counts every change, so a journal written later cannot be
//!   replayed onto a snapshot it does not follow. A bulk load of a whole store (millions
//!   of keys and values) is better persisted as a snapshot than as records: turn the
//!   journal off, load, write a checkpoint, and turn it back on.
//! - **Batches are atomic.** An import, a rule run, a tier or group write, a materialised
//!   query, [`Store::set_tags`](crate::Store::set_tags) and every other change made inside [`Store::batch`](crate::Store::batch) are one
//!   unit: [`replay`] applies a batch whole or not at all.
//! - **Records are effects, compactly.** A bulk change is one record holding a bitmap (a
//!   rule run is the tags it added and removed, not a re-run); keys, names and values are
//!   written once.
//! - **Recovery**: load the last snapshot (it records the sequence number it includes,
//!   [`Journal::seq`]), then [`replay`] the journal: records the store already holds are
//!   skipped, a torn tail (a crash in the middle of a write) is reported and ignored, and a
//!   damaged record before it, a gap, or a journal that does not follow the snapshot is an
//!   error naming the byte offset, with the store left as it was.
//!
//! - **The store, not what the app keeps beside it.** Values no store method changes are
//!   not journaled: the [`Extras`](crate::snapshot::Extras) (rule sets, send logs, RFM
//!   configurations, tier definitions), [`RfmScores`](crate::RfmScores) kept in memory.
//!   A checkpoint writes the extras with the store
//!   ([`snapshot::write_with`](crate::snapshot::write_with)); between checkpoints the app
//!   saves them when they change, and records each campaign send in a log of its own before
//!   the messages go out, so that a frequency cap survives a crash.
//!
//! The format is specified byte by byte in the repository's `JOURNAL.md`.
//!
//! # Readers
//!
//! A clone of a store (a copy-on-write reader) starts with an **empty** journal at the
//! same sequence number: the records pending in the original stay there, to be drained
//! from the writer once. Changes made to a clone (a what-if, a dry run) journal into the
//! clone's own journal and go wherever the clone goes.
//!
//! # Checkpoints
//!
//! A checkpoint is a snapshot plus a new journal file. With one writer:
//!
//! 1. drain the pending records into the current journal file (it stays complete);
//! 2. start a new journal file: every record drained from now on goes there;
//! 3. write the snapshot ([`snapshot::write`](crate::snapshot::write) records
//!    [`Journal::seq`], the last change it holds) to a temporary file, `fsync` it and
//!    rename it over the previous snapshot;
//! 4. delete the old journal file and call [`Journal::mark_checkpoint`].
//!
//! A crash at any step leaves a pair that recovers: before the rename, the old snapshot
//! with the old and new journal files replayed in order; after it, the new snapshot, onto
//! which the old file's records are skipped (they are at or below its sequence number). A
//! snapshot written from a clone (so that the writer does not wait) follows the same steps:
//! clone at step 2. Erased customers ("forget me") leave the journal files at the
//! checkpoint that follows their erasure: [`Journal::erased_since_checkpoint`] and
//! [`Journal::bytes_since_checkpoint`] tell the app when one is due.
//!
//! ```
//! use audience::{CustomerKey, Day, Edit, Store, TagSpec};
//!
//! let today = Day::from_ymd(2026, 3, 1)?;
//! let mut store = Store::new();
//! let mut snapshot = Vec::new();
//! audience::snapshot::write(&store, &mut snapshot)?; // the checkpoint, at sequence 0
//!
//! let vip = store.create_tag(&Edit::new("mei", today), TagSpec::new("VIP"))?;
//! let c = store.add_customer(CustomerKey::phone("66812345678")?)?;
//! store.add_tag(c, vip, today)?;
//! let mut file = Vec::new(); // the app's journal file
//! store.journal_mut().drain_into(&mut file)?;
//! assert_eq!(store.journal().pending_bytes(), 0);
//!
//! // After a crash: the snapshot, then the journal.
//! let mut recovered = audience::snapshot::read(&snapshot[..])?;
//! let report = audience::journal::replay(&mut recovered, &file)?;
//! assert_eq!((report.records_applied, report.last_seq), (3, 3));
//! assert_eq!(recovered.tag_names_of(c)?, ["general:VIP"]);
//! // Replaying again is harmless: every record is already in the store.
//! assert_eq!(audience::journal::replay(&mut recovered, &file)?.records_applied, 0);
//! # Ok::<(), audience::Error>(())
//! ```

pub(crate) mod op;
mod replay;

use std::io::Write;

use crate::error::Error;

pub(crate) use op::code;
pub use replay::{ReplayReport, Tail, replay};

/// The record version this crate writes and reads.
pub const RECORD_VERSION: u8 = 1;

/// Bytes before a record's payload: version, flags, operation, payload length, sequence
/// number and the header's CRC-32.
pub const HEADER_BYTES: usize = 19;

/// Bytes after a record's payload: its CRC-32.
pub const TRAILER_BYTES: usize = 4;

/// The flag of a record that is not the last of its batch.
pub(crate) const FLAG_CONTINUES: u8 = 1;

/// A store's change journal: its sequence number and the records not yet taken by the app.
/// See the [module](crate::journal) for the procedure around it.
#[derive(Debug)]
pub struct Journal {
    seq: u64,
    enabled: bool,
    pending: Vec<u8>,
    /// Bytes of `pending` that belong to closed batches (what a drain takes).
    committed: usize,
    records: u64,
    depth: u32,
    /// The offset in `pending` of the open batch's latest record.
    open_last: Option<usize>,
    open_records: u64,
    erased: u64,
    bytes_since: u64,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal {
            seq: 0,
            enabled: true,
            pending: Vec::new(),
            committed: 0,
            records: 0,
            depth: 0,
            open_last: None,
            open_records: 0,
            erased: 0,
            bytes_since: 0,
        }
    }
}

impl Clone for Journal {
    /// The same sequence number, setting and checkpoint counters, and no pending records:
    /// those stay with the original, to be drained from it once.
    fn clone(&self) -> Journal {
        Journal {
            seq: self.seq,
            enabled: self.enabled,
            erased: self.erased,
            bytes_since: self.bytes_since,
            ..Journal::default()
        }
    }
}

impl Journal {
    /// The sequence number of the store's latest change (0 for a new store). A snapshot
    /// written now records it; the next record written will be `seq() + 1`.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether changes are recorded (they are, unless turned off).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Turns recording on or off. Off, changes still advance [`Journal::seq`], so a journal
    /// recorded after turning it back on does not follow a snapshot written before the
    /// unrecorded changes ([`replay`] refuses it): write a checkpoint after turning it on.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// Bytes of records not yet taken (an open batch's included).
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Records not yet taken, in closed batches (what [`Journal::drain_into`] would write).
    pub fn pending_records(&self) -> u64 {
        self.records
    }

    /// Writes every pending record of a closed batch to `w` and forgets them; returns the
    /// number of bytes written. On error nothing is forgotten, but `w` may have taken part
    /// of the bytes: cut the file back to its length before the call, then drain again.
    /// Inside [`Store::batch`](crate::Store::batch) the open batch stays pending.
    pub fn drain_into(&mut self, mut w: impl Write) -> Result<u64, Error> {
        let n = self.committed;
        w.write_all(self.pending.get(..n).unwrap_or_default())
            .map_err(|e| Error::io("writing journal records", e))?;
        self.forget_committed();
        Ok(n as u64)
    }

    /// Takes every pending record of a closed batch as bytes.
    pub fn take(&mut self) -> Vec<u8> {
        let out = self
            .pending
            .get(..self.committed)
            .unwrap_or_default()
            .to_vec();
        self.forget_committed();
        out
    }

    fn forget_committed(&mut self) {
        let n = self.committed;
        self.pending.drain(..n);
        self.committed = 0;
        self.records = 0;
        if let Some(at) = self.open_last.as_mut() {
            *at -= n;
        }
    }

    /// Customers erased since the last checkpoint ([`Journal::mark_checkpoint`]): their
    /// keys are still in the journal files until the next one.
    pub fn erased_since_checkpoint(&self) -> u64 {
        self.erased
    }

    /// Bytes of records written since the last checkpoint, taken or not: what a replay
    /// after a crash would read.
    pub fn bytes_since_checkpoint(&self) -> u64 {
        self.bytes_since
    }

    /// Records that a snapshot holding every change up to [`Journal::seq`] is durable and
    /// the journal files before it deleted: the checkpoint counters start again from 0.
    pub fn mark_checkpoint(&mut self) {
        self.erased = 0;
        self.bytes_since = 0;
    }

    // ----------------------------------------------------------------------------------
    // Writing records (the store's mutations)
    // ----------------------------------------------------------------------------------

    /// Appends one record: `payload` writes the operation's bytes. Off, only the sequence
    /// number moves.
    pub(crate) fn record(&mut self, op: u8, payload: impl FnOnce(&mut Vec<u8>)) {
        self.record_with(|b| {
            payload(b);
            op
        });
    }

    /// [`Journal::record`] for a payload that chooses its operation code as it writes
    /// itself (a layout of its own for large payloads).
    pub(crate) fn record_with(&mut self, payload: impl FnOnce(&mut Vec<u8>) -> u8) {
        self.seq = self.seq.saturating_add(1);
        if !self.enabled {
            return;
        }
        let at = self.pending.len();
        let flags = if self.depth > 0 { FLAG_CONTINUES } else { 0 };
        self.pending.extend_from_slice(&[RECORD_VERSION, flags, 0]);
        self.pending.extend_from_slice(&[0; 4]);
        self.pending.extend_from_slice(&self.seq.to_le_bytes());
        self.pending.extend_from_slice(&[0; 4]);
        let op = payload(&mut self.pending);
        self.pending[at + 2] = op;
        let end = self.pending.len();
        seal(&mut self.pending, at, end, true);
        self.bytes_since += (self.pending.len() - at) as u64;
        if self.depth > 0 {
            self.open_last = Some(at);
            self.open_records += 1;
        } else {
            self.committed = self.pending.len();
            self.records += 1;
        }
    }

    /// Counts an erasure for [`Journal::erased_since_checkpoint`].
    pub(crate) fn count_erasure(&mut self) {
        self.erased += 1;
    }

    pub(crate) fn begin_batch(&mut self) {
        self.depth += 1;
    }

    /// Closes a batch: its last record loses the "continues" flag, and the batch becomes
    /// drainable.
    pub(crate) fn end_batch(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth > 0 {
            return;
        }
        if let Some(at) = self.open_last.take() {
            self.pending[at + 1] &= !FLAG_CONTINUES;
            let end = self.pending.len() - TRAILER_BYTES;
            seal(&mut self.pending, at, end, false);
        }
        self.committed = self.pending.len();
        self.records += self.open_records;
        self.open_records = 0;
    }

    /// Sets the sequence number after a replay, and counts the bytes replayed (the
    /// erasures replayed counted themselves).
    pub(crate) fn replayed(&mut self, seq: u64, bytes: u64) {
        self.seq = seq;
        self.bytes_since += bytes;
    }

    /// The sequence number a snapshot recorded.
    pub(crate) fn loaded(seq: u64) -> Journal {
        Journal {
            seq,
            ..Journal::default()
        }
    }
}

/// Writes the payload length and both CRC-32s of the record at `buf[at..end]` (header and
/// payload): the trailing CRC-32 is appended (`append`, a record just written) or
/// rewritten (a record whose flags changed).
fn seal(buf: &mut Vec<u8>, at: usize, end: usize, append: bool) {
    // A payload over 4 GiB cannot be framed: the length saturates, the record reads as
    // damaged, and replay refuses it rather than misreading it. No operation comes near
    // (a bitmap of every u32 is 512 MiB).
    let len = u32::try_from(end - at - HEADER_BYTES).unwrap_or(u32::MAX);
    buf[at + 3..at + 7].copy_from_slice(&len.to_le_bytes());
    let head = crc32fast::hash(&buf[at..at + 15]);
    buf[at + 15..at + HEADER_BYTES].copy_from_slice(&head.to_le_bytes());
    let body = crc32fast::hash(&buf[at..end]).to_le_bytes();
    if append {
        buf.extend_from_slice(&body);
    } else {
        buf[end..end + TRAILER_BYTES].copy_from_slice(&body);
    }
}
