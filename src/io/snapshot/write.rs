//! Writing: the sections of a snapshot, each built in one buffer and checksummed (see
//! `SNAPSHOT.md` for the layout).

use super::*;

pub(super) struct Writer<W: Write> {
    pub(super) out: W,
    pub(super) buf: Vec<u8>,
    pub(super) written: u64,
    pub(super) sections: u32,
}

impl<W: Write> Writer<W> {
    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("writing a snapshot", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Starts a section: its header with a length to patch.
    pub(super) fn begin(&mut self, kind: u32) -> &mut Vec<u8> {
        self.buf.clear();
        self.buf.extend_from_slice(&kind.to_le_bytes());
        self.buf.extend_from_slice(&[0; 8]);
        &mut self.buf
    }

    /// Patches the length, appends the CRC and writes the section out.
    pub(super) fn finish(&mut self) -> Result<(), Error> {
        let len = (self.buf.len() - SECTION_HEADER) as u64;
        if len > MAX_SECTION_BYTES {
            return Err(ErrorKind::LimitExceeded {
                what: "snapshot section size in bytes",
                limit: MAX_SECTION_BYTES,
                actual: len,
            }
            .into());
        }
        if let Some(field) = self.buf.get_mut(4..SECTION_HEADER) {
            field.copy_from_slice(&len.to_le_bytes());
        }
        let crc = crc32fast::hash(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        let buf = std::mem::take(&mut self.buf);
        let r = self.write(&buf);
        self.buf = buf;
        self.sections += 1;
        r
    }
}

pub(super) fn put_u8(b: &mut Vec<u8>, v: u8) {
    b.push(v);
}
pub(super) fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_str(b: &mut Vec<u8>, s: &str) {
    put_len(b, s.len());
    b.extend_from_slice(s.as_bytes());
}
pub(super) fn put_opt_str(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            put_u8(b, 1);
            put_str(b, s);
        }
        None => put_u8(b, 0),
    }
}
pub(super) fn put_opt_u32(b: &mut Vec<u8>, v: Option<u32>) {
    match v {
        Some(v) => {
            put_u8(b, 1);
            put_u32(b, v);
        }
        None => put_u8(b, 0),
    }
}
pub(super) fn put_opt_day(b: &mut Vec<u8>, v: Option<Day>) {
    match v {
        Some(d) => {
            put_u8(b, 1);
            put_i32(b, d.0);
        }
        None => put_u8(b, 0),
    }
}
/// A count or length as u32. Every count the store holds fits: ids, tags and attributes are
/// bounded by u32 ids and the crate's limits; a text longer than 4 GiB makes its section
/// exceed [`MAX_SECTION_BYTES`], which `finish` refuses.
pub(super) fn put_len(b: &mut Vec<u8>, n: usize) {
    put_u32(b, u32::try_from(n).unwrap_or(u32::MAX));
}
/// A bitmap: its portable serialisation's length (u32) and the bytes.
pub(super) fn put_bitmap(b: &mut Vec<u8>, bm: &RoaringBitmap) {
    let at = b.len();
    put_u32(b, 0);
    b.reserve(bm.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = bm.serialize_into(&mut *b);
    let len = b.len() - at - 4;
    if let Some(field) = b.get_mut(at..at + 4) {
        field.copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    }
}

/// Writes the whole store to `w` in the snapshot format (see the [`snapshot`](crate::snapshot)
/// module and `SNAPSHOT.md`). Returns the number of bytes written.
///
/// The writer gets a few large writes (one per section); wrap it in a `BufWriter` only
/// if it is slow with those. Errors: [`ErrorKind::Io`] when `w` fails (what was written
/// up to then is not a valid snapshot: it has no end section), and
/// [`ErrorKind::LimitExceeded`] for a section over [`MAX_SECTION_BYTES`].
///
/// The same as [`snapshot::write_with`](crate::snapshot::write_with) with empty [`Extras`]: the snapshot holds
/// the store alone.
pub fn write(store: &Store, w: impl Write) -> Result<u64, Error> {
    write_with(store, &Extras::default(), w)
}

/// Writes the whole store and the app's state outside it (rule sets, campaign send
/// logs, RFM configurations, tier definitions: see [`Extras`]) to `w`, one section per
/// entry after the store's sections. Returns the number of bytes written.
/// [`snapshot::read_with`](crate::snapshot::read_with) reads both back; empty extras write exactly the bytes
/// of [`snapshot::write`](crate::snapshot::write).
///
/// Queries (rule conditions, RFM scopes) are written as their canonical text. Before
/// anything is written, every entry is checked as a reader will check it, so a snapshot
/// that was written can be read back: an entry that fails is refused with
/// [`ErrorKind::SnapshotExtra`] naming it (its own checks fail: [`RfmConfig::validate`],
/// the checks of [`Tiers`](crate::Tiers)' setters, rule names empty or given twice; a query whose canonical text
/// does not read back as the same query, e.g. an AST built in code nesting deeper than
/// the language allows; a send log holding customer ids the store never handed out
/// ([`SendLog::record`](crate::campaign::SendLog::record) refuses them, so only a log
/// read through serde or recorded against another store can); a
/// name over 200 characters or a list over 2^20 items). Otherwise the errors of
/// [`snapshot::write`](crate::snapshot::write).
///
/// Customers erased from the store ("forget me") are left out of the send logs written,
/// whether or not the app called [`Extras::forget`] (which erases them from its memory
/// too), so a snapshot never keeps an erased customer's id.
///
/// [`RfmConfig::validate`]: crate::RfmConfig::validate
///
/// ```
/// use audience::campaign::{Hour, SendLog};
/// use audience::snapshot::Extras;
/// use audience::{
///     AttrKind, CustomerKey, Day, Edit, ErrorKind, Query, RfmConfig, Rule, RuleSet, Store,
///     TagSpec, Tiers,
/// };
///
/// let today = Day::from_ymd(2025, 1, 6)?;
/// let mut store = Store::new();
/// store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
/// store.define_attribute("purchase_count", AttrKind::Int)?;
/// let c = store.add_customer(CustomerKey::phone("85291234567")?)?;
///
/// let mut extras = Extras::new();
/// let loyal = Rule::new("loyal", Query::parse("purchase_count >= 5")?).add("VIP");
/// extras.rule_sets.insert("weekly".into(), RuleSet::new().rule(loyal));
/// let mut log = SendLog::new();
/// log.record(&store, Hour::new(today, 9)?, "whatsapp", &[c].into_iter().collect())?;
/// extras.send_logs.insert("automations".into(), log);
/// extras.rfm.insert("everyone".into(), RfmConfig::default());
/// let tiers = Tiers::new("purchase_count", "tier").tier("A", 5)?.rest("B")?;
/// extras.tiers.insert("leads".into(), tiers);
///
/// let mut bytes = Vec::new();
/// audience::snapshot::write_with(&store, &extras, &mut bytes)?;
/// let (loaded, loaded_extras) = audience::snapshot::read_with(&bytes[..])?;
/// assert_eq!(loaded_extras, extras);
/// assert_eq!(loaded.customer_count(), 1);
///
/// // `snapshot::read` reads and checks the same bytes, and drops the extras.
/// assert_eq!(audience::snapshot::read(&bytes[..])?.customer_count(), 1);
///
/// // An entry a reader would refuse is refused before anything is written.
/// extras.tiers.insert("broken".into(), Tiers::new("purchase_count", "tier"));
/// let mut out = Vec::new();
/// let err = audience::snapshot::write_with(&store, &extras, &mut out).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::SnapshotExtra { what: "tiers", .. }));
/// assert_eq!(
///     err.to_string(),
///     "cannot write tiers \"broken\" to a snapshot: \
///      tiers of purchase_count: give 1 to 256 tiers, got 0"
/// );
/// assert!(out.is_empty());
/// # Ok::<(), audience::Error>(())
/// ```
pub fn write_with(store: &Store, extras: &Extras, w: impl Write) -> Result<u64, Error> {
    // "Forget me" reaches the snapshot even if the app kept an erased id in its extras.
    let scrubbed = extras.without_erased(store);
    let extras = scrubbed.as_ref().unwrap_or(extras);
    extras::check(extras, store)?;
    let mut wr = Writer {
        out: w,
        buf: Vec::new(),
        written: 0,
        sections: 0,
    };
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(&MAGIC);
    put_u32(&mut header, FORMAT_VERSION);
    wr.write(&header)?;

    let (directory, taxonomy, members, attrs) = store.snapshot_parts();
    write_directory(wr.begin(KIND_DIRECTORY), directory);
    wr.finish()?;
    write_taxonomy(wr.begin(KIND_TAXONOMY), taxonomy);
    wr.finish()?;
    // Every setting that is not the default is written, also prefixes kept while the
    // prefix rule is off and actions open to all while there are no administrators, so that
    // a round trip keeps the policy as it was set.
    let policy = taxonomy.policy();
    let naming = policy.naming();
    if !policy.is_open()
        || !policy.open_to_all().is_empty()
        || !naming.is_empty()
        || !naming.prefixes().is_empty()
    {
        put_policy(wr.begin(KIND_POLICY), taxonomy.policy());
        wr.finish()?;
    }
    for slot in attrs {
        write_attribute(wr.begin(KIND_ATTRIBUTE), slot);
        wr.finish()?;
    }
    for (id, m) in members.iter().enumerate() {
        let (all, base_day, dated) = m.parts();
        if all.is_empty() {
            continue;
        }
        let b = wr.begin(KIND_MEMBERS);
        put_u32(b, id as u32);
        put_i32(b, base_day.0);
        put_bitmap(b, all);
        put_len(b, dated.len());
        for (day, bm) in dated.iter() {
            put_i32(b, day.0);
            put_bitmap(b, bm);
        }
        wr.finish()?;
    }
    extras::write(&mut wr, extras)?;
    let seq = store.journal().seq();
    if seq > 0 {
        put_u64(wr.begin(KIND_JOURNAL), seq);
        wr.finish()?;
    }
    let sections = wr.sections;
    put_u32(wr.begin(KIND_END), sections);
    wr.finish()?;
    wr.out
        .flush()
        .map_err(|e| Error::io("writing a snapshot", e))?;
    Ok(wr.written)
}

pub(super) fn write_directory(b: &mut Vec<u8>, dir: &Directory) {
    let n = dir.next_id();
    put_u64(b, n);
    let count_at = b.len();
    put_u32(b, 0);
    let mut members = 0u32;
    for id in 0..n as u32 {
        if let Some(KeyRef::Member(m)) = dir.key(id) {
            put_u16(b, m.len() as u16);
            b.extend_from_slice(m.as_bytes());
            members += 1;
        }
    }
    if let Some(field) = b.get_mut(count_at..count_at + 4) {
        field.copy_from_slice(&members.to_le_bytes());
    }
    b.reserve(n as usize * 8);
    for id in 0..n as u32 {
        let slot = match dir.key(id) {
            Some(KeyRef::Phone(p)) => p,
            Some(KeyRef::Member(_)) => SLOT_MEMBER,
            None => SLOT_ERASED,
        };
        put_u64(b, slot);
    }
}

pub(super) fn change_code(c: &Change) -> u8 {
    match c {
        Change::Created { .. } => 1,
        Change::Renamed { .. } => 2,
        Change::Archived { .. } => 3,
        Change::Unarchived { .. } => 4,
        Change::Deleted { .. } => 5,
        Change::Merged { .. } => 6,
        Change::TtlChanged { .. } => 7,
        Change::Described { .. } => 8,
        Change::Coloured { .. } => 9,
        Change::PolicyChanged { .. } => 10,
    }
}

/// The policy section's payload: the journal lays a policy out the same way, so both use
/// its encoder.
pub(super) use crate::store::journal::op::put_policy;

pub(super) fn read_policy(c: &mut Cursor<'_>) -> Res<Policy> {
    let na = c.count(4, "administrators")?;
    let mut administrators = Vec::with_capacity(na);
    for _ in 0..na {
        administrators.push(c.str("administrator")?.to_string());
    }
    let no = c.count(1, "open actions")?;
    let mut open_to_all = Vec::with_capacity(no);
    for _ in 0..no {
        let code = c.u8("action")?;
        let act = TaxonomyAction::ALL
            .get(usize::from(code))
            .copied()
            .ok_or_else(|| format!("unknown taxonomy action {code}"))?;
        open_to_all.push(act);
    }
    let dimension_prefix = c.flag("dimension prefix rule")?;
    let np = c.count(8, "prefixes")?;
    let mut prefixes = Vec::with_capacity(np);
    for _ in 0..np {
        let d = c.str("prefix dimension")?.to_string();
        let p = c.str("prefix")?.to_string();
        prefixes.push((d, p));
    }
    let max_chars = c
        .opt("maximum length", |c| c.u32("maximum length"))?
        .map(|m| m as usize);
    let nf = c.count(4, "forbidden characters")?;
    let mut forbidden_chars = Vec::with_capacity(nf);
    for _ in 0..nf {
        let v = c.u32("forbidden character")?;
        forbidden_chars
            .push(char::from_u32(v).ok_or_else(|| format!("{v:#x} is not a character"))?);
    }
    let invalid = |e: Error| e.to_string();
    let mut policy = if administrators.is_empty() {
        Policy::open()
    } else {
        Policy::administered_by(administrators).map_err(invalid)?
    };
    for act in open_to_all {
        policy = policy.allow_anyone(act);
    }
    let mut naming = NamingRules::new();
    if dimension_prefix {
        naming = naming.require_dimension_prefix();
    }
    for (d, p) in prefixes {
        naming = naming.prefix_stored(d, p).map_err(invalid)?;
    }
    if let Some(m) = max_chars {
        naming = naming.max_chars(m).map_err(invalid)?;
    }
    let naming = naming
        .forbid_chars(&forbidden_chars.into_iter().collect::<String>())
        .map_err(invalid)?;
    Ok(policy.with_naming(naming))
}

pub(super) fn write_taxonomy(b: &mut Vec<u8>, tax: &Taxonomy) {
    let dims = tax.dimensions();
    put_len(b, dims.len());
    for d in dims {
        put_str(b, &d.name);
        put_opt_str(b, d.colour.as_deref());
    }
    let slots = tax.slots();
    put_len(b, slots.len());
    for slot in slots {
        let Some(t) = slot else {
            put_u8(b, 0);
            continue;
        };
        put_u8(b, 1);
        put_str(b, &t.name);
        let dim = dims.iter().position(|d| d.name == t.dimension).unwrap_or(0);
        put_len(b, dim);
        put_u8(
            b,
            match t.kind {
                TagKind::Static => 0,
                TagKind::Dynamic => 1,
            },
        );
        put_opt_u32(b, t.ttl_days);
        put_str(b, &t.description);
        put_u8(b, u8::from(t.archived));
        put_i32(b, t.created.0);
        put_opt_day(b, t.last_used);
    }
    let log = tax.log();
    put_len(b, log.len());
    for e in log {
        put_i32(b, e.day.0);
        put_str(b, &e.actor);
        put_opt_str(b, e.reason.as_deref());
        put_u8(b, change_code(&e.change));
        match &e.change {
            Change::Created {
                tag,
                name,
                dimension,
            } => {
                put_u32(b, tag.0);
                put_str(b, name);
                put_str(b, dimension);
            }
            Change::Renamed { tag, from, to } => {
                put_u32(b, tag.0);
                put_str(b, from);
                put_str(b, to);
            }
            Change::Archived { tag, name } | Change::Unarchived { tag, name } => {
                put_u32(b, tag.0);
                put_str(b, name);
            }
            Change::Deleted { tag, name, members } => {
                put_u32(b, tag.0);
                put_str(b, name);
                put_u64(b, *members);
            }
            Change::Merged {
                from,
                from_name,
                into,
                into_name,
            } => {
                put_u32(b, from.0);
                put_str(b, from_name);
                put_u32(b, into.0);
                put_str(b, into_name);
            }
            Change::TtlChanged { tag, from, to } => {
                put_u32(b, tag.0);
                put_opt_u32(b, *from);
                put_opt_u32(b, *to);
            }
            Change::Described { tag } => put_u32(b, tag.0),
            Change::Coloured { dimension, colour } => {
                put_str(b, dimension);
                put_opt_str(b, colour.as_deref());
            }
            Change::PolicyChanged { policy } => put_policy(b, policy),
        }
    }
}

pub(super) fn write_attribute(b: &mut Vec<u8>, slot: &AttrSlot) {
    put_u32(b, slot.info.id.0);
    put_str(b, &slot.info.name);
    match slot.info.kind {
        AttrKind::Int => put_u8(b, 0),
        AttrKind::Day => put_u8(b, 1),
        AttrKind::Decimal { scale } => {
            put_u8(b, 2);
            put_u8(b, scale);
        }
    }
    let (offsets, base, present, words) = slot.column.raw();
    let n = present
        .max()
        .map_or(0, |m| m as usize + 1)
        .min(offsets.len());
    let words = words.get(..n.div_ceil(64)).unwrap_or(words);
    put_u64(b, n as u64);
    for &w in words {
        put_u64(b, w);
    }
    each_width!(offsets, v => write_values(b, v.get(..n).unwrap_or(v), words, base));
}

/// `base`, the width byte and the slots: the smallest value present (0 when none) and
/// every value's offset above it in the narrowest width, from the column's offsets above
/// its own `base`.
fn write_values<T: Slot>(b: &mut Vec<u8>, offsets: &[T], words: &[u64], base: i64) {
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for (chunk, &word) in offsets.chunks(64).zip(words) {
        for (i, &o) in chunk.iter().enumerate() {
            let keep = 0u64.wrapping_sub(word >> i & 1);
            lo = lo.min(o.into() | !keep);
            hi = hi.max(o.into() & keep);
        }
    }
    if lo > hi {
        (lo, hi) = (0, 0);
    }
    put_i64(b, base.wrapping_add(lo as i64));
    let at = b.len() + 1;
    match hi - lo {
        0..=0xFF => encode_values::<1, T>(b, offsets, words, lo),
        0x100..=0xFFFF => encode_values::<2, T>(b, offsets, words, lo),
        0x1_0000..=0xFFFF_FFFF => encode_values::<4, T>(b, offsets, words, lo),
        _ => encode_values::<8, T>(b, offsets, words, lo),
    }
    debug_assert_eq!(
        b.len() - at,
        offsets.len() * b.get(at - 1).map_or(0, |w| *w as usize)
    );
}

/// The width byte, then `offset - lo` in `W` bytes for every id, 0 for ids without a
/// value.
pub(super) fn encode_values<const W: usize, T: Slot>(
    b: &mut Vec<u8>,
    offsets: &[T],
    words: &[u64],
    lo: u64,
) {
    put_u8(b, W as u8);
    let start = b.len();
    b.resize(start + offsets.len() * W, 0);
    let out = b.get_mut(start..).unwrap_or(&mut []);
    for ((dst, chunk), &word) in out.chunks_mut(64 * W).zip(offsets.chunks(64)).zip(words) {
        for (i, (d, &o)) in dst.chunks_exact_mut(W).zip(chunk).enumerate() {
            let off = o.into().wrapping_sub(lo) & 0u64.wrapping_sub(word >> i & 1);
            if let Some(src) = off.to_le_bytes().get(..W) {
                d.copy_from_slice(src);
            }
        }
    }
}
