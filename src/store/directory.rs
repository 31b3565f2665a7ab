//! The customer directory: external keys <-> dense `u32` customer ids.
//!
//! Ids are handed out in arrival order (0, 1, 2, ...) and never reused: erasing a customer
//! leaves a hole. Both directions are O(1):
//!
//! - id -> key: a vector of one `u64` per id handed out. A phone number is stored as its
//!   E.164 digits read as an integer (at most 15 digits, so below 2^50); a member id is an
//!   index into a string table with the top bit set; a hole is `u64::MAX`.
//! - key -> id: 256 swiss tables (shards) of `u32` ids (4 bytes a slot plus 1 control
//!   byte), a key's shard picked by 8 bits of its hash; the key of a slot is looked up
//!   through the vector, so no key is stored twice.
//!
//! For 10M phone keys that is 8 bytes (vector) + about 5.7 to 11.4 bytes (tables at their
//! 87.5% to 43.75% load) per key: 16.4 bytes measured at 10M (18.5 at 1M), against a budget
//! of 30.
//!
//! **Bulk registration.** At 10M keys the tables are ~80 MB, far beyond the cache, so
//! inserting keys one by one costs a memory miss or two a key. A batch of 4,096 keys or more
//! is grouped by shard first (one pass to count, one to place each key's hash and index),
//! then filled shard by shard: a shard of a 10M directory is ~330 KB and stays in cache while
//! its ~40k keys go in. Ids still follow input order: a new key enters its shard under a
//! provisional id (the next id plus its index in the batch), and once every shard is done the
//! new keys are numbered in input order and the entries whose id moved are rewritten, shard
//! by shard again. Keys are read back only when a probe meets a slot with the same 7-bit tag,
//! and new keys' ids are written in input order, so the out-of-order walk costs no miss a
//! key. The same grouping builds the tables of a directory read from a snapshot. Measured
//! on a shared 2-core machine (load 5 to 6), each next to the one-table loop that fills a
//! bare table in the same run: registering phone digits (journal on) takes 54 ms for 1M
//! against 79 ms, and 0.94 s for 10M (94 ns a key) against 1.51 s.
//!
//! A directory read from a snapshot builds its key -> id table on the first lookup by key
//! (or the first insert), not while loading: hashing every key is most of the cost of a
//! load, and a store that only answers queries never needs the table.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::error::{Error, ErrorKind, err};

// The hasher of the key -> id table: foldhash (hashbrown's default), randomly seeded per
// directory, so phone numbers crafted to collide cannot be chosen from outside. A phone key
// hashes as its `u64` digits, a member id as its string (a phone and a member id may share a
// hash; the key comparison tells them apart). Chosen by measurement (`directory_hasher` in
// the store bench): std's SipHash fills a 1M-key table about 4 to 5 times slower; a keyed
// folded multiply of the digits, one multiply cheaper than foldhash, filled it no faster
// (the fill waits on memory, not on the hash), and its low bits mix less.
#[derive(Clone, Default)]
struct KeyHasher(hashbrown::DefaultHashBuilder);

impl KeyHasher {
    fn hash(&self, key: KeyRef<'_>) -> u64 {
        match key {
            KeyRef::Phone(p) => self.0.hash_one(p),
            KeyRef::Member(m) => self.0.hash_one(m),
        }
    }
}

/// A customer id: dense, handed out in arrival order, never reused.
pub type CustomerId = u32;

const MEMBER_BIT: u64 = 1 << 63;
const HOLE: u64 = u64::MAX;
/// The largest E.164 number: 15 digits.
const MAX_PHONE: u64 = 999_999_999_999_999;

/// Whether `value` is a phone key's digits: 1 to 15 digits, not 0.
pub(crate) fn is_phone_value(value: u64) -> bool {
    (1..=MAX_PHONE).contains(&value)
}
/// The longest member id accepted, in bytes.
pub const MAX_MEMBER_ID_BYTES: usize = 256;

