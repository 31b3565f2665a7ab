//! Reading: sections read as their bytes arrive, every length, checksum and
//! cross-reference checked before the store is assembled.

use super::*;

/// A bounds-checked view of a section's payload. Its errors are messages; the caller adds
/// the section.
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
}

pub(super) type Res<T> = Result<T, String>;

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if n > self.b.len() {
            return Err(format!(
                "{what} needs {n} bytes, only {} are left",
                self.b.len()
            ));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    pub(super) fn u16(&mut self, what: &str) -> Res<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub(super) fn u32(&mut self, what: &str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub(super) fn u64(&mut self, what: &str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub(super) fn i32(&mut self, what: &str) -> Res<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
    pub(super) fn i64(&mut self, what: &str) -> Res<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    pub(super) fn day(&mut self, what: &str) -> Res<Day> {
        let days = self.i32(what)?;
        Day::from_days(days).map_err(|_| {
            format!(
                "{what} {days} is not a day between {} and {}",
                Day::MIN,
                Day::MAX
            )
        })
    }

    pub(super) fn flag(&mut self, what: &str) -> Res<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("{what}: {other} is neither 0 nor 1")),
        }
    }

    /// A count of items of at least `min_bytes` each, checked against the bytes left.
    pub(super) fn count(&mut self, min_bytes: usize, what: &str) -> Res<usize> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_bytes) > self.b.len() {
            return Err(format!(
                "{n} {what} need at least {} bytes, only {} are left",
                n.saturating_mul(min_bytes),
                self.b.len()
            ));
        }
        Ok(n)
    }

    pub(super) fn str(&mut self, what: &str) -> Res<&'a str> {
        let n = self.u32(what)? as usize;
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))
    }

    pub(super) fn opt<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Self) -> Res<T>,
    ) -> Res<Option<T>> {
        if self.flag(what)? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A bitmap: its length, then the portable Roaring bytes, validated by roaring (sorted
    /// containers and values, cardinalities that match). Before roaring allocates, the
    /// container count is checked against the bytes present.
    pub(super) fn bitmap(&mut self, what: &str) -> Res<RoaringBitmap> {
        let n = self.u32(what)? as usize;
        decode_bitmap(self.take(n, what)?, what)
    }

    pub(super) fn end(&self) -> Res<()> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} unexpected bytes after the content",
                self.b.len()
            ))
        }
    }
}

/// Bitmaps are decoded as the journal decodes them: the header checked before roaring
/// allocates, with the same messages.
use crate::store::directory::is_phone_value;
use crate::store::journal::op::decode_bitmap;

/// One section read from the input: kind, payload, where it started. The payload is
/// borrowed from a snapshot in memory and owned when read from a stream.
pub(super) struct Raw<'a> {
    pub(super) kind: u32,
    pub(super) payload: Cow<'a, [u8]>,
    pub(super) index: u32,
    pub(super) offset: u64,
}

/// Where a snapshot's bytes come from: a stream, or bytes already in memory (whose
/// sections are read in place, without a copy).
pub(super) trait Input<'a> {
    /// Reads into `buf` as `Read::read` does.
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
    /// The next `len` bytes, or fewer when the input ends first.
    fn payload(&mut self, len: u64) -> std::io::Result<Cow<'a, [u8]>>;
}

/// A snapshot read from an `impl Read`.
pub(super) struct Stream<R>(pub(super) R);

impl<'a, R: Read> Input<'a> for Stream<R> {
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }

    fn payload(&mut self, len: u64) -> std::io::Result<Cow<'a, [u8]>> {
        // Read what is there, growing the buffer as bytes arrive: a declared length alone
        // never allocates more than the first chunk.
        let mut payload = Vec::with_capacity(len.min(FIRST_CHUNK) as usize);
        (&mut self.0).take(len).read_to_end(&mut payload)?;
        Ok(Cow::Owned(payload))
    }
}

/// A snapshot in memory: sections are borrowed where they lie.
pub(super) struct Slice<'a>(pub(super) &'a [u8]);

