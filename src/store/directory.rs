//! The customer directory: external keys <-> dense `u32` customer ids.
//!
//! Ids are handed out in arrival order (0, 1, 2, ...) and never reused: erasing a customer
//! leaves a hole. Both directions are O(1):
//!
//! - id -> key: a vector of one `u64` per id handed out. A phone number is stored as its
//!   E.164 digits read as an integer (at most 15 digits, so below 2^50); a member id is an
//!   index into a string table with the top bit set; a hole is `u64::MAX`.
//! - key -> id: a swiss table of `u32` ids (4 bytes a slot plus 1 control byte); the key of a
//!   slot is looked up through the vector, so no key is stored twice.
//!
//! For 10M phone keys that is 8 bytes (vector) + about 5.7 to 11.4 bytes (table at its
//! 87.5% to 43.75% load) per key: 14 to 20 bytes, against a budget of 30.
//!
//! A directory read from a snapshot builds its key -> id table on the first lookup by key
//! (or the first insert), not while loading: hashing every key is most of the cost of a
//! load, and a store that only answers queries never needs the table.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::error::{Error, ErrorKind, err};

// The hasher of the key -> id table: foldhash (hashbrown's default), randomly seeded.
// Filling the table with 1M phone keys takes about a fifth of the time it takes under
// std's SipHash (`directory_hasher` in the store bench).
type KeyHasher = hashbrown::DefaultHashBuilder;

/// A customer id: dense, handed out in arrival order, never reused.
pub type CustomerId = u32;

const MEMBER_BIT: u64 = 1 << 63;
const HOLE: u64 = u64::MAX;
/// The largest E.164 number: 15 digits.
const MAX_PHONE: u64 = 999_999_999_999_999;
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
        if value == 0 || value > MAX_PHONE {
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

/// Keys <-> ids. See the module docs for the layout.
#[derive(Clone, Default)]
pub(crate) struct Directory {
    /// Per id: phone digits, `MEMBER_BIT | index into members`, or `HOLE`.
    keys: Vec<u64>,
    /// Member-id strings; a slot is emptied (not removed) when its customer is erased.
    members: Vec<Box<str>>,
    /// Built on first use when the directory was restored from a snapshot.
    index: OnceLock<HashTable<u32>>,
    hasher: KeyHasher,
    live: usize,
}

impl Directory {
    fn hash_key(hasher: &KeyHasher, key: KeyRef<'_>) -> u64 {
        hasher.hash_one(key)
    }

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

    fn matches(&self, id: u32, key: KeyRef<'_>) -> bool {
        self.key(id) == Some(key)
    }

    /// The id of a key.
    pub(crate) fn get(&self, key: &CustomerKey) -> Option<u32> {
        let k = key.as_ref();
        let h = Self::hash_key(&self.hasher, k);
        self.index().find(h, |&id| self.matches(id, k)).copied()
    }

    /// Ids handed out so far (live or erased): the next id.
    pub(crate) fn next_id(&self) -> u64 {
        self.keys.len() as u64
    }

    /// The key -> id table, built from the keys on first use.
    fn index(&self) -> &HashTable<u32> {
        self.index
            .get_or_init(|| Self::build_index(&self.keys, &self.members, &self.hasher, self.live))
    }

    fn build_index(
        keys: &[u64],
        members: &[Box<str>],
        hasher: &KeyHasher,
        live: usize,
    ) -> HashTable<u32> {
        let mut table = HashTable::with_capacity(live);
        for (id, &raw) in keys.iter().enumerate() {
            if raw == HOLE {
                continue;
            }
            let h = Self::hash_key(hasher, Self::key_of(keys, members, id as u32));
            table.insert_unique(h, id as u32, |&other| {
                Self::hash_key(hasher, Self::key_of(keys, members, other))
            });
        }
        table
    }

    /// Builds the table if it is not built yet, for a change to it.
    fn ensure_index(&mut self) {
        self.index();
    }

    /// Reserves room for `additional` new customers.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.keys.reserve(additional);
        self.ensure_index();
        self.with_table(|table, rehash| table.reserve(additional, rehash));
    }

    /// Runs `f` on the built key table with the function that rehashes a stored id (for
    /// growth), which reads the key through the id -> key vector.
    fn with_table(&mut self, f: impl FnOnce(&mut HashTable<u32>, &dyn Fn(&u32) -> u64)) {
        let Directory {
            keys,
            members,
            index,
            hasher,
            ..
        } = self;
        if let Some(table) = index.get_mut() {
            f(table, &|&id| {
                Self::hash_key(hasher, Self::key_of(keys, members, id))
            });
        }
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

    /// Inserts a new key: `Ok(id)`, or `Err(existing id)` when the key is present.
    pub(crate) fn insert(&mut self, key: CustomerKey) -> Result<Result<u32, u32>, Error> {
        let h = Self::hash_key(&self.hasher, key.as_ref());
        if let Some(&id) = self.index().find(h, |&id| self.matches(id, key.as_ref())) {
            return Ok(Err(id));
        }
        let next = self.keys.len() as u64;
        if next >= u64::from(u32::MAX) {
            return err(ErrorKind::IdSpaceExhausted(next));
        }
        let id = next as u32;
        let raw = match key {
            CustomerKey::Phone(p) => p,
            CustomerKey::Member(m) => {
                self.members.push(m.into_boxed_str());
                MEMBER_BIT | (self.members.len() as u64 - 1)
            }
        };
        self.keys.push(raw);
        // `index()` above built the table.
        self.with_table(|table, rehash| {
            table.insert_unique(h, id, rehash);
        });
        self.live += 1;
        Ok(Ok(id))
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
        let h = Self::hash_key(&self.hasher, key);
        self.ensure_index();
        if let Some(index) = self.index.get_mut()
            && let Ok(entry) = index.find_entry(h, |&x| x == id)
        {
            entry.remove();
        }
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
            + self.index.get().map_or(0, HashTable::capacity) * 5
    }

    /// Every id handed out with its key (holes skipped), in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, KeyRef<'_>)> + '_ {
        (0..self.keys.len() as u32).filter_map(move |id| self.key(id).map(|k| (id, k)))
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
}
