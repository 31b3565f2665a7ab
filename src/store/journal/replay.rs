//! Replay: a journal's records applied to a store, whole batches only, everything checked
//! before the first change.

// Parses untrusted bytes: no construct that can panic.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use crate::error::{Error, JournalError, JournalProblem};
use crate::store::Store;
use crate::store::journal::op::{self, Op, code};
use crate::store::journal::{FLAG_CONTINUES, HEADER_BYTES, RECORD_VERSION, TRAILER_BYTES};

/// Why the end of a journal was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Tail {
    /// The bytes end inside a record (a crash in the middle of a write).
    Short,
    /// The last record does not match its CRC-32 (a crash while it was written).
    Checksum,
    /// Whole records of a batch whose last record is missing (cut between two records).
    OpenBatch,
}

/// What [`replay`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ReplayReport {
    /// Records applied to the store.
    pub records_applied: u64,
    /// Batches applied (a change made outside a batch is a batch of one record).
    pub batches_applied: u64,
    /// Records skipped because the store already held them (at or below its sequence
    /// number: written before the snapshot, or replayed before).
    pub records_skipped: u64,
    /// The store's sequence number after the replay.
    pub last_seq: u64,
    /// Bytes of whole batches read, from the start: the length to cut the journal file to
    /// before appending to it again.
    pub valid_bytes: u64,
    /// Bytes after them that were ignored (a torn tail), 0 when none.
    pub bytes_ignored: u64,
    /// Why the tail was ignored, when there was one.
    pub tail: Option<Tail>,
    /// Customers erased by the records applied.
    pub erased: u64,
}

/// One record framed and checked.
struct Frame<'a> {
    offset: u64,
    seq: u64,
    continues: bool,
    op: u8,
    payload: &'a [u8],
    size: usize,
}

fn fail(offset: u64, seq: Option<u64>, problem: JournalProblem) -> Error {
    crate::error::ErrorKind::Journal(JournalError {
        offset,
        seq,
        problem,
    })
    .into()
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

/// Frames every record, checking both CRC-32s, versions and flags. Returns the frames and
/// where an ignored tail starts with why.
/// Where an ignored tail starts, and why.
type TailAt = Option<(usize, Tail)>;

/// The operations of one batch to apply: each with its record's offset and sequence number.
type Batch = Vec<(u64, u64, Op)>;

fn frames(bytes: &[u8]) -> Result<(Vec<Frame<'_>>, TailAt), Error> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = bytes.get(pos..).unwrap_or_default();
        let offset = pos as u64;
        let Some(head) = rest.get(..HEADER_BYTES) else {
            return Ok((out, Some((pos, Tail::Short))));
        };
        let stored = le_u32(head, 15);
        let computed = crc32fast::hash(head.get(..15).unwrap_or_default());
        if stored != computed {
            return Err(fail(
                offset,
                None,
                JournalProblem::HeaderChecksum { stored, computed },
            ));
        }
        let version = head.first().copied().unwrap_or(0);
        let flags = head.get(1).copied().unwrap_or(0);
        let op = head.get(2).copied().unwrap_or(0);
        let len = le_u32(head, 3) as usize;
        let seq = le_u64(head, 7);
        if version != RECORD_VERSION {
            return Err(fail(
                offset,
                Some(seq),
                JournalProblem::UnknownVersion {
                    found: version,
                    supported: RECORD_VERSION,
                },
            ));
        }
        if flags & !FLAG_CONTINUES != 0 {
            return Err(fail(
                offset,
                Some(seq),
                JournalProblem::UnknownFlags { flags },
            ));
        }
        let total = HEADER_BYTES + len + TRAILER_BYTES;
        let Some(record) = rest.get(..total) else {
            return Ok((out, Some((pos, Tail::Short))));
        };
        let body = record.get(..HEADER_BYTES + len).unwrap_or_default();
        let stored = le_u32(record, HEADER_BYTES + len);
        let computed = crc32fast::hash(body);
        if stored != computed {
            if pos + total == bytes.len() {
                return Ok((out, Some((pos, Tail::Checksum))));
            }
            return Err(fail(
                offset,
                Some(seq),
                JournalProblem::Checksum { stored, computed },
            ));
        }
        out.push(Frame {
            offset,
            seq,
            continues: flags & FLAG_CONTINUES != 0,
            op,
            payload: body.get(HEADER_BYTES..).unwrap_or_default(),
            size: total,
        });
        pos += total;
    }
    Ok((out, None))
}