impl<'a> Input<'a> for Slice<'a> {
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }

    fn payload(&mut self, len: u64) -> std::io::Result<Cow<'a, [u8]>> {
        let n = usize::try_from(len).unwrap_or(usize::MAX).min(self.0.len());
        let (head, rest) = self.0.split_at_checked(n).unwrap_or((self.0, &[]));
        self.0 = rest;
        Ok(Cow::Borrowed(head))
    }
}

pub(super) struct Reader<I> {
    pub(super) input: I,
    pub(super) offset: u64,
    pub(super) index: u32,
}

impl<'a, I: Input<'a>> Reader<I> {
    pub(super) fn fail(
        section: Section,
        index: Option<u32>,
        offset: u64,
        problem: SnapshotProblem,
    ) -> Error {
        ErrorKind::Snapshot(SnapshotError {
            section,
            index,
            offset,
            problem,
        })
        .into()
    }

    /// Reads `buf.len()` bytes, fewer only when the input ends first. Returns how many.
    pub(super) fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut got = 0;
        while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
            match self.input.read_some(rest) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading a snapshot", e)),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    pub(super) fn header(&mut self) -> Result<(), Error> {
        let mut h = [0u8; 12];
        let read = self.fill(&mut h)?;
        let complete = read == h.len();
        let fail = |p| Self::fail(Section::Header, None, 0, p);
        if h.get(..8) != Some(&MAGIC[..]) {
            // A short input that is a prefix of the magic number is a truncated snapshot.
            let n = read.min(8);
            return Err(fail(if !complete && h.get(..n) == MAGIC.get(..n) {
                SnapshotProblem::Truncated
            } else {
                SnapshotProblem::NotASnapshot
            }));
        }
        if !complete {
            return Err(fail(SnapshotProblem::Truncated));
        }
        let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        match version {
            0 => Err(fail(SnapshotProblem::UnknownVersion { found: version })),
            v if v > FORMAT_VERSION => Err(fail(SnapshotProblem::FutureVersion {
                found: v,
                supported: FORMAT_VERSION,
            })),
            _ => Ok(()),
        }
    }

    /// The next section, checksum verified.
    pub(super) fn section(&mut self) -> Result<Raw<'a>, Error> {
        let (index, offset) = (self.index, self.offset);
        let mut head = [0u8; SECTION_HEADER];
        let read = self.fill(&mut head)?;
        if read == 0 {
            // At a clean boundary the closing section is what is missing.
            return Err(Self::fail(
                Section::End,
                Some(index),
                offset,
                SnapshotProblem::Missing,
            ));
        }
        if read < SECTION_HEADER {
            let section = match head.get(..4) {
                Some(&[a, b, c, d]) if read >= 4 => {
                    Section::of_kind(u32::from_le_bytes([a, b, c, d]))
                }
                _ => Section::Unknown(0),
            };
            return Err(Self::fail(
                section,
                Some(index),
                offset,
                SnapshotProblem::Truncated,
            ));
        }
        let kind = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let section = Section::of_kind(kind);
        let fail = |p| Self::fail(section, Some(index), offset, p);
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(head.get(4..).unwrap_or(&[0; 8]));
        let len = u64::from_le_bytes(len_bytes);
        if len > MAX_SECTION_BYTES {
            return Err(fail(SnapshotProblem::TooLarge {
                len,
                limit: MAX_SECTION_BYTES,
            }));
        }
        let payload = self
            .input
            .payload(len)
            .map_err(|e| Error::io("reading a snapshot", e))?;
        let got = payload.len();
        self.offset += got as u64;
        let mut crc = [0u8; 4];
        if (got as u64) < len || self.fill(&mut crc)? < crc.len() {
            return Err(fail(SnapshotProblem::Truncated));
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&head);
        hasher.update(&payload);
        let computed = hasher.finalize();
        let stored = u32::from_le_bytes(crc);
        if computed != stored {
            return Err(fail(SnapshotProblem::Checksum { stored, computed }));
        }
        self.index += 1;
        Ok(Raw {
            kind,
            payload,
            index,
            offset,
        })
    }

    /// The next section of a kind this version knows; unknown optional ones are skipped,
    /// unknown required ones refused.
    pub(super) fn known(&mut self) -> Result<Raw<'a>, Error> {
        loop {
            let raw = self.section()?;
            if matches!(Section::of_kind(raw.kind), Section::Unknown(_)) {
                if raw.kind & OPTIONAL != 0 {
                    continue;
                }
                return Err(Self::fail(
                    Section::Unknown(raw.kind),
                    Some(raw.index),
                    raw.offset,
                    SnapshotProblem::UnknownKind { kind: raw.kind },
                ));
            }
            return Ok(raw);
        }
    }
}