/// The external key of a customer: a phone number or an app-defined member id.
///
/// Phone numbers are E.164 digits without the `+` (`85291234567`), kept as an integer: parse
/// them with [`CustomerKey::phone`], which accepts only canonical digits. Normalising messy
/// spellings ("+852 9123 4567", national numbers) is the import module's job.
///
/// ```
/// use audience::CustomerKey;
///
/// let k = CustomerKey::phone("85291234567")?;
/// assert_eq!(k.to_string(), "85291234567");
/// assert!(CustomerKey::phone("+852 9123 4567").is_err());
/// let m = CustomerKey::member("M-000042")?;
/// assert_eq!(m.to_string(), "M-000042");
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CustomerKey {
    /// E.164 digits as an integer (`85291234567`).
    Phone(u64),
    /// A member id of the app (any non-empty string of at most 256 bytes).
    Member(String),
}

impl CustomerKey {
    /// A phone key from canonical E.164 digits: 1 to 15 ASCII digits, the first not `0`.
    pub fn phone(digits: &str) -> Result<CustomerKey, Error> {
        let bad = |reason: &str| -> Error {
            ErrorKind::InvalidKey {
                key: digits.chars().take(64).collect(),
                reason: reason.into(),
            }
            .into()
        };
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("a phone key is 1 to 15 digits (E.164 without '+')"));
        }
        if digits.starts_with('0') {
            return Err(bad(
                "a phone key starts with the country code, never with 0",
            ));
        }
        let v = digits
            .bytes()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        Ok(CustomerKey::Phone(v))
    }

    /// A phone key from its digits as an integer (`85291234567`).
    pub fn phone_number(value: u64) -> Result<CustomerKey, Error> {
        if !is_phone_value(value) {
            return err(ErrorKind::InvalidKey {
                key: value.to_string(),
                reason: "a phone key is 1 to 15 digits (E.164 without '+')".into(),
            });
        }
        Ok(CustomerKey::Phone(value))
    }

    /// A member-id key: any non-empty string of at most 256 bytes without control characters.
    pub fn member(id: impl Into<String>) -> Result<CustomerKey, Error> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("a member id must not be empty".to_string())
        } else if id.len() > MAX_MEMBER_ID_BYTES {
            Some(format!(
                "a member id has at most {MAX_MEMBER_ID_BYTES} bytes, this one has {}",
                id.len()
            ))
        } else if id.chars().any(char::is_control) {
            Some("a member id must not contain control characters".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => err(ErrorKind::InvalidKey {
                key: id.chars().take(64).collect(),
                reason,
            }),
            None => Ok(CustomerKey::Member(id)),
        }
    }

    fn as_ref(&self) -> KeyRef<'_> {
        match self {
            CustomerKey::Phone(p) => KeyRef::Phone(*p),
            CustomerKey::Member(m) => KeyRef::Member(m),
        }
    }
}

impl From<crate::phone::Phone> for CustomerKey {
    /// A normalised phone number is always a valid phone key.
    fn from(p: crate::phone::Phone) -> CustomerKey {
        CustomerKey::Phone(p.as_u64())
    }
}

impl fmt::Display for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

/// A borrowed [`CustomerKey`], as returned by lookups by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRef<'a> {
    /// E.164 digits as an integer.
    Phone(u64),
    /// A member id.
    Member(&'a str),
}

impl KeyRef<'_> {
    /// An owned copy.
    pub fn to_owned(self) -> CustomerKey {
        match self {
            KeyRef::Phone(p) => CustomerKey::Phone(p),
            KeyRef::Member(m) => CustomerKey::Member(m.to_string()),
        }
    }
}

impl fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Phone(p) => write!(f, "{p}"),
            KeyRef::Member(m) => f.write_str(m),
        }
    }
}