/// Applies the journal `bytes` to `store`: the records after the store's sequence number,
/// batch by batch. Everything is checked before the first change (the framing, and every
/// record against the store's own checks), so on error the store is as it was. The replayed records are not journaled again (they are in `bytes`
/// already): the store's sequence number becomes the last one applied.
///
/// - Records at or below the store's sequence number are skipped (written before its
///   snapshot, or replayed before): replaying twice is harmless.
/// - A torn tail is ignored and reported ([`ReplayReport::tail`]): a last record cut
///   short or failing its CRC-32, or whole records of a batch whose end is missing.
/// - Errors ([`ErrorKind::Journal`](crate::ErrorKind::Journal), naming the record's byte
///   offset): a damaged record before the last, an unknown version or operation, a gap or
///   repeat in the sequence numbers, a first new record that is not the store's next
///   (a journal that does not follow the snapshot), or a change the store refuses.
///
/// ```
/// use audience::journal::{Tail, replay};
/// use audience::{CustomerKey, Store};
///
/// let mut writer = Store::new();
/// writer.add_customer(CustomerKey::member("m1")?)?;
/// writer.add_customer(CustomerKey::member("m2")?)?;
/// let mut file = writer.journal_mut().take();
/// file.truncate(file.len() - 5); // a crash in the middle of the second record
///
/// let mut store = Store::new();
/// let report = replay(&mut store, &file)?;
/// assert_eq!((report.records_applied, report.tail), (1, Some(Tail::Short)));
/// assert_eq!(store.customer_count(), 1);
/// file.truncate(report.valid_bytes as usize); // before appending to the file again
/// # Ok::<(), audience::Error>(())
/// ```
pub fn replay(store: &mut Store, bytes: &[u8]) -> Result<ReplayReport, Error> {
    let (frames, tail) = frames(bytes)?;
    for pair in frames.windows(2) {
        if let [a, b] = pair
            && b.seq != a.seq.wrapping_add(1)
        {
            return Err(fail(
                b.offset,
                Some(b.seq),
                JournalProblem::Sequence {
                    previous: a.seq,
                    found: b.seq,
                },
            ));
        }
    }
    // Whole batches; records of a batch without its last record are a tail.
    let mut batches: Vec<&[Frame<'_>]> = Vec::new();
    let mut start = 0;
    for (i, f) in frames.iter().enumerate() {
        if !f.continues {
            batches.push(frames.get(start..=i).unwrap_or_default());
            start = i + 1;
        }
    }
    let (tail_at, tail) = match frames.get(start) {
        Some(open) => (open.offset as usize, Some(Tail::OpenBatch)),
        None => match tail {
            Some((at, why)) => (at, Some(why)),
            None => (bytes.len(), None),
        },
    };
    let have = store.journal().seq();
    let mut report = ReplayReport {
        valid_bytes: tail_at as u64,
        bytes_ignored: (bytes.len() - tail_at) as u64,
        tail,
        last_seq: have,
        ..ReplayReport::default()
    };
    // Decode every record to apply before changing anything.
    let mut todo: Vec<Batch> = Vec::new();
    let mut expected = have.wrapping_add(1);
    let mut last_seq = have;
    let mut applied_bytes = 0u64;
    for batch in batches {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            continue;
        };
        if last.seq <= have {
            report.records_skipped += batch.len() as u64;
            continue;
        }
        if first.seq <= have {
            return Err(fail(
                first.offset,
                Some(first.seq),
                JournalProblem::SplitBatch {
                    first: first.seq,
                    last: last.seq,
                    store: have,
                },
            ));
        }
        if first.seq != expected {
            return Err(fail(
                first.offset,
                Some(first.seq),
                JournalProblem::DoesNotFollow {
                    store: have,
                    found: first.seq,
                },
            ));
        }
        let mut ops = Vec::with_capacity(batch.len());
        for f in batch {
            let op = op::decode(f.op, f.payload)
                .map_err(|e| fail(f.offset, Some(f.seq), JournalProblem::Invalid(e)))?;
            if f.op == code::ERASE_CUSTOMER {
                report.erased += 1;
            }
            ops.push((f.offset, f.seq, op));
        }
        expected = last.seq.wrapping_add(1);
        last_seq = last.seq;
        applied_bytes += batch.iter().map(|f| f.size as u64).sum::<u64>();
        todo.push(ops);
    }
    if todo.is_empty() {
        return Ok(report);
    }
    // Every check a store method makes depends on the customers, the taxonomy and the
    // attributes' names and kinds, never on memberships or values: so the batches are
    // first applied to a skeleton of the store (those parts shared, no members, no
    // values; it costs what the records' checks cost), and only when every record passed
    // there are they applied to the store itself, in place, without copying what they
    // touch.
    let mut shadow = store.skeleton();
    for ops in &todo {
        for (offset, seq, op) in ops {
            op::apply(&mut shadow, op)
                .map_err(|e| fail(*offset, Some(*seq), JournalProblem::Refused(e.to_string())))?;
        }
    }
    drop(shadow);
    let enabled = store.journal().is_enabled();
    store.journal_mut().set_enabled(false);
    let mut outcome = Ok(());
    'apply: for ops in &todo {
        report.batches_applied += 1;
        for (offset, seq, op) in ops {
            if let Err(e) = op::apply(store, op) {
                outcome = Err(fail(
                    *offset,
                    Some(*seq),
                    JournalProblem::Refused(e.to_string()),
                ));
                break 'apply;
            }
            report.records_applied += 1;
        }
    }
    store.journal_mut().set_enabled(enabled);
    outcome?;
    report.last_seq = last_seq;
    store.journal_mut().replayed(report.last_seq, applied_bytes);
    Ok(report)
}