impl Raw<'_> {
    pub(super) fn section(&self) -> Section {
        Section::of_kind(self.kind)
    }

    pub(super) fn invalid(&self, message: String) -> Error {
        ErrorKind::Snapshot(SnapshotError {
            section: self.section(),
            index: Some(self.index),
            offset: self.offset,
            problem: SnapshotProblem::Invalid(message),
        })
        .into()
    }

    pub(super) fn cursor(&self) -> Cursor<'_> {
        Cursor { b: &self.payload }
    }
}

/// Reads a store from a snapshot written by [`snapshot::write`](crate::snapshot::write) of this or any
/// earlier version of the crate.
///
/// Reads exactly the snapshot's bytes (up to and including its end section) and
/// nothing after them. Everything is validated before the store is assembled; on any
/// problem nothing is returned but the error: [`ErrorKind::Snapshot`] naming the
/// section (not a snapshot, a newer format version, truncated, checksum mismatch,
/// invalid content), or [`ErrorKind::Io`] when `r` fails. Memory grows with the bytes
/// actually read, never with a length the input merely declares: a snapshot of `n`
/// bytes makes the load allocate at most about `10 n` bytes plus up to about 1 KiB per
/// tag slot (see `SNAPSHOT.md`).
///
/// The directory's key -> id table is not built by the load but by the first lookup
/// or registration by key ([`Store::customer`], [`Store::add_customer`]...), so a store
/// loaded only to answer queries never pays for hashing every key (at 1M phone keys
/// that is most of a load's cost). Duplicate keys are still refused by the load.
///
/// A snapshot written with [`Extras`] ([`snapshot::write_with`](crate::snapshot::write_with)) is read whole:
/// its extras sections are read and checked like every other section (a damaged or
/// invalid one fails the load), then dropped. Use [`snapshot::read_with`](crate::snapshot::read_with) to
/// keep them.
pub fn read(r: impl Read) -> Result<Store, Error> {
    read_with(r).map(|(store, _)| store)
}

/// Reads a store and the app's [`Extras`] from a snapshot written by
/// [`snapshot::write_with`](crate::snapshot::write_with) (or [`snapshot::write`](crate::snapshot::write): then the extras are
/// empty) of this or any earlier version of the crate.
///
/// Everything [`snapshot::read`](crate::snapshot::read) says holds, and every entry of the extras is
/// checked as its own type checks it (the [`SendLog`](crate::campaign::SendLog)'s
/// deserialisation checks, [`RfmConfig::validate`](crate::RfmConfig::validate) with its
/// segment map's gaps and overlaps, the checks of [`Tiers`](crate::Tiers)' setters, rule
/// names), queries are parsed from their text, and a send log may hold only customer
/// ids the directory handed out. Entries refer to tags and attributes by name and are
/// not resolved against the store. Atomic: on any error nothing is returned but the
/// error, naming the section and the entry.
pub fn read_with(r: impl Read) -> Result<(Store, Extras), Error> {
    read_from(Stream(r))
}