/// The key -> id table is split into this many shards, picked by bits 32..40 of a key's hash:
/// hashbrown places a key by the low bits of its hash and tags it with the top 7, so the shard
/// bits are free of both. A batch is inserted shard by shard, each shard small enough to stay
/// in cache while its keys go in.
const SHARD_BITS: u32 = 8;
const SHARDS: usize = 1 << SHARD_BITS;
/// Batches with fewer keys are inserted key by key: grouping by shard pays when the table
/// outgrows the cache.
const BATCH_MIN: usize = 1 << 12;

fn shard_of(h: u64) -> usize {
    (h >> 32) as usize & (SHARDS - 1)
}

/// A key to register in a batch: a [`CustomerKey`], or phone digits already checked.
pub(crate) trait NewKey {
    fn key_ref(&self) -> KeyRef<'_>;
}

impl NewKey for CustomerKey {
    fn key_ref(&self) -> KeyRef<'_> {
        self.as_ref()
    }
}

impl NewKey for u64 {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef::Phone(*self)
    }
}

/// The key -> id table: [`SHARDS`] swiss tables of `u32` ids.
#[derive(Clone)]
struct Index {
    shards: Box<[HashTable<u32>; SHARDS]>,
}

impl Index {
    fn empty() -> Index {
        Index {
            shards: Box::new(std::array::from_fn(|_| HashTable::new())),
        }
    }

    fn shard(&self, h: u64) -> &HashTable<u32> {
        &self.shards[shard_of(h)]
    }

    fn shard_mut(&mut self, h: u64) -> &mut HashTable<u32> {
        &mut self.shards[shard_of(h)]
    }
}

/// Heap bytes of a swiss table of `u32`s holding `capacity` items: 4 bytes a bucket plus one
/// control byte, and a group of control bytes more (hashbrown keeps 7/8 of the buckets usable
/// from 8 buckets on).
fn table_bytes(capacity: usize) -> usize {
    let buckets = match capacity {
        0 => return 0,
        c if c < 7 => c + 1,
        c => c / 7 * 8,
    };
    buckets * 5 + 16
}

/// `(hash, index)` of every item, grouped by shard (index order within a shard), and the
/// `SHARDS + 1` offsets where each shard's group starts. `items` is walked twice: once to
/// count, once to place.
fn partition(items: impl Iterator<Item = (u64, u32)> + Clone) -> (Vec<(u64, u32)>, Vec<usize>) {
    let mut starts = vec![0usize; SHARDS + 1];
    for (h, _) in items.clone() {
        starts[shard_of(h) + 1] += 1;
    }
    for s in 0..SHARDS {
        starts[s + 1] += starts[s];
    }
    let mut at = starts.clone();
    let mut grouped = vec![(0u64, 0u32); starts[SHARDS]];
    for (h, i) in items {
        let slot = &mut at[shard_of(h)];
        grouped[*slot] = (h, i);
        *slot += 1;
    }
    (grouped, starts)
}

/// Keys <-> ids. See the module docs for the layout.
#[derive(Clone, Default)]
pub(crate) struct Directory {
    /// Per id: phone digits, `MEMBER_BIT | index into members`, or `HOLE`.
    keys: Vec<u64>,
    /// Member-id strings; a slot is emptied (not removed) when its customer is erased.
    members: Vec<Box<str>>,
    /// Built on first use when the directory was restored from a snapshot.
    index: OnceLock<Index>,
    hasher: KeyHasher,
    live: usize,
}