/// Reads a store from a snapshot held in memory (a file read whole, a memory map, a
/// buffer received over the network): [`snapshot::read`](crate::snapshot::read) without
/// copying each section out of the bytes first, so the load allocates only what the
/// store keeps. The same checks, the same errors and the same result as `read` on the
/// same bytes; bytes after the end section are ignored, as `read` leaves them unread.
///
/// ```
/// use audience::{CustomerKey, Store};
///
/// let mut store = Store::new();
/// store.add_customer(CustomerKey::phone("66812345678")?)?;
/// let mut bytes = Vec::new();
/// audience::snapshot::write(&store, &mut bytes)?;
///
/// let loaded = audience::snapshot::read_slice(&bytes)?;
/// assert_eq!(loaded.customers(), store.customers());
/// assert!(audience::snapshot::read_slice(&bytes[..bytes.len() - 1]).is_err());
/// # Ok::<(), audience::Error>(())
/// ```
pub fn read_slice(bytes: &[u8]) -> Result<Store, Error> {
    read_slice_with(bytes).map(|(store, _)| store)
}

/// [`snapshot::read_with`](crate::snapshot::read_with) from a snapshot held in memory:
/// the store and the app's [`Extras`], read as [`snapshot::read_slice`](crate::snapshot::read_slice)
/// reads a store.
pub fn read_slice_with(bytes: &[u8]) -> Result<(Store, Extras), Error> {
    read_from(Slice(bytes))
}

fn read_from<'a>(input: impl Input<'a>) -> Result<(Store, Extras), Error> {
    let mut rd = Reader {
        input,
        offset: 0,
        index: 0,
    };
    rd.header()?;

    let raw = rd.known()?;
    if raw.kind != KIND_DIRECTORY {
        return Err(raw.invalid("expected the directory section first".into()));
    }
    let (directory, live, live_words) = read_directory(&raw).map_err(|e| raw.invalid(e))?;
    drop(raw);

    let raw = rd.known()?;
    if raw.kind != KIND_TAXONOMY {
        return Err(raw.invalid("expected the taxonomy section after the directory".into()));
    }
    let mut taxonomy = read_taxonomy(&raw).map_err(|e| raw.invalid(e))?;
    drop(raw);
    let mut policy_seen = false;

    let mut attrs: Vec<AttrSlot> = Vec::new();
    let mut attr_names: HashSet<String> = HashSet::new();
    let mut members: Vec<TagMembers> = Vec::new();
    members.resize_with(taxonomy.slots().len(), TagMembers::default);
    let mut last_tag: Option<u32> = None;
    let mut extras = extras::Loader::new();
    let mut seq: Option<u64> = None;
    loop {
        let raw = rd.known()?;
        if raw.kind == KIND_JOURNAL {
            if seq.is_some() {
                return Err(raw.invalid("a second journal position section".into()));
            }
            let mut c = raw.cursor();
            seq = Some(c.u64("sequence number").map_err(|e| raw.invalid(e))?);
            c.end().map_err(|e| raw.invalid(e))?;
            continue;
        }
        extras.order(&raw)?;
        match raw.kind {
            KIND_ATTRIBUTE => {
                if last_tag.is_some() {
                    return Err(raw.invalid(
                        "attribute sections must come before the members sections".into(),
                    ));
                }
                let slot =
                    read_attribute(&raw, attrs.len(), &live_words).map_err(|e| raw.invalid(e))?;
                if !attr_names.insert(fold(&slot.info.name)) {
                    return Err(raw.invalid(format!(
                        "attribute {} appears twice",
                        quote(&slot.info.name)
                    )));
                }
                attrs.push(slot);
            }
            KIND_POLICY => {
                if policy_seen || !attrs.is_empty() || last_tag.is_some() {
                    return Err(raw.invalid(
                        "the policy section comes once, right after the taxonomy".into(),
                    ));
                }
                let mut c = raw.cursor();
                let policy = read_policy(&mut c).map_err(|e| raw.invalid(e))?;
                c.end().map_err(|e| raw.invalid(e))?;
                taxonomy.restore_policy(policy);
                policy_seen = true;
            }
            KIND_MEMBERS => {
                let (tag, m) =
                    read_members(&raw, &taxonomy, &live, last_tag).map_err(|e| raw.invalid(e))?;
                last_tag = Some(tag);
                if let Some(slot) = members.get_mut(tag as usize) {
                    *slot = m;
                }
            }
            kind if extras::is_kind(kind) => extras.read(&raw, directory.next_id())?,
            KIND_END => {
                let mut c = raw.cursor();
                let count = c.u32("section count").map_err(|e| raw.invalid(e))?;
                c.end().map_err(|e| raw.invalid(e))?;
                if count != raw.index {
                    return Err(
                        raw.invalid(format!("{count} sections announced, {} read", raw.index))
                    );
                }
                break;
            }
            _ => {
                return Err(raw.invalid(format!(
                    "a second {} (only one is allowed, right after the header)",
                    raw.section()
                )));
            }
        }
    }
    Ok((
        Store::from_snapshot_parts(directory, taxonomy, members, attrs, live, seq.unwrap_or(0)),
        extras.finish(),
    ))
}

pub(super) fn read_directory(raw: &Raw) -> Res<(Directory, RoaringBitmap, Vec<u64>)> {
    let mut c = raw.cursor();
    let n = c.u64("id space")?;
    if n > u64::from(u32::MAX) {
        return Err(format!("an id space of {n} exceeds the u32 ids"));
    }
    let m = c.count(3, "member ids")?;
    let mut member_ids: Vec<&str> = Vec::with_capacity(m);
    for _ in 0..m {
        let len = c.u16("member id length")? as usize;
        let bytes = c.take(len, "member id")?;
        let s = std::str::from_utf8(bytes).map_err(|_| "a member id is not valid UTF-8")?;
        member_ids.push(s);
    }
    if n.saturating_mul(8) > c.b.len() as u64 {
        return Err(format!(
            "{n} id slots need {} bytes, only {} are left",
            n.saturating_mul(8),
            c.b.len()
        ));
    }
    let slots = c.take(n as usize * 8, "id slots")?;
    c.end()?;

    // Check every slot before building anything.
    let slot = |chunk: &[u8]| {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        u64::from_le_bytes(b)
    };
    // The keys by id, as the directory keeps them (the same encoding), and the ids of the
    // member-id slots.
    let mut keys: Vec<u64> = Vec::with_capacity(n as usize);
    let mut member_slots: Vec<usize> = Vec::new();
    // Phone keys that ascend with their ids (customers registered in key order) cannot
    // repeat: then they need no other check.
    let (mut ascending, mut last_phone) = (true, 0u64);
    let mut live_words = Vec::with_capacity((n as usize).div_ceil(64));
    for (block, ids) in slots.chunks(64 * 8).enumerate() {
        let mut word = 0u64;
        for (i, chunk) in ids.chunks_exact(8).enumerate() {
            let key = slot(chunk);
            keys.push(key);
            match key {
                SLOT_ERASED => continue,
                SLOT_MEMBER => member_slots.push(block * 64 + i),
                p if is_phone_value(p) => {
                    ascending &= p > last_phone;
                    last_phone = p;
                }
                other => {
                    return Err(format!(
                        "customer id {} has an invalid key slot {other:#x}",
                        block * 64 + i
                    ));
                }
            }
            word |= 1 << i;
        }
        live_words.push(word);
    }
    if member_slots.len() != m {
        return Err(format!(
            "{} slots hold member ids but {m} member ids are stored",
            member_slots.len()
        ));
    }
    let phones = || keys.iter().copied().filter(|&p| is_phone_value(p));
    if !ascending && let Some(p) = first_duplicate(phones) {
        let id = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| **k == p)
            .nth(1)
            .map_or(0, |(id, _)| id);
        return Err(format!("customer id {id} repeats the key of an earlier id"));
    }
    let mut seen: HashSet<&str> = HashSet::with_capacity(m);
    let mut members: Vec<Box<str>> = Vec::with_capacity(m);
    for (&id, s) in member_slots.iter().zip(member_ids) {
        if !seen.insert(s) {
            return Err(format!("customer id {id} repeats the key of an earlier id"));
        }
        CustomerKey::member(s).map_err(|e| format!("customer id {id}: {e}"))?;
        members.push(Box::from(s));
    }
    let live_count = live_words.iter().map(|w| w.count_ones() as usize).sum();
    let dir = Directory::restore(keys, members, live_count);
    let live = words_to_bitmap(&live_words);
    Ok((dir, live, live_words))
}