impl Directory {
    /// The key of a live id.
    pub(crate) fn key(&self, id: u32) -> Option<KeyRef<'_>> {
        let raw = *self.keys.get(id as usize)?;
        if raw == HOLE {
            None
        } else if raw & MEMBER_BIT != 0 {
            let s = self.members.get((raw & !MEMBER_BIT) as usize)?;
            Some(KeyRef::Member(s))
        } else {
            Some(KeyRef::Phone(raw))
        }
    }

    /// The id of a key.
    pub(crate) fn get(&self, key: &CustomerKey) -> Option<u32> {
        let k = key.as_ref();
        let h = self.hasher.hash(k);
        let (keys, members) = (&self.keys, &self.members);
        self.index()
            .shard(h)
            .find(h, |&id| Self::key_of(keys, members, id) == k)
            .copied()
    }

    /// Ids not erased: the number of live customers, kept as keys come and go.
    pub(crate) fn live_count(&self) -> u64 {
        self.live as u64
    }

    /// Ids handed out so far (live or erased): the next id.
    pub(crate) fn next_id(&self) -> u64 {
        self.keys.len() as u64
    }

    /// The key -> id table, built from the keys on first use.
    fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Self::build_index(&self.keys, &self.members, &self.hasher))
    }

    /// The key -> id table taken out for a change (built if it was not), to be put back
    /// with `self.index = OnceLock::from(index)`.
    fn take_index(&mut self) -> Index {
        match std::mem::take(&mut self.index).into_inner() {
            Some(index) => index,
            None => Self::build_index(&self.keys, &self.members, &self.hasher),
        }
    }

    /// The table of the live keys, built shard by shard.
    fn build_index(keys: &[u64], members: &[Box<str>], hasher: &KeyHasher) -> Index {
        let items = keys
            .iter()
            .enumerate()
            .filter(|(_, raw)| **raw != HOLE)
            .map(|(id, _)| {
                let id = id as u32;
                (hasher.hash(Self::key_of(keys, members, id)), id)
            });
        let (grouped, starts) = partition(items);
        let mut index = Index::empty();
        for (s, table) in index.shards.iter_mut().enumerate() {
            let group = &grouped[starts[s]..starts[s + 1]];
            *table = HashTable::with_capacity(group.len());
            for &(h, id) in group {
                table.insert_unique(h, id, |&other| {
                    hasher.hash(Self::key_of(keys, members, other))
                });
            }
        }
        index
    }

    fn key_of<'a>(keys: &[u64], members: &'a [Box<str>], id: u32) -> KeyRef<'a> {
        let raw = keys.get(id as usize).copied().unwrap_or(HOLE);
        if raw & MEMBER_BIT != 0 && raw != HOLE {
            KeyRef::Member(
                members
                    .get((raw & !MEMBER_BIT) as usize)
                    .map(|s| &**s)
                    .unwrap_or(""),
            )
        } else {
            KeyRef::Phone(raw)
        }
    }

    /// Appends the key of a new id.
    fn push(&mut self, key: KeyRef<'_>) {
        let raw = match key {
            KeyRef::Phone(p) => p,
            KeyRef::Member(m) => {
                self.members.push(Box::from(m));
                MEMBER_BIT | (self.members.len() as u64 - 1)
            }
        };
        self.keys.push(raw);
        self.live += 1;
    }

    /// Inserts a new key: `Ok(id)`, or `Err(existing id)` when the key is present.
    pub(crate) fn insert(&mut self, key: CustomerKey) -> Result<Result<u32, u32>, Error> {
        let next = self.keys.len() as u64;
        if next >= u64::from(u32::MAX) {
            return err(ErrorKind::IdSpaceExhausted(next));
        }
        Ok(self.insert_ref(key.as_ref()))
    }

    /// [`Directory::insert`] once the caller checked that an id is left.
    fn insert_ref(&mut self, key: KeyRef<'_>) -> Result<u32, u32> {
        let mut index = self.take_index();
        let h = self.hasher.hash(key);
        let (keys, members, hasher) = (&self.keys, &self.members, &self.hasher);
        let next = keys.len() as u32;
        let found = match index.shard_mut(h).entry(
            h,
            |&id| Self::key_of(keys, members, id) == key,
            |&id| hasher.hash(Self::key_of(keys, members, id)),
        ) {
            Entry::Occupied(e) => Err(*e.get()),
            Entry::Vacant(v) => {
                v.insert(next);
                Ok(next)
            }
        };
        if found.is_ok() {
            self.push(key);
        }
        self.index = OnceLock::from(index);
        found
    }

    /// Registers a batch of keys and returns the id of each in input order, with the number
    /// of new ids (`next_id()` before the call, and on): a key present keeps its id, a new
    /// key gets the next id at its first occurrence, and a repeat the id of the first. The
    /// caller checked the keys and that `next_id() + batch.len()` ids fit in `u32`.
    ///
    /// A large batch goes in shard by shard: the keys are grouped by shard first, so each
    /// shard is filled while it sits in cache. A new key's first occurrence at batch index
    /// `i` enters its shard as `next + i`, read back from the batch when compared; once every
    /// shard is done, ids are renumbered in input order and the shards' entries of the keys
    /// that moved are rewritten, shard by shard in input order (so the id looked for is never
    /// a renumbered one: renumbering only lowers ids, below the index of their own key).
    pub(crate) fn insert_batch<K: NewKey>(&mut self, batch: &[K]) -> (Vec<u32>, usize) {
        let next = self.keys.len();
        if batch.len() < BATCH_MIN {
            let ids = batch
                .iter()
                .map(|k| match self.insert_ref(k.key_ref()) {
                    Ok(id) | Err(id) => id,
                })
                .collect();
            return (ids, self.keys.len() - next);
        }
        self.insert_grouped(batch)
    }

    /// [`Directory::insert_batch`] shard by shard, whatever the batch's size.
    fn insert_grouped<K: NewKey>(&mut self, batch: &[K]) -> (Vec<u32>, usize) {
        let next = self.keys.len();
        let mut index = self.take_index();
        let (keys, members, hasher) = (&self.keys, &self.members, &self.hasher);
        let key_at = |id: u32| -> KeyRef<'_> {
            match (id as usize).checked_sub(next) {
                None => Self::key_of(keys, members, id),
                Some(i) => batch.get(i).map_or(KeyRef::Phone(HOLE), K::key_ref),
            }
        };
        let (grouped, starts) = partition(
            batch
                .iter()
                .enumerate()
                .map(|(i, k)| (hasher.hash(k.key_ref()), i as u32)),
        );
        // A key present or repeated gets the id found in `ids[i]` (a repeat the `next + i`
        // of its first occurrence); a first occurrence only a bit in `first`, its id being
        // written in input order below (writing it here would be a cache miss a key, the
        // batch being walked out of order). The key of `i` is read only when a probe meets a
        // slot with the same 7-bit tag, for the same reason.
        let mut ids = vec![0u32; batch.len()];
        let mut first = vec![0u64; batch.len().div_ceil(64)];
        let is_first = |first: &[u64], i: usize| first[i / 64] >> (i % 64) & 1 == 1;
        for (s, table) in index.shards.iter_mut().enumerate() {
            let group = &grouped[starts[s]..starts[s + 1]];
            table.reserve(group.len(), |&id| hasher.hash(key_at(id)));
            for &(h, i) in group {
                let i = i as usize;
                let same = |&id: &u32| key_at(id) == batch[i].key_ref();
                match table.entry(h, same, |&id| hasher.hash(key_at(id))) {
                    Entry::Occupied(e) => ids[i] = *e.get(),
                    Entry::Vacant(v) => {
                        v.insert((next + i) as u32);
                        first[i / 64] |= 1 << (i % 64);
                    }
                }
            }
        }
        // Input order: new keys numbered from `next` and appended, repeats take their
        // first's final id (its index is below theirs, so it is final already).
        let new_keys: usize = first.iter().map(|w| w.count_ones() as usize).sum();
        self.keys.reserve(new_keys);
        let mut fresh = 0usize;
        let mut moved = false;
        for (i, k) in batch.iter().enumerate() {
            if is_first(&first, i) {
                ids[i] = (next + fresh) as u32;
                moved |= fresh != i;
                fresh += 1;
                self.push(k.key_ref());
            } else if let Some(at) = (ids[i] as usize).checked_sub(next) {
                ids[i] = ids[at];
            }
        }
        if moved {
            for (s, table) in index.shards.iter_mut().enumerate() {
                for &(h, i) in &grouped[starts[s]..starts[s + 1]] {
                    let i = i as usize;
                    let provisional = (next + i) as u32;
                    if is_first(&first, i)
                        && ids[i] != provisional
                        && let Some(slot) = table.find_mut(h, |&id| id == provisional)
                    {
                        *slot = ids[i];
                    }
                }
            }
        }
        self.index = OnceLock::from(index);
        (ids, fresh)
    }

    /// Rebuilds a directory from its keys by id in the snapshot's encoding, which is this
    /// vector's: phone digits, `u64::MAX` for an erased id, and `1 << 63` for a member id,
    /// the next one of `members` (the id space is `keys.len()`, `live` ids are not erased).
    /// The key -> id table is built on first use. The caller has checked that the keys are
    /// valid ([`CustomerKey::phone_number`], [`CustomerKey::member`]) and distinct, and that
    /// `members` has one string per member slot.
    pub(crate) fn restore(mut keys: Vec<u64>, members: Vec<Box<str>>, live: usize) -> Directory {
        if !members.is_empty() {
            // The k-th member slot becomes an index to the k-th member id.
            for (k, raw) in keys
                .iter_mut()
                .filter(|raw| **raw == MEMBER_BIT)
                .enumerate()
            {
                *raw = MEMBER_BIT | k as u64;
            }
        }
        Directory {
            keys,
            members,
            live,
            ..Directory::default()
        }
    }

    /// Erases a live id; its key may later be registered again under a new id.
    pub(crate) fn remove(&mut self, id: u32) -> bool {
        let Some(key) = self.key(id) else {
            return false;
        };
        let h = self.hasher.hash(key);
        let mut index = self.take_index();
        if let Ok(entry) = index.shard_mut(h).find_entry(h, |&x| x == id) {
            entry.remove();
        }
        self.index = OnceLock::from(index);
        if let Some(raw) = self.keys.get_mut(id as usize) {
            if *raw & MEMBER_BIT != 0
                && let Some(s) = self.members.get_mut((*raw & !MEMBER_BIT) as usize)
            {
                *s = Box::from("");
            }
            *raw = HOLE;
        }
        self.live -= 1;
        true
    }

    /// Heap bytes used (capacity, not length), for memory reports.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.members.capacity() * size_of::<Box<str>>()
            + self.members.iter().map(|s| s.len()).sum::<usize>()
            + self.index.get().map_or(0, |index| {
                size_of::<[HashTable<u32>; SHARDS]>()
                    + index
                        .shards
                        .iter()
                        .map(|t| table_bytes(t.capacity()))
                        .sum::<usize>()
            })
    }

    /// Every id handed out with its key (holes skipped), in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, KeyRef<'_>)> + '_ {
        (0..self.keys.len() as u32).filter_map(move |id| self.key(id).map(|k| (id, k)))
    }

    /// Keys of the ids `start..end`, all live (for the journal).
    pub(crate) fn keys_of(&self, ids: std::ops::Range<u32>) -> impl Iterator<Item = KeyRef<'_>> {
        ids.map(|id| Self::key_of(&self.keys, &self.members, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_arrival_order_never_reused() {
        let mut d = Directory::default();
        let a = d
            .insert(CustomerKey::phone("85291234567").unwrap())
            .unwrap();
        let b = d.insert(CustomerKey::member("M1").unwrap()).unwrap();
        assert_eq!((a, b), (Ok(0), Ok(1)));
        assert_eq!(
            d.insert(CustomerKey::phone("85291234567").unwrap())
                .unwrap(),
            Err(0)
        );
        assert!(d.remove(0));
        assert!(!d.remove(0));
        assert_eq!(d.get(&CustomerKey::Phone(85291234567)), None);
        assert_eq!(d.key(0), None);
        let c = d.insert(CustomerKey::Phone(85291234567)).unwrap();
        assert_eq!(c, Ok(2));
        assert_eq!(d.live, 2);
        assert_eq!(d.key(1), Some(KeyRef::Member("M1")));
        assert_eq!(d.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn phone_and_member_keys_do_not_collide() {
        let mut d = Directory::default();
        let a = d.insert(CustomerKey::Phone(12345)).unwrap().unwrap();
        let b = d
            .insert(CustomerKey::member("12345").unwrap())
            .unwrap()
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(d.get(&CustomerKey::Phone(12345)), Some(a));
        assert_eq!(d.get(&CustomerKey::Member("12345".into())), Some(b));
    }

    #[test]
    fn key_errors() {
        let e = CustomerKey::phone("+85291234567").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid customer key \"+85291234567\": a phone key is 1 to 15 digits (E.164 without '+')"
        );
        let e = CustomerKey::phone("0912345678").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid customer key \"0912345678\": a phone key starts with the country code, never with 0"
        );
        let e = CustomerKey::member("").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid customer key \"\": a member id must not be empty"
        );
        let e = CustomerKey::phone_number(10_u64.pow(15)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid customer key \"1000000000000000\": a phone key is 1 to 15 digits (E.164 without '+')"
        );
    }

    /// A directory against a model (key -> id map, id -> key vector): batches both ways
    /// (key by key and shard by shard, whatever their size), single inserts, erasures and
    /// the table rebuilt from the keys, with keys drawn from a small domain so that batches
    /// repeat keys and meet keys already present.
    mod model {
        use std::collections::HashMap;

        use proptest::prelude::*;

        use super::super::*;

        #[derive(Clone, Debug)]
        enum Op {
            Batch(Vec<CustomerKey>),
            Grouped(Vec<CustomerKey>),
            Insert(CustomerKey),
            Remove(u32),
            Rebuild,
        }

        fn key() -> impl Strategy<Value = CustomerKey> {
            prop_oneof![
                4 => (1u64..40).prop_map(|p| CustomerKey::Phone(66_800_000_000 + p)),
                1 => (1u64..40).prop_map(CustomerKey::Phone),
                1 => (0u8..10).prop_map(|m| CustomerKey::Member(format!("m{m}"))),
                1 => (1u64..40).prop_map(|p| CustomerKey::Member(p.to_string())),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                2 => prop::collection::vec(key(), 0..30).prop_map(Op::Batch),
                4 => prop::collection::vec(key(), 0..60).prop_map(Op::Grouped),
                2 => key().prop_map(Op::Insert),
                2 => (0u32..80).prop_map(Op::Remove),
                1 => Just(Op::Rebuild),
            ]
        }

        #[derive(Default)]
        struct Model {
            ids: HashMap<CustomerKey, u32>,
            keys: Vec<Option<CustomerKey>>,
        }

        impl Model {
            fn insert(&mut self, k: &CustomerKey) -> Result<u32, u32> {
                if let Some(&id) = self.ids.get(k) {
                    return Err(id);
                }
                let id = self.keys.len() as u32;
                self.ids.insert(k.clone(), id);
                self.keys.push(Some(k.clone()));
                Ok(id)
            }

            fn batch(&mut self, ks: &[CustomerKey]) -> (Vec<u32>, usize) {
                let before = self.keys.len();
                let ids = ks
                    .iter()
                    .map(|k| match self.insert(k) {
                        Ok(id) | Err(id) => id,
                    })
                    .collect();
                (ids, self.keys.len() - before)
            }
        }

        fn check(d: &Directory, m: &Model) {
            assert_eq!(d.next_id(), m.keys.len() as u64);
            assert_eq!(d.live, m.ids.len());
            for (id, k) in m.keys.iter().enumerate() {
                assert_eq!(d.key(id as u32).map(KeyRef::to_owned), k.clone(), "id {id}");
            }
            for (k, &id) in &m.ids {
                assert_eq!(d.get(k), Some(id), "key {k}");
            }
            for k in m.keys.iter().flatten() {
                assert!(m.ids.contains_key(k));
            }
            // Keys erased and never registered again are absent.
            for (id, k) in m.keys.iter().enumerate() {
                if k.is_none() {
                    assert_eq!(d.key(id as u32), None);
                }
            }
            let table_len: usize = d.index().shards.iter().map(HashTable::len).sum();
            assert_eq!(table_len, m.ids.len());
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn directory_matches_model(ops in prop::collection::vec(op(), 1..25)) {
                let mut d = Directory::default();
                let mut m = Model::default();
                for op in &ops {
                    match op {
                        Op::Batch(ks) => prop_assert_eq!(d.insert_batch(ks), m.batch(ks)),
                        Op::Grouped(ks) => prop_assert_eq!(d.insert_grouped(ks), m.batch(ks)),
                        Op::Insert(k) => {
                            prop_assert_eq!(d.insert(k.clone()).unwrap(), m.insert(k));
                        }
                        Op::Remove(id) => {
                            let live = m.keys.get(*id as usize).cloned().flatten();
                            prop_assert_eq!(d.remove(*id), live.is_some());
                            if let Some(k) = live {
                                m.ids.remove(&k);
                                m.keys[*id as usize] = None;
                            }
                        }
                        Op::Rebuild => d.index = OnceLock::new(),
                    }
                    check(&d, &m);
                }
            }

            /// Phone digits as a batch (`u64`s), shard by shard, as the store registers
            /// them: the same ids as the same keys given as `CustomerKey`s.
            #[test]
            fn phone_digits_match_keys(
                first in prop::collection::vec(1u64..200, 0..100),
                then in prop::collection::vec(1u64..200, 0..100),
            ) {
                let mut by_digits = Directory::default();
                let mut by_keys = Directory::default();
                for batch in [&first, &then] {
                    let keys: Vec<CustomerKey> = batch.iter().map(|&p| CustomerKey::Phone(p)).collect();
                    prop_assert_eq!(by_digits.insert_grouped(batch.as_slice()), by_keys.insert_batch(&keys));
                }
                let a: Vec<_> = by_digits.iter().map(|(id, k)| (id, k.to_owned())).collect();
                let b: Vec<_> = by_keys.iter().map(|(id, k)| (id, k.to_owned())).collect();
                prop_assert_eq!(a, b);
            }
        }

        /// A batch larger than the key-by-key threshold, with repeats and keys present, goes
        /// shard by shard through `insert_batch` and agrees with the model.
        #[test]
        fn large_batch_with_repeats_and_present_keys() {
            let mut d = Directory::default();
            let mut m = Model::default();
            let early: Vec<CustomerKey> = (0..1_000u64)
                .map(|i| CustomerKey::Phone(66_800_000_000 + i * 7))
                .collect();
            assert_eq!(d.insert_batch(&early), m.batch(&early));
            d.remove(3);
            m.ids.remove(&early[3]);
            m.keys[3] = None;
            let big: Vec<CustomerKey> = (0..3 * BATCH_MIN as u64)
                .map(|i| match i % 5 {
                    0 => CustomerKey::Phone(66_800_000_000 + (i % 2_000) * 7),
                    1 => CustomerKey::Member(format!("m{}", i % 777)),
                    _ => CustomerKey::Phone(66_900_000_000 + i / 2),
                })
                .collect();
            assert_eq!(d.insert_batch(&big), m.batch(&big));
            check(&d, &m);
            d.index = OnceLock::new();
            check(&d, &m);
        }
    }
}