/// A value that `values()` yields twice (the smallest such value), without sorting them
/// all.
///
/// Values that ascend cannot repeat: one pass proves that. Otherwise each value sets one
/// bit, picked by a multiplicative hash, of a bitset of at least 16 bits per value: a bit
/// set twice is rare unless a value repeats, so only the values on such bits are collected,
/// sorted and compared. Two bitsets of at most 32 bits per value each, against the 8 bytes
/// each value takes in the snapshot.
pub(super) fn first_duplicate<I: Iterator<Item = u64>>(values: impl Fn() -> I) -> Option<u64> {
    let (len, ascending, _) = values().fold((0usize, true, None), |(n, asc, last), x| {
        (n + 1, asc && last < Some(x), Some(x))
    });
    if ascending {
        return None;
    }
    let bits = len.saturating_mul(16).next_power_of_two().max(64);
    let shift = 64 - bits.trailing_zeros();
    let bit = |x: u64| (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize;
    let mut once = vec![0u64; bits / 64];
    let mut twice = vec![0u64; bits / 64];
    for x in values() {
        let b = bit(x);
        if let (Some(o), Some(t)) = (once.get_mut(b / 64), twice.get_mut(b / 64)) {
            let mask = 1u64 << (b % 64);
            *t |= *o & mask;
            *o |= mask;
        }
    }
    drop(once);
    if twice.iter().all(|w| *w == 0) {
        return None;
    }
    let mut candidates: Vec<u64> = values()
        .filter(|&x| {
            let b = bit(x);
            twice.get(b / 64).is_some_and(|w| w >> (b % 64) & 1 == 1)
        })
        .collect();
    candidates.sort_unstable();
    candidates
        .windows(2)
        .find(|w| w.first() == w.get(1))
        .and_then(|w| w.first().copied())
}

pub(super) fn read_taxonomy(raw: &Raw) -> Res<Taxonomy> {
    let mut c = raw.cursor();
    let nd = c.count(5, "dimensions")?;
    let mut dims = Vec::with_capacity(nd);
    for _ in 0..nd {
        let name = c.str("dimension name")?.to_string();
        let colour = c.opt("colour", |c| c.str("colour").map(str::to_string))?;
        dims.push(DimensionInfo { name, colour });
    }
    let nt = c.count(1, "tag slots")?;
    let mut tags: Vec<Option<TagInfo>> = Vec::with_capacity(nt);
    for id in 0..nt as u32 {
        if !c.flag("tag slot")? {
            tags.push(None);
            continue;
        }
        let name = c.str("tag name")?.to_string();
        let dim = c.u32("dimension index")? as usize;
        let dimension = dims
            .get(dim)
            .map(|d: &DimensionInfo| d.name.clone())
            .ok_or_else(|| format!("tag {id} is in dimension {dim}, which does not exist"))?;
        let kind = match c.u8("tag kind")? {
            0 => TagKind::Static,
            1 => TagKind::Dynamic,
            other => return Err(format!("tag {id} has an unknown kind {other}")),
        };
        let ttl_days = c.opt("time-to-live", |c| c.u32("time-to-live"))?;
        let description = c.str("description")?.to_string();
        let archived = c.flag("archived")?;
        let created = c.day("created")?;
        let last_used = c.opt("last used", |c| c.day("last used"))?;
        tags.push(Some(TagInfo {
            id: TagId(id),
            name,
            dimension,
            kind,
            ttl_days,
            description,
            archived,
            created,
            last_used,
        }));
    }
    let nl = c.count(11, "log entries")?;
    let mut log = Vec::with_capacity(nl);
    for _ in 0..nl {
        log.push(read_log_entry(&mut c)?);
    }
    c.end()?;
    Taxonomy::restore(tags, dims, log)
}

pub(super) fn read_log_entry(c: &mut Cursor<'_>) -> Res<LogEntry> {
    let day = c.day("log day")?;
    let actor = c.str("actor")?.to_string();
    let reason = c.opt("reason", |c| c.str("reason").map(str::to_string))?;
    let tag = |c: &mut Cursor<'_>| c.u32("tag id").map(TagId);
    let text = |c: &mut Cursor<'_>, what: &str| c.str(what).map(str::to_string);
    let change = match c.u8("change code")? {
        1 => Change::Created {
            tag: tag(c)?,
            name: text(c, "name")?,
            dimension: text(c, "dimension")?,
        },
        2 => Change::Renamed {
            tag: tag(c)?,
            from: text(c, "old name")?,
            to: text(c, "new name")?,
        },
        3 => Change::Archived {
            tag: tag(c)?,
            name: text(c, "name")?,
        },
        4 => Change::Unarchived {
            tag: tag(c)?,
            name: text(c, "name")?,
        },
        5 => Change::Deleted {
            tag: tag(c)?,
            name: text(c, "name")?,
            members: c.u64("member count")?,
        },
        6 => Change::Merged {
            from: tag(c)?,
            from_name: text(c, "name")?,
            into: tag(c)?,
            into_name: text(c, "name")?,
        },
        7 => Change::TtlChanged {
            tag: tag(c)?,
            from: c.opt("old time-to-live", |c| c.u32("old time-to-live"))?,
            to: c.opt("new time-to-live", |c| c.u32("new time-to-live"))?,
        },
        8 => Change::Described { tag: tag(c)? },
        9 => Change::Coloured {
            dimension: text(c, "dimension")?,
            colour: c.opt("colour", |c| c.str("colour").map(str::to_string))?,
        },
        10 => Change::PolicyChanged {
            policy: read_policy(c)?,
        },
        other => return Err(format!("unknown change code {other} in the log")),
    };
    Ok(LogEntry {
        day,
        actor,
        change,
        reason,
    })
}

pub(super) fn read_members(
    raw: &Raw,
    taxonomy: &Taxonomy,
    live: &RoaringBitmap,
    last_tag: Option<u32>,
) -> Res<(u32, TagMembers)> {
    let mut c = raw.cursor();
    let tag = c.u32("tag id")?;
    if last_tag.is_some_and(|t| tag <= t) {
        return Err(format!(
            "members of tag {tag} after those of tag {} (tags must ascend)",
            last_tag.unwrap_or(0)
        ));
    }
    if taxonomy.get(TagId(tag)).is_err() {
        return Err(format!("members of tag {tag}, which does not exist"));
    }
    let base_day = c.day("base day")?;
    let all = c.bitmap("member bitmap")?;
    // Without erased ids the live customers are `0..=live.max()`, and a bitmap whose
    // largest member is at most that is a subset: no need to look at every member.
    let contiguous = live.max().is_some_and(|m| live.len() == u64::from(m) + 1);
    let within = if contiguous {
        all.max() <= live.max()
    } else {
        all.is_subset(live)
    };
    if !within {
        let first = (&all - live).min().unwrap_or(0);
        return Err(format!(
            "tag {tag} has member {first}, which is not a live customer"
        ));
    }
    let nb = c.count(12, "day buckets")?;
    let mut dated = BTreeMap::new();
    let mut seen = RoaringBitmap::new();
    let mut last_day: Option<Day> = None;
    for _ in 0..nb {
        let day = c.day("bucket day")?;
        if last_day.is_some_and(|d| day <= d) {
            return Err(format!(
                "tag {tag}: bucket days must ascend, {day} does not"
            ));
        }
        last_day = Some(day);
        if day == base_day {
            return Err(format!("tag {tag}: a bucket for the base day {day}"));
        }
        let bm = c.bitmap("bucket bitmap")?;
        if bm.is_empty() {
            return Err(format!("tag {tag}: the bucket of {day} is empty"));
        }
        if !bm.is_subset(&all) {
            return Err(format!(
                "tag {tag}: the bucket of {day} holds customers that are not members"
            ));
        }
        if !bm.is_disjoint(&seen) {
            return Err(format!(
                "tag {tag}: the bucket of {day} overlaps an earlier one"
            ));
        }
        seen |= &bm;
        dated.insert(day, bm);
    }
    c.end()?;
    Ok((tag, TagMembers::from_parts(all, base_day, dated)))
}

pub(super) fn read_attribute(raw: &Raw, expected_id: usize, live_words: &[u64]) -> Res<AttrSlot> {
    let mut c = raw.cursor();
    let id = c.u32("attribute id")?;
    if id as usize != expected_id {
        return Err(format!(
            "attribute {id} where attribute {expected_id} was expected (ids are dense, in order)"
        ));
    }
    if expected_id >= MAX_ATTRIBUTES {
        return Err(format!("more than {MAX_ATTRIBUTES} attributes (the limit)"));
    }
    let name = c.str("attribute name")?.to_string();
    check_attr_name(&name).map_err(|e| format!("attribute {id}: {e}"))?;
    let kind = match c.u8("attribute kind")? {
        0 => AttrKind::Int,
        1 => AttrKind::Day,
        2 => match c.u8("decimal places")? {
            scale @ 1..=AttrKind::MAX_DECIMAL_SCALE => AttrKind::Decimal { scale },
            scale => {
                return Err(format!(
                    "attribute {id} keeps {scale} decimal places (1 to {})",
                    AttrKind::MAX_DECIMAL_SCALE
                ));
            }
        },
        other => return Err(format!("attribute {id} has an unknown kind {other}")),
    };
    let n = c.u64("value slots")?;
    let words_len = n.div_ceil(64);
    if words_len > live_words.len() as u64 {
        return Err(format!(
            "attribute {id} has {n} value slots, more than the {} ids handed out",
            live_words.len() * 64
        ));
    }
    let n = n as usize;
    let raw_words = c.take(n.div_ceil(64) * 8, "presence words")?;
    let words: Vec<u64> = raw_words
        .chunks_exact(8)
        .map(|w| {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            u64::from_le_bytes(b)
        })
        .collect();
    if let Some(last) = words.last() {
        let used = n - (words.len() - 1) * 64;
        if last >> (used - 1) != 1 {
            return Err(format!(
                "attribute {id}: the presence bits must end with the last value slot"
            ));
        }
    }
    if let Some(w) = words.iter().zip(live_words).position(|(p, l)| p & !l != 0) {
        let bad = words
            .get(w)
            .zip(live_words.get(w))
            .map_or(0, |(p, l)| p & !l);
        return Err(format!(
            "attribute {id} has a value for customer id {}, which is not a live customer",
            w * 64 + bad.trailing_zeros() as usize
        ));
    }
    let base = c.i64("base")?;
    let width = c.u8("width")? as usize;
    if !matches!(width, 1 | 2 | 4 | 8) {
        return Err(format!(
            "attribute {id} has a value width of {width} bytes (1, 2, 4 or 8)"
        ));
    }
    let bytes = c.take(n.saturating_mul(width), "values")?;
    c.end()?;
    let present = words_to_bitmap(&words);
    let decoded = match width {
        1 => decode_values::<u8>(bytes, base, &words),
        2 => decode_values::<u16>(bytes, base, &words),
        4 => decode_values::<u32>(bytes, base, &words),
        _ => decode_values::<u64>(bytes, base, &words),
    };
    let (offsets, planes) = decoded.map_err(|e| format!("attribute {id}: {e}"))?;
    let column = Column::restore(offsets, present, words, base, planes);
    // The top plane is the top bit of the largest offset: every value is in
    // `base..base + 2^planes`, so days need a look at each value only near the i32 limits.
    let bound = i128::from(base) + (1i128 << column.depth()) - 1;
    if kind == AttrKind::Day
        && !column.present().is_empty()
        && (base < i64::from(Day::MIN.as_i32()) || bound > i128::from(Day::MAX.as_i32()))
        && let Some(first) = column.present().iter().find(|&i| {
            column.get(i).is_some_and(|v| {
                !(i64::from(Day::MIN.as_i32())..=i64::from(Day::MAX.as_i32())).contains(&v)
            })
        })
    {
        return Err(format!(
            "attribute {id} holds days, and customer id {first} has a value beyond them"
        ));
    }
    Ok(AttrSlot {
        info: AttrInfo {
            id: AttrId(id),
            name,
            kind,
        },
        column: Arc::new(column),
    })
}
