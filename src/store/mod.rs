//! The store: customers, taxonomy, tag memberships and attributes in one value.

pub(crate) mod attribute;
pub(crate) mod directory;
mod governance;
pub mod journal;
pub(crate) mod membership;
pub mod policy;
pub(crate) mod taxonomy;

use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::base::fold::{MAX_NAME_CHARS, fold, suggest};
use crate::base::text::{counted, quote, thousands};
use crate::day::Day;
use crate::error::{Error, ErrorKind, err, invalid_name};
use crate::store::attribute::sealed::Slice;
use crate::store::attribute::{
    AttrId, AttrInfo, AttrKind, AttrSlot, Column, ColumnValue, Value, bitmap_words,
};
use crate::store::directory::{CustomerId, CustomerKey, Directory, KeyRef, NewKey, is_phone_value};
use crate::store::journal::op::{
    put_bitmap, put_day, put_edit, put_i64, put_kind, put_len, put_opt_str, put_opt_u32,
    put_packed_head, put_policy, put_spec, put_str, put_tag, put_u8, put_u32, put_u64, put_values,
};
use crate::store::journal::{Journal, code};
use crate::store::membership::{TagMembers, bitmap_bytes};
use crate::store::policy::{Policy, TaxonomyAction, require_reason};
use crate::store::taxonomy::{
    Change, DimensionInfo, Edit, LogEntry, TagId, TagInfo, TagKind, TagSpec, Taxonomy,
};

/// The most attributes a store holds.
pub const MAX_ATTRIBUTES: usize = 4096;

/// The most tags [`Store::find_tags`] returns: a pick list, not a report.
pub const MAX_FOUND_TAGS: usize = 20;

/// Customers, their tags and attributes: the whole state of one shop.
///
/// Every set of customers is a [`RoaringBitmap`] of dense [`CustomerId`]s. Cloning a store is
/// cheap (O(tags + attributes) reference counts): tag bitmaps, attribute columns and the
/// directory sit behind `Arc` and are copied only when one of the clones writes to them.
/// Hand clones to readers while a writer applies a batch. The store is `Send + Sync`.
///
/// Every change is also recorded in the store's [`journal`] (on by default), for the app
/// to append to a file of its own between snapshots; a clone starts with an empty one, so
/// pending records are drained once, from the writer.
///
/// ```
/// use audience::{CustomerKey, Day, Edit, Store, TagSpec, dimensions};
///
/// let today = Day::from_ymd(2025, 1, 6)?;
/// let admin = Edit::new("admin", today);
/// let mut store = Store::new();
/// let vip = store.create_tag(&admin, TagSpec::new("VIP").dimension(dimensions::PURCHASING_POWER))?;
/// let thai = store.create_tag(&admin, TagSpec::new("ลูกค้าใหม่").dimension(dimensions::STAGE))?;
///
/// let alice = store.add_customer(CustomerKey::phone("66812345678")?)?;
/// let bob = store.add_customer(CustomerKey::member("M-2")?)?;
/// store.add_tag(alice, vip, today)?;
/// store.add_tag(alice, thai, today)?;
/// store.add_tag(bob, thai, today)?;
///
/// assert_eq!(store.members(thai)?.len(), 2);
/// assert_eq!(store.tags_of(alice)?, vec![vip, thai]);
/// // "vip " folds to the existing "VIP".
/// assert_eq!(store.tag_id("vip ")?, vip);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Store {
    directory: Arc<Directory>,
    taxonomy: Arc<Taxonomy>,
    /// Indexed by tag id; a deleted tag keeps an empty slot.
    members: Vec<TagMembers>,
    attrs: Vec<AttrSlot>,
    live: Arc<RoaringBitmap>,
    /// Every change, as records for the app to take (see [`journal`]).
    journal: Journal,
}

/// What [`Store::set_tags`] changed for one customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagDiff {
    /// Tags the customer did not have before.
    pub added: Vec<TagId>,
    /// Tags the customer had and lost.
    pub removed: Vec<TagId>,
}

/// Heap bytes held by a store, by part (from roaring's container statistics and vector
/// capacities; allocator overhead not included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MemoryUsage {
    /// Keys <-> ids.
    pub directory: u64,
    /// Tag bitmaps and assignment-day buckets, and the dense copies that large queries
    /// keep of tags they read (until the tag changes).
    pub memberships: u64,
    /// Attribute columns and their bit-sliced indexes.
    pub attributes: u64,
    /// The universe bitmap.
    pub universe: u64,
}

/// Heap bytes of one attribute, by part (vector capacities and roaring's container
/// statistics), from [`Store::attribute_memory`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AttrMemory {
    /// The values by customer id, each as an offset above the column's base (at or below
    /// its smallest value: values that arrive under it move the base down, and clearing
    /// or raising the smallest leaves it where it was) in 1, 2, 4 or 8 bytes, the fewest
    /// that hold the largest offset.
    pub values: u64,
    /// Who has a value: a bitmap and the same as one bit per customer id.
    pub presence: u64,
    /// The range index: one bit per customer id for each bit of the largest offset.
    pub index: u64,
}

impl AttrMemory {
    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.values + self.presence + self.index
    }
}

impl MemoryUsage {
    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.directory + self.memberships + self.attributes + self.universe
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    // ----------------------------------------------------------------------------------
    // Customers
    // ----------------------------------------------------------------------------------

    /// Registers a new customer and returns its id. Errors when the key exists.
    pub fn add_customer(&mut self, key: CustomerKey) -> Result<CustomerId, Error> {
        validate_key(&key)?;
        let shown = key.to_string();
        match Arc::make_mut(&mut self.directory).insert(key)? {
            Ok(id) => {
                Arc::make_mut(&mut self.live).insert(id);
                self.journal_keys(id..id + 1);
                Ok(id)
            }
            Err(id) => err(ErrorKind::DuplicateCustomer { key: shown, id }),
        }
    }

    /// The id of the customer with `key`, registering it when new. Returns `(id, created)`.
    pub fn ensure_customer(&mut self, key: CustomerKey) -> Result<(CustomerId, bool), Error> {
        validate_key(&key)?;
        if let Some(id) = self.directory.get(&key) {
            return Ok((id, false));
        }
        let id = match Arc::make_mut(&mut self.directory).insert(key)? {
            Ok(id) | Err(id) => id,
        };
        Arc::make_mut(&mut self.live).insert(id);
        self.journal_keys(id..id + 1);
        Ok((id, true))
    }

    /// Registers many customers at once (existing keys are looked up, not duplicated) and
    /// returns their ids in input order; a key given twice gets one id. All keys are
    /// validated first: on error nothing changed.
    pub fn ensure_customers(
        &mut self,
        keys: impl IntoIterator<Item = CustomerKey>,
    ) -> Result<Vec<CustomerId>, Error> {
        let keys: Vec<CustomerKey> = keys.into_iter().collect();
        for k in &keys {
            validate_key(k)?;
        }
        self.register(&keys)
    }

    /// [`Store::ensure_customers`] for phone keys given as their E.164 digits read as
    /// integers (`85291234567`), the fastest way to register a customer list: no
    /// [`CustomerKey`] is built. Each number is validated first as
    /// [`CustomerKey::phone_number`] does: on error nothing changed.
    ///
    /// ```
    /// use audience::{CustomerKey, Store};
    ///
    /// let mut store = Store::new();
    /// let ids = store.ensure_phones(&[85291234567, 66812345678, 85291234567])?;
    /// assert_eq!(ids, vec![0, 1, 0]);
    /// assert_eq!(store.customer(&CustomerKey::phone("66812345678")?), Some(1));
    /// let e = store.ensure_phones(&[85290000000, 0]).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "invalid customer key \"0\": a phone key is 1 to 15 digits (E.164 without '+')"
    /// );
    /// assert_eq!(store.customer_count(), 2);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn ensure_phones(&mut self, digits: &[u64]) -> Result<Vec<CustomerId>, Error> {
        if let Some(&bad) = digits.iter().find(|&&p| !is_phone_value(p)) {
            CustomerKey::phone_number(bad)?;
        }
        self.register(digits)
    }

    /// Registers validated keys: the directory's batch insert, one journal record of the new
    /// keys, and the new ids (a range at the end of the id space) added to the live set.
    fn register<K: NewKey>(&mut self, keys: &[K]) -> Result<Vec<CustomerId>, Error> {
        let handed_out = self.directory.next_id();
        if handed_out + keys.len() as u64 > u64::from(u32::MAX) {
            return err(ErrorKind::IdSpaceExhausted(handed_out));
        }
        let (ids, fresh) = Arc::make_mut(&mut self.directory).insert_batch(keys);
        if fresh > 0 {
            // Below `u32::MAX`: checked above.
            let start = handed_out as u32;
            let end = start + fresh as u32;
            self.journal_keys(start..end);
            Arc::make_mut(&mut self.live).insert_range(start..end);
        }
        Ok(ids)
    }

    /// Journals the keys of customers just registered (the ids `ids`), read back from the
    /// directory.
    fn journal_keys(&mut self, ids: std::ops::Range<CustomerId>) {
        let dir = &self.directory;
        self.journal.record(code::ADD_CUSTOMERS, |b| {
            put_len(b, ids.len());
            b.reserve(ids.len() * 9);
            for key in dir.keys_of(ids) {
                match key {
                    KeyRef::Phone(p) => {
                        put_u8(b, 0);
                        put_u64(b, p);
                    }
                    KeyRef::Member(m) => {
                        put_u8(b, 1);
                        put_str(b, m);
                    }
                }
            }
        });
    }

    /// The id of a live customer.
    pub fn customer(&self, key: &CustomerKey) -> Option<CustomerId> {
        self.directory.get(key)
    }

    /// The id of a live customer, or an [`ErrorKind::UnknownCustomer`] error.
    pub fn customer_id(&self, key: &CustomerKey) -> Result<CustomerId, Error> {
        self.directory.get(key).ok_or_else(|| {
            ErrorKind::UnknownCustomer {
                key: key.to_string(),
            }
            .into()
        })
    }

    /// The key of a live customer.
    pub fn key(&self, id: CustomerId) -> Option<KeyRef<'_>> {
        self.directory.key(id)
    }

    /// All live customers (the universe: `NOT x` means this minus `x`).
    pub fn customers(&self) -> &RoaringBitmap {
        &self.live
    }

    /// The number of live customers (kept by the directory: no bitmap is counted).
    pub fn customer_count(&self) -> u64 {
        let n = self.directory.live_count();
        debug_assert_eq!(n, self.live.len(), "the directory and the universe agree");
        n
    }

    /// Ids handed out so far, erased ones included (the next id).
    pub fn id_space(&self) -> u64 {
        self.directory.next_id()
    }

    /// "Forget me": removes the customer from every tag, every attribute and the directory
    /// (its key is gone from the store and from every snapshot written afterwards). Its id
    /// is never handed out again.
    ///
    /// The whole procedure, for state the app keeps beside the store: erase here, then
    /// [`Extras::forget`](crate::Extras::forget) (send logs; a snapshot leaves erased
    /// customers out of the send logs it writes in any case),
    /// [`RfmScores::forget`](crate::RfmScores::forget) for scores kept in memory, and
    /// [`Assignment::forget`](crate::tiers::Assignment::forget) /
    /// [`Split::forget`](crate::campaign::Split::forget) for tiers and splits the app kept.
    /// Snapshots and exports written before the erasure still hold the customer: replace
    /// them. A journal holds the key in records written before the erasure until the next
    /// checkpoint (a snapshot, then a new journal);
    /// [`Journal::erased_since_checkpoint`](crate::journal::Journal::erased_since_checkpoint)
    /// tells when one is due.
    pub fn erase_customer(&mut self, id: CustomerId) -> Result<(), Error> {
        self.check_live(id)?;
        for m in &mut self.members {
            m.remove_one(id);
        }
        for slot in &mut self.attrs {
            if slot.column.get(id).is_some() {
                Arc::make_mut(&mut slot.column).clear(id);
            }
        }
        Arc::make_mut(&mut self.directory).remove(id);
        Arc::make_mut(&mut self.live).remove(id);
        self.journal
            .record(code::ERASE_CUSTOMER, |b| put_u32(b, id));
        self.journal.count_erasure();
        Ok(())
    }

    fn check_live(&self, id: CustomerId) -> Result<(), Error> {
        if self.live.contains(id) {
            Ok(())
        } else {
            err(ErrorKind::UnknownCustomerId { id })
        }
    }

    fn check_live_set(&self, set: &RoaringBitmap) -> Result<(), Error> {
        if set.is_subset(&self.live) {
            return Ok(());
        }
        let first = (set - &*self.live).min().unwrap_or(0);
        err(ErrorKind::UnknownCustomerId { id: first })
    }

    // ----------------------------------------------------------------------------------
    // Taxonomy
    // ----------------------------------------------------------------------------------

    /// Creates a tag. Errors when its folded name exists in the same dimension, naming the
    /// existing tag; when a name is not valid (see [`MAX_NAME_CHARS`]; a tag or new
    /// dimension name must not hold a tag separator of customer lists,
    /// [`TAG_SEPARATORS`](crate::import::TAG_SEPARATORS), so that every tag comes back
    /// whole from an exported list; names an older snapshot holds still load, and renaming
    /// such a tag fixes it), the description is
    /// longer than [`MAX_TEXT_CHARS`](crate::MAX_TEXT_CHARS) characters, the edit's actor or
    /// reason too long (see [`Edit`]), or the store holds [`MAX_TAGS`](crate::MAX_TAGS) tags
    /// already. On error nothing changed.
    ///
    /// ```
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let mut store = Store::new();
    /// let edit = Edit::new("admin", Day::EPOCH);
    /// store.create_tag(&edit, TagSpec::new("vip"))?;
    /// let err = store.create_tag(&edit, TagSpec::new("VIP ")).unwrap_err();
    /// assert!(err.to_string().contains("clashes with existing tag \"vip\""));
    /// let err = store.create_tag(&edit, TagSpec::new("growth, low frequency")).unwrap_err();
    /// assert!(err.to_string().contains("must not contain a comma ',' (found at character 7)"));
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn create_tag(&mut self, edit: &Edit, spec: TagSpec) -> Result<TagId, Error> {
        self.govern(edit, TaxonomyAction::Create)?;
        self.check_naming(&spec.name, &spec.dimension)?;
        let copy = self.journal.is_enabled().then(|| spec.clone());
        let id = Arc::make_mut(&mut self.taxonomy).create(edit, spec)?;
        if self.members.len() <= id.0 as usize {
            self.members
                .resize_with(id.0 as usize + 1, TagMembers::default);
        }
        self.journal.record(code::CREATE_TAG, |b| {
            put_edit(b, edit);
            if let Some(spec) = &copy {
                put_spec(b, spec);
            }
        });
        Ok(id)
    }

    /// Checks, without changing anything, that `create_tag(edit, spec)` (policy and naming
    /// rules included) would succeed after
    /// `pending` other tags have been created (rule runs validate the tags they will create
    /// before changing anything).
    pub(crate) fn check_new_tag(
        &self,
        edit: &Edit,
        spec: &TagSpec,
        pending: usize,
    ) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Create)?;
        self.check_naming(&spec.name, &spec.dimension)?;
        self.taxonomy.check_create(spec, pending).map(|_| ())
    }

    /// Renames a tag (the new name must not clash within its dimension).
    pub fn rename_tag(&mut self, edit: &Edit, tag: TagId, new_name: &str) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Rename)?;
        self.check_naming(new_name, &self.taxonomy.get(tag)?.dimension)?;
        Arc::make_mut(&mut self.taxonomy).rename(edit, tag, new_name)?;
        self.journal.record(code::RENAME_TAG, |b| {
            put_edit(b, edit);
            put_tag(b, tag);
            put_str(b, new_name);
        });
        Ok(())
    }

    /// Archives a tag: it keeps its members but takes no new ones and is refused in queries.
    pub fn archive_tag(&mut self, edit: &Edit, tag: TagId) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Archive)?;
        Arc::make_mut(&mut self.taxonomy).set_archived(edit, tag, true)?;
        self.journal_archived(edit, tag, true);
        Ok(())
    }

    fn journal_archived(&mut self, edit: &Edit, tag: TagId, archived: bool) {
        self.journal.record(code::ARCHIVE_TAG, |b| {
            put_edit(b, edit);
            put_tag(b, tag);
            put_u8(b, u8::from(archived));
        });
    }

    /// Takes a tag out of the archive.
    pub fn unarchive_tag(&mut self, edit: &Edit, tag: TagId) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Archive)?;
        Arc::make_mut(&mut self.taxonomy).set_archived(edit, tag, false)?;
        self.journal_archived(edit, tag, false);
        Ok(())
    }

    /// Deletes a tag and all its memberships. Returns how many customers carried it. The
    /// edit needs a reason ([`Edit::because`]).
    pub fn delete_tag(&mut self, edit: &Edit, tag: TagId) -> Result<u64, Error> {
        self.govern(edit, TaxonomyAction::Delete)?;
        let info = self.taxonomy.get(tag)?;
        require_reason(edit, "delete", &info.name)?;
        let members = self.member_slot(tag)?.len();
        let change = Change::Deleted {
            tag,
            name: info.name.clone(),
            members,
        };
        Arc::make_mut(&mut self.taxonomy).remove(edit, tag, change)?;
        if let Some(slot) = self.members.get_mut(tag.0 as usize) {
            *slot = TagMembers::default();
        }
        self.journal.record(code::DELETE_TAG, |b| {
            put_edit(b, edit);
            put_tag(b, tag);
        });
        Ok(members)
    }

    /// Merges tag `from` into tag `into`: `into` gets `from`'s members (new members keep
    /// the day they were assigned `from`; existing members keep theirs) and `from`
    /// disappears. Returns how many customers `into` gained. The edit needs a reason
    /// ([`Edit::because`]).
    pub fn merge_tags(&mut self, edit: &Edit, into: TagId, from: TagId) -> Result<u64, Error> {
        self.govern(edit, TaxonomyAction::Merge)?;
        let into_info = self.taxonomy.get(into)?;
        let from_info = self.taxonomy.get(from)?;
        require_reason(edit, "merge", &from_info.name)?;
        if into == from {
            return err(ErrorKind::SameTag {
                operation: "merge",
                name: into_info.name.clone(),
            });
        }
        if into_info.archived {
            return err(ErrorKind::ArchivedTag {
                name: into_info.name.clone(),
            });
        }
        let change = Change::Merged {
            from,
            from_name: from_info.name.clone(),
            into,
            into_name: into_info.name.clone(),
        };
        let groups = self.member_slot(from)?.day_groups();
        Arc::make_mut(&mut self.taxonomy).remove(edit, from, change)?;
        let mut gained = 0;
        if let Some(slot) = self.members.get_mut(into.0 as usize) {
            for (day, set) in &groups {
                gained += slot.add_new(set, *day);
            }
        }
        if let Some(slot) = self.members.get_mut(from.0 as usize) {
            *slot = TagMembers::default();
        }
        self.journal.record(code::MERGE_TAGS, |b| {
            put_edit(b, edit);
            put_tag(b, into);
            put_tag(b, from);
        });
        Ok(gained)
    }

    /// Sets or clears a tag's time-to-live in days.
    pub fn set_ttl(&mut self, edit: &Edit, tag: TagId, ttl_days: Option<u32>) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::ChangeTtl)?;
        Arc::make_mut(&mut self.taxonomy).set_ttl(edit, tag, ttl_days)?;
        self.journal.record(code::SET_TTL, |b| {
            put_edit(b, edit);
            put_tag(b, tag);
            put_opt_u32(b, ttl_days);
        });
        Ok(())
    }

    /// Sets a tag's kind and description (at most [`MAX_TEXT_CHARS`](crate::MAX_TEXT_CHARS)
    /// characters; a longer one is [`ErrorKind::LimitExceeded`] and changes nothing).
    pub fn describe_tag(
        &mut self,
        edit: &Edit,
        tag: TagId,
        kind: TagKind,
        description: impl Into<String>,
    ) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Describe)?;
        let description = description.into();
        let copy = self.journal.is_enabled().then(|| description.clone());
        Arc::make_mut(&mut self.taxonomy).describe(edit, tag, kind, description)?;
        self.journal.record(code::DESCRIBE_TAG, |b| {
            put_edit(b, edit);
            put_tag(b, tag);
            put_kind(b, kind);
            put_str(b, copy.as_deref().unwrap_or_default());
        });
        Ok(())
    }

    /// Sets the colour of a dimension (registering the dimension if new). A colour has at
    /// most [`MAX_NAME_CHARS`] characters.
    pub fn set_dimension_colour(
        &mut self,
        edit: &Edit,
        dimension: &str,
        colour: Option<String>,
    ) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Describe)?;
        let copy = self.journal.is_enabled().then(|| colour.clone()).flatten();
        Arc::make_mut(&mut self.taxonomy).set_colour(edit, dimension, colour)?;
        self.journal.record(code::SET_COLOUR, |b| {
            put_edit(b, edit);
            put_str(b, dimension);
            put_opt_str(b, copy.as_deref());
        });
        Ok(())
    }

    /// Records that `tag` was used to select an audience on `day` (feeds the health
    /// report's silent-tag flag). Earlier days than the last recorded one are ignored.
    pub fn record_use(&mut self, tag: TagId, day: Day) -> Result<(), Error> {
        Arc::make_mut(&mut self.taxonomy).record_use(tag, day)?;
        self.journal.record(code::RECORD_USE, |b| {
            put_tag(b, tag);
            put_day(b, day);
        });
        Ok(())
    }

    /// The tag of a name (folded: case, width and spacing do not matter). A name that exists
    /// in several dimensions must be qualified as `dimension:name`. Unknown names get a
    /// did-you-mean suggestion.
    ///
    /// ```
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let mut store = Store::new();
    /// let e = Edit::new("admin", Day::EPOCH);
    /// store.create_tag(&e, TagSpec::new("VIP").dimension("power"))?;
    /// store.create_tag(&e, TagSpec::new("VIP").dimension("channel"))?;
    /// assert!(store.tag_id("power:vip").is_ok());
    /// assert_eq!(
    ///     store.tag_id("vip").unwrap_err().to_string(),
    ///     "tag name \"vip\" is ambiguous: it exists in dimensions power, channel; write it as dimension:name"
    /// );
    /// assert_eq!(
    ///     store.tag_id("vipp").unwrap_err().to_string(),
    ///     "unknown tag \"vipp\" (did you mean \"VIP\"?)"
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn tag_id(&self, name: &str) -> Result<TagId, Error> {
        self.taxonomy.resolve(name)
    }

    /// The tag of a name within a dimension (both compared folded). A miss is
    /// [`ErrorKind::UnknownTag`] with a did-you-mean among the dimension's tags.
    pub fn tag_id_in(&self, dimension: &str, name: &str) -> Result<TagId, Error> {
        self.taxonomy.lookup(Some(dimension), name)
    }

    /// The tag of a name within a dimension, or `None`: the form for callers that look a
    /// tag up to create it when it is missing (no suggestion is computed on a miss).
    ///
    /// ```
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let mut store = Store::new();
    /// let edit = Edit::new("admin", Day::from_ymd(2025, 1, 6)?);
    /// let vip = store.create_tag(&edit, TagSpec::new("VIP").dimension("power"))?;
    /// assert_eq!(store.find_tag_in("Power", " vip "), Some(vip));
    /// assert_eq!(store.find_tag_in("channel", "VIP"), None);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn find_tag_in(&self, dimension: &str, name: &str) -> Option<TagId> {
        self.taxonomy.find_in(dimension, name)
    }

    /// Tags by keyword, as people pick them when tagging by hand: type part of a name in
    /// any script, choose from the matches. Names compare folded (case, width and
    /// compatibility forms, as everywhere in the crate); names that start with the keyword
    /// come first, shortest first, then names that contain it elsewhere. Archived tags are
    /// left out, and at most [`MAX_FOUND_TAGS`] are returned; an empty keyword finds none.
    ///
    /// ```
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let mut store = Store::new();
    /// let e = Edit::new("mei", Day::from_ymd(2025, 3, 3)?);
    /// for name in ["彩妝化妝品", "化妝品愛好者", "化妝品", "護膚品", "Makeup fans"] {
    ///     store.create_tag(&e, TagSpec::new(name))?;
    /// }
    /// let names = |k: &str| -> Vec<String> {
    ///     store.find_tags(k).into_iter().map(|t| t.name.clone()).collect()
    /// };
    /// assert_eq!(names("化妝"), ["化妝品", "化妝品愛好者", "彩妝化妝品"]);
    /// assert_eq!(names("MAKEUP"), ["Makeup fans"]);
    /// assert!(names("香水").is_empty());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn find_tags(&self, keyword: &str) -> Vec<&TagInfo> {
        self.taxonomy
            .find(keyword, MAX_FOUND_TAGS)
            .into_iter()
            .filter_map(|id| self.taxonomy.get(id).ok())
            .collect()
    }

    /// A tag's metadata.
    pub fn tag(&self, tag: TagId) -> Result<&TagInfo, Error> {
        self.taxonomy.get(tag)
    }

    /// Every live tag, in id order.
    pub fn tags(&self) -> impl Iterator<Item = &TagInfo> {
        self.taxonomy.iter()
    }

    /// The number of live tags.
    pub fn tag_count(&self) -> usize {
        self.taxonomy.iter().count()
    }

    /// Tag ids handed out so far, deleted ones included (what [`MAX_TAGS`] limits). Lets a
    /// batch check before it changes anything that the tags it will create fit.
    ///
    /// [`MAX_TAGS`]: crate::MAX_TAGS
    pub(crate) fn tag_id_space(&self) -> usize {
        self.members.len()
    }

    /// Every dimension in use, in order of first use.
    pub fn dimensions(&self) -> &[DimensionInfo] {
        self.taxonomy.dimensions()
    }

    /// The dimension of a name (compared after folding, like tag names), with a
    /// did-you-mean on a miss ([`ErrorKind::UnknownDimension`]). Every capability that
    /// takes a dimension name looks it up here.
    ///
    /// ```
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let mut store = Store::new();
    /// let e = Edit::new("admin", Day::EPOCH);
    /// store.create_tag(&e, TagSpec::new("vip").dimension("Tier"))?;
    /// assert_eq!(store.dimension("tier")?.name, "Tier");
    /// assert_eq!(
    ///     store.dimension("tiers").unwrap_err().to_string(),
    ///     "unknown dimension \"tiers\" (did you mean \"Tier\"?)"
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn dimension(&self, name: &str) -> Result<&DimensionInfo, Error> {
        self.find_dimension(name).ok_or_else(|| {
            ErrorKind::UnknownDimension {
                name: name.to_string(),
                suggestion: suggest(name, self.dimensions().iter().map(|d| d.name.as_str())),
            }
            .into()
        })
    }

    /// The dimension of a name (compared after folding), or `None`.
    pub fn find_dimension(&self, name: &str) -> Option<&DimensionInfo> {
        let dims = self.dimensions();
        dims.iter().find(|d| d.name == name).or_else(|| {
            let key = fold(name);
            dims.iter().find(|d| fold(&d.name) == key)
        })
    }

    /// The taxonomy's change log, oldest first.
    pub fn change_log(&self) -> &[LogEntry] {
        self.taxonomy.log()
    }

    pub(crate) fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Sets the policy and journals it (the one door to the taxonomy's policy).
    pub(crate) fn replace_policy(&mut self, edit: &Edit, policy: Policy) {
        let mut bytes = Vec::new();
        if self.journal.is_enabled() {
            put_edit(&mut bytes, edit);
            put_policy(&mut bytes, &policy);
        }
        Arc::make_mut(&mut self.taxonomy).set_policy(edit, policy);
        self.journal
            .record(code::SET_POLICY, |b| b.extend_from_slice(&bytes));
    }

    // ----------------------------------------------------------------------------------
    // Memberships
    // ----------------------------------------------------------------------------------

    /// A tag's members as the store keeps them (with their dense copy), for the query
    /// kernels; the crate's capabilities use [`Store::members`].
    pub(crate) fn tag_members(&self, tag: TagId) -> Result<&TagMembers, Error> {
        self.member_slot(tag)
    }

    fn member_slot(&self, tag: TagId) -> Result<&TagMembers, Error> {
        self.taxonomy.get(tag)?;
        self.members
            .get(tag.0 as usize)
            .ok_or_else(|| ErrorKind::UnknownTagId { id: tag.0 }.into())
    }

    fn writable_slot(&mut self, tag: TagId) -> Result<&mut TagMembers, Error> {
        let info = self.taxonomy.get(tag)?;
        if info.archived {
            return err(ErrorKind::ArchivedTag {
                name: info.name.clone(),
            });
        }
        self.members
            .get_mut(tag.0 as usize)
            .ok_or_else(|| ErrorKind::UnknownTagId { id: tag.0 }.into())
    }

    /// The members of a tag.
    pub fn members(&self, tag: TagId) -> Result<&RoaringBitmap, Error> {
        Ok(self.member_slot(tag)?.bitmap())
    }

    /// Gives `customer` the tag, assigned on `day` (re-assigning refreshes the day).
    pub fn add_tag(&mut self, customer: CustomerId, tag: TagId, day: Day) -> Result<(), Error> {
        self.check_live(customer)?;
        self.writable_slot(tag)?.add_one(customer, day);
        self.journal.record(code::ADD_TAG, |b| {
            put_u32(b, customer);
            put_tag(b, tag);
            put_day(b, day);
        });
        Ok(())
    }

    /// Takes the tag from `customer`. Returns whether the customer had it.
    pub fn remove_tag(&mut self, customer: CustomerId, tag: TagId) -> Result<bool, Error> {
        self.check_live(customer)?;
        self.member_slot(tag)?;
        let had = self
            .members
            .get_mut(tag.0 as usize)
            .is_some_and(|m| m.remove_one(customer));
        if had {
            self.journal.record(code::REMOVE_TAG, |b| {
                put_u32(b, customer);
                put_tag(b, tag);
            });
        }
        Ok(had)
    }

    /// Gives every customer of `set` the tag, assigned on `day` (re-assigning refreshes the
    /// day). Every id must be a live customer, or nothing changes.
    pub fn add_tag_bulk(&mut self, tag: TagId, set: &RoaringBitmap, day: Day) -> Result<(), Error> {
        self.check_live_set(set)?;
        self.writable_slot(tag)?.add_many(set, day);
        self.journal_add_bulk(tag, set, day);
        Ok(())
    }

    fn journal_add_bulk(&mut self, tag: TagId, set: &RoaringBitmap, day: Day) {
        self.journal.record(code::ADD_TAG_BULK, |b| {
            put_tag(b, tag);
            put_day(b, day);
            put_bitmap(b, set);
        });
    }

    /// [`Store::add_tag_bulk`] with a bitmap the caller hands over: a tag that has no
    /// members yet takes it as they are, without copying a byte, which is how a bulk load
    /// fills its tags. Every id must be a live customer, or nothing changes (and the bitmap
    /// is dropped).
    ///
    /// ```
    /// use audience::{CustomerKey, Day, Edit, RoaringBitmap, Store, TagSpec};
    ///
    /// let today = Day::from_ymd(2026, 3, 1)?;
    /// let mut store = Store::new();
    /// store.ensure_customers((0..1_000u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))?;
    /// let vip = store.create_tag(&Edit::new("crm", today), TagSpec::new("vip"))?;
    /// let members: RoaringBitmap = (0..1_000).step_by(10).collect();
    /// store.add_tag_bulk_owned(vip, members, today)?;
    /// assert_eq!(store.members(vip)?.len(), 100);
    /// assert!(store.add_tag_bulk_owned(vip, [5_000].into_iter().collect(), today).is_err());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn add_tag_bulk_owned(
        &mut self,
        tag: TagId,
        set: RoaringBitmap,
        day: Day,
    ) -> Result<(), Error> {
        self.check_live_set(&set)?;
        self.writable_slot(tag)?;
        self.journal_add_bulk(tag, &set, day);
        self.writable_slot(tag)?.add_many_owned(set, day);
        Ok(())
    }

    /// Takes the tag from every customer of `set`. Returns how many had it.
    pub fn remove_tag_bulk(&mut self, tag: TagId, set: &RoaringBitmap) -> Result<u64, Error> {
        let removed = self.remove_many(tag, set)?;
        if removed > 0 {
            self.journal.record(code::REMOVE_TAG_BULK, |b| {
                put_tag(b, tag);
                put_bitmap(b, set);
            });
        }
        Ok(removed)
    }

    fn remove_many(&mut self, tag: TagId, set: &RoaringBitmap) -> Result<u64, Error> {
        self.member_slot(tag)?;
        Ok(self
            .members
            .get_mut(tag.0 as usize)
            .map_or(0, |m| m.remove_many(set)))
    }

    /// One bulk edit: every customer of `set` loses `from` and gets `to` (assigned on `day`).
    /// Returns `(how many lost from, how many gained to)`.
    pub fn move_tag_bulk(
        &mut self,
        set: &RoaringBitmap,
        from: TagId,
        to: TagId,
        day: Day,
    ) -> Result<(u64, u64), Error> {
        if from == to {
            return err(ErrorKind::SameTag {
                operation: "move",
                name: self.tag(from)?.name.clone(),
            });
        }
        self.check_live_set(set)?;
        self.member_slot(from)?;
        let before = self.writable_slot(to)?.len();
        let removed = self.remove_many(from, set)?;
        let slot = self.writable_slot(to)?;
        slot.add_many(set, day);
        let gained = slot.len() - before;
        self.journal.record(code::MOVE_TAG_BULK, |b| {
            put_tag(b, from);
            put_tag(b, to);
            put_day(b, day);
            put_bitmap(b, set);
        });
        Ok((removed, gained))
    }

    /// Replaces a customer's whole tag set with `tags`. Tags kept keep their assignment
    /// day; new ones are assigned on `day`. Validates every tag before changing anything.
    pub fn set_tags(
        &mut self,
        customer: CustomerId,
        tags: &[TagId],
        day: Day,
    ) -> Result<TagDiff, Error> {
        self.check_live(customer)?;
        let current = self.tags_of(customer)?;
        let mut wanted: Vec<TagId> = tags.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let added: Vec<TagId> = wanted
            .iter()
            .copied()
            .filter(|t| current.binary_search(t).is_err())
            .collect();
        let removed: Vec<TagId> = current
            .iter()
            .copied()
            .filter(|t| wanted.binary_search(t).is_err())
            .collect();
        for &t in &added {
            self.writable_slot(t)?;
        }
        for &t in &added {
            self.writable_slot(t)?.add_one(customer, day);
        }
        for &t in &removed {
            if let Some(m) = self.members.get_mut(t.0 as usize) {
                m.remove_one(customer);
            }
        }
        if !added.is_empty() || !removed.is_empty() {
            // The effect, not the call: what replaying it checks then does not depend on
            // the customer's other tags.
            self.journal.record(code::SET_TAGS, |b| {
                put_u32(b, customer);
                put_day(b, day);
                for list in [&added, &removed] {
                    put_len(b, list.len());
                    for &t in list {
                        put_tag(b, t);
                    }
                }
            });
        }
        Ok(TagDiff { added, removed })
    }

    /// A customer's tags, in tag id order. Costs one membership test per tag: no reverse
    /// index is kept, so memory stays one bitmap per tag (see the `store` bench for the
    /// measured cost at 200 tags).
    pub fn tags_of(&self, customer: CustomerId) -> Result<Vec<TagId>, Error> {
        self.check_live(customer)?;
        Ok(self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.contains(customer))
            .map(|(i, _)| TagId(i as u32))
            .collect())
    }

    /// A customer's tags by name, as `dimension:name`, in tag id order: what a support
    /// screen shows next to a phone number. Same cost as [`Store::tags_of`].
    ///
    /// ```
    /// use audience::{CustomerKey, Day, Edit, Store, TagSpec};
    ///
    /// let today = Day::from_ymd(2025, 1, 6)?;
    /// let mut store = Store::new();
    /// let vip = store.create_tag(&Edit::new("mei", today), TagSpec::new("VIP").dimension("power"))?;
    /// let new = store.create_tag(&Edit::new("mei", today), TagSpec::new("ลูกค้าใหม่"))?;
    /// let c = store.add_customer(CustomerKey::phone("66812345678")?)?;
    /// store.add_tag(c, vip, today)?;
    /// store.add_tag(c, new, today)?;
    /// assert_eq!(store.tag_names_of(c)?, ["power:VIP", "general:ลูกค้าใหม่"]);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn tag_names_of(&self, customer: CustomerId) -> Result<Vec<String>, Error> {
        Ok(self
            .tags_of(customer)?
            .into_iter()
            .filter_map(|t| self.taxonomy.get(t).ok())
            .map(|t| format!("{}:{}", t.dimension, t.name))
            .collect())
    }

    /// The day `customer` was (last) assigned `tag`, if it carries it.
    pub fn assigned_day(&self, customer: CustomerId, tag: TagId) -> Result<Option<Day>, Error> {
        Ok(self.member_slot(tag)?.day_of(customer))
    }

    /// Members of `tag` assigned strictly before `day`.
    pub fn assigned_before(&self, tag: TagId, day: Day) -> Result<RoaringBitmap, Error> {
        Ok(self.member_slot(tag)?.assigned_before(day))
    }

    /// Members of `tag` assigned on `day` or later.
    pub fn assigned_since(&self, tag: TagId, day: Day) -> Result<RoaringBitmap, Error> {
        Ok(self.member_slot(tag)?.assigned_since(day))
    }

    /// Members of `tag` per assignment day, oldest first.
    pub fn assignment_days(&self, tag: TagId) -> Result<Vec<(Day, u64)>, Error> {
        Ok(self.member_slot(tag)?.day_counts())
    }

    /// Removes every membership whose tag has a time-to-live of N days and that was
    /// assigned N or more days before `today`. Returns the removed customers per tag (tags
    /// that lost nobody are left out). Bitmap operations only: the cost grows with the
    /// number of assignment days, not of customers.
    pub fn expire(&mut self, today: Day) -> Vec<(TagId, RoaringBitmap)> {
        let ttls: Vec<(TagId, u32)> = self
            .taxonomy
            .iter()
            .filter_map(|t| t.ttl_days.map(|ttl| (t.id, ttl)))
            .collect();
        let mut out = Vec::new();
        for (tag, ttl) in ttls {
            // Memberships assigned through `today - ttl` expire; when that is before the
            // first day there is, none do.
            let Some(last) = today.window_start(ttl) else {
                continue;
            };
            if let Some(slot) = self.members.get_mut(tag.0 as usize) {
                let gone = slot.take_through(last);
                if !gone.is_empty() {
                    out.push((tag, gone));
                }
            }
        }
        self.journal.record(code::EXPIRE, |b| put_day(b, today));
        out
    }

    // ----------------------------------------------------------------------------------
    // Attributes
    // ----------------------------------------------------------------------------------

    /// Defines a numeric attribute. Names are letters of any script, digits and `_`, not
    /// starting with a digit, compared case-insensitively.
    ///
    /// A decimal attribute ([`AttrKind::Decimal`]) keeps 1 to
    /// [`AttrKind::MAX_DECIMAL_SCALE`] places; other scales are refused
    /// ([`ErrorKind::InvalidArgument`]).
    pub fn define_attribute(&mut self, name: &str, kind: AttrKind) -> Result<AttrId, Error> {
        check_attr_name(name)?;
        if let AttrKind::Decimal { scale } = kind
            && !(1..=AttrKind::MAX_DECIMAL_SCALE).contains(&scale)
        {
            return err(ErrorKind::InvalidArgument(format!(
                "decimal attribute {} keeps 1 to {} decimal places, got {scale} (use \
                 AttrKind::Int for whole numbers)",
                quote(name),
                AttrKind::MAX_DECIMAL_SCALE
            )));
        }
        if self.attrs.iter().any(|a| fold(&a.info.name) == fold(name)) {
            return err(ErrorKind::DuplicateAttribute { name: name.into() });
        }
        if self.attrs.len() >= MAX_ATTRIBUTES {
            return err(ErrorKind::LimitExceeded {
                what: "number of attributes",
                limit: MAX_ATTRIBUTES as u64,
                actual: self.attrs.len() as u64 + 1,
            });
        }
        let id = AttrId(self.attrs.len() as u32);
        self.attrs.push(AttrSlot {
            info: AttrInfo {
                id,
                name: name.to_string(),
                kind,
            },
            column: Arc::default(),
        });
        self.journal.record(code::DEFINE_ATTRIBUTE, |b| {
            put_str(b, name);
            match kind {
                AttrKind::Int => put_u8(b, 0),
                AttrKind::Day => put_u8(b, 1),
                AttrKind::Decimal { scale } => {
                    put_u8(b, 2);
                    put_u8(b, scale);
                }
            }
        });
        Ok(id)
    }

    /// The attribute of a name (case-insensitive), with a did-you-mean on a miss.
    pub fn attribute_id(&self, name: &str) -> Result<AttrId, Error> {
        self.find_attribute(name).ok_or_else(|| {
            ErrorKind::UnknownAttribute {
                name: name.to_string(),
                suggestion: suggest(name, self.attrs.iter().map(|a| a.info.name.as_str())),
            }
            .into()
        })
    }

    /// The attribute of a name (case-insensitive), or `None`: the lookup without the
    /// did-you-mean, for callers that only ask whether it exists.
    pub fn find_attribute(&self, name: &str) -> Option<AttrId> {
        // Names are unique after folding, so an exact match is the match; queries almost
        // always spell names exactly, and folding every name costs an allocation each.
        if let Some(a) = self.attrs.iter().find(|a| a.info.name == name) {
            return Some(a.info.id);
        }
        let key = fold(name);
        self.attrs
            .iter()
            .find(|a| fold(&a.info.name) == key)
            .map(|a| a.info.id)
    }

    /// The attribute that the setting `setting` names, which must hold `want` values:
    /// [`ErrorKind::SettingAttribute`] naming the setting when the store has no such
    /// attribute or it holds the other kind.
    pub(crate) fn setting_attribute(
        &self,
        setting: &'static str,
        name: &str,
        want: AttrKind,
    ) -> Result<AttrId, Error> {
        self.setting_attribute_where(setting, name, want.needing(), |k| k == want)
    }

    /// Like [`Store::setting_attribute`], for a setting that reads more than one kind:
    /// `accepts` says which, `needs` how messages name them ("a number or decimal
    /// attribute").
    pub(crate) fn setting_attribute_where(
        &self,
        setting: &'static str,
        name: &str,
        needs: &'static str,
        accepts: impl Fn(AttrKind) -> bool,
    ) -> Result<AttrId, Error> {
        let Some(id) = self.find_attribute(name) else {
            return err(ErrorKind::SettingAttribute {
                setting,
                attribute: name.to_string(),
                holds: None,
                needs,
                suggestion: suggest(name, self.attrs.iter().map(|a| a.info.name.as_str())),
            });
        };
        let info = self.attribute(id)?;
        if !accepts(info.kind) {
            return err(ErrorKind::SettingAttribute {
                setting,
                attribute: info.name.clone(),
                holds: Some(info.kind.plural()),
                needs,
                suggestion: None,
            });
        }
        Ok(id)
    }

    /// An attribute's name and kind.
    pub fn attribute(&self, attr: AttrId) -> Result<&AttrInfo, Error> {
        self.slot(attr).map(|s| &s.info)
    }

    /// Every attribute, in id order.
    pub fn attributes(&self) -> impl Iterator<Item = &AttrInfo> {
        self.attrs.iter().map(|s| &s.info)
    }

    fn slot(&self, attr: AttrId) -> Result<&AttrSlot, Error> {
        self.attrs.get(attr.0 as usize).ok_or_else(|| {
            ErrorKind::UnknownAttribute {
                name: format!("#{}", attr.0),
                suggestion: None,
            }
            .into()
        })
    }

    pub(crate) fn column(&self, attr: AttrId) -> Result<&Column, Error> {
        self.slot(attr).map(|s| &*s.column)
    }

    /// The stored integer for `value` in `attr`: its kind must be the attribute's, and a
    /// decimal is rescaled to the attribute's places when that is exact.
    fn check_kind(&self, attr: AttrId, value: Value) -> Result<i64, Error> {
        let info = &self.slot(attr)?.info;
        match (info.kind, value) {
            (AttrKind::Decimal { scale }, Value::Decimal(d)) => match d.rescale(scale) {
                Some(d) => Ok(d.units()),
                None => err(ErrorKind::InvalidDecimal {
                    input: d.to_string(),
                    reason: if d.scale() > scale {
                        format!(
                            "attribute {} keeps {scale} decimal places",
                            quote(&info.name)
                        )
                    } else {
                        format!(
                            "too large for attribute {} ({scale} decimal places)",
                            quote(&info.name)
                        )
                    },
                }),
            },
            (kind, value) if kind == value.kind() => Ok(value.raw()),
            (kind, value) => err(ErrorKind::AttributeType {
                attribute: info.name.clone(),
                expected: kind.noun(),
                found: value.kind().noun(),
            }),
        }
    }

    /// Sets one customer's value.
    pub fn set_value(
        &mut self,
        customer: CustomerId,
        attr: AttrId,
        value: impl Into<Value>,
    ) -> Result<(), Error> {
        let value = value.into();
        self.check_live(customer)?;
        let raw = self.check_kind(attr, value)?;
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        Arc::make_mut(&mut slot.column).set(customer, raw);
        self.journal.record(code::SET_VALUE, |b| {
            put_u32(b, customer);
            put_u32(b, attr.0);
            put_i64(b, raw);
        });
        Ok(())
    }

    /// Sets many customers' values at once (`customers[i]` gets `values[i]`; a customer
    /// listed twice gets its last value). Validates everything first: on error nothing
    /// changed.
    pub fn set_values(
        &mut self,
        attr: AttrId,
        customers: &[CustomerId],
        values: &[Value],
    ) -> Result<(), Error> {
        if customers.len() != values.len() {
            return err(ErrorKind::InvalidArgument(format!(
                "{} but {}",
                counted(customers.len() as u64, "customer", "customers"),
                counted(values.len() as u64, "value", "values")
            )));
        }
        for &c in customers {
            self.check_live(c)?;
        }
        let raw = values
            .iter()
            .map(|&v| self.check_kind(attr, v))
            .collect::<Result<Vec<i64>, Error>>()?;
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        Arc::make_mut(&mut slot.column).set_many(customers, &raw);
        self.journal
            .record_with(|b| put_values(b, attr, customers, &raw));
        Ok(())
    }

    /// Sets one attribute for the customers in id order: customer `i` gets `values[i]`,
    /// from id 0 (the way a bulk load holds a column). The fast way to load a column:
    /// the index is built straight from the slice, 64 ids at a time, at hundreds of
    /// millions of values a second, where [`Store::set_values`] pairs every value with its
    /// customer.
    ///
    /// - `values` is a slice of `i64` or `u32` (a number attribute), [`Day`] (a day
    ///   attribute), [`Decimal`](crate::Decimal) (a decimal attribute, each rescaled to its
    ///   places when that is exact), or an `Option` of one of them, where `None` is "no
    ///   value" (a customer that had one loses it).
    /// - Ids erased since they were handed out are skipped: their slots in `values` are
    ///   ignored.
    /// - Customers from `values.len()` on keep the values they have: a slice shorter than
    ///   the id space sets the first customers only. A slice longer than the ids handed
    ///   out is refused.
    ///
    /// Validates everything first (the attribute, the kind, the length, every decimal):
    /// on error nothing changed. The journal records it as one unit.
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, Day, Query, Store, Value};
    ///
    /// let mut store = Store::new();
    /// store.ensure_customers((0..4).map(|i| CustomerKey::Phone(66_800_000_000 + i)))?;
    /// let count = store.define_attribute("purchase_count", AttrKind::Int)?;
    /// let last = store.define_attribute("last_purchase", AttrKind::Day)?;
    /// store.set_column(count, &[3u32, 0, 7, 1])?;
    /// let day = Day::from_ymd(2025, 1, 1)?;
    /// store.set_column(last, &[Some(day), None, Some(day), Some(day)])?;
    ///
    /// assert_eq!(store.value(2, count)?, Some(Value::Int(7)));
    /// assert_eq!(store.value(1, last)?, None);
    /// assert_eq!(store.count(&Query::parse("purchase_count >= 1")?, day)?, 3);
    /// // The wrong kind, or more values than customers, changes nothing.
    /// assert_eq!(
    ///     store.set_column(last, &[1i64]).unwrap_err().to_string(),
    ///     "attribute \"last_purchase\" holds day values, got number"
    /// );
    /// assert_eq!(
    ///     store.set_column(count, &[1i64; 5]).unwrap_err().to_string(),
    ///     "invalid argument: 5 values for attribute \"purchase_count\", one per customer \
    ///      id, but only 4 ids have been handed out"
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn set_column<V: ColumnValue>(&mut self, attr: AttrId, values: &[V]) -> Result<(), Error> {
        let info = &self.slot(attr)?.info;
        let kind = info.kind;
        let space = self.id_space();
        if values.len() as u64 > space {
            return err(ErrorKind::InvalidArgument(format!(
                "{} for attribute {}, one per customer id, but only {} been handed out",
                counted(values.len() as u64, "value", "values"),
                quote(&info.name),
                match space {
                    1 => "1 id has".to_string(),
                    n => format!("{} ids have", thousands(n)),
                }
            )));
        }
        let found = match V::slice(values) {
            Slice::Int(_) | Slice::Count(_) | Slice::OptInt(_) | Slice::OptCount(_) => {
                AttrKind::Int
            }
            Slice::Day(_) | Slice::OptDay(_) => AttrKind::Day,
            Slice::Decimal(_) | Slice::OptDecimal(_) => AttrKind::Decimal { scale: 0 },
        };
        if found.noun() != kind.noun() {
            return err(ErrorKind::AttributeType {
                attribute: info.name.clone(),
                expected: kind.noun(),
                found: found.noun(),
            });
        }
        // Decimals are checked against the attribute's places before anything changes.
        let units = match V::slice(values) {
            Slice::Decimal(v) => v
                .iter()
                .map(|&d| self.check_kind(attr, Value::Decimal(d)).map(Some))
                .collect::<Result<Vec<Option<i64>>, Error>>()?,
            Slice::OptDecimal(v) => v
                .iter()
                .map(|d| {
                    d.map(|d| self.check_kind(attr, Value::Decimal(d)))
                        .transpose()
                })
                .collect::<Result<Vec<Option<i64>>, Error>>()?,
            _ => Vec::new(),
        };
        let n = values.len();
        let live = bitmap_words(&self.live, n);
        let journaled = self.journal.is_enabled();
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        // Nothing fails from here on.
        let old = std::mem::take(&mut slot.column);
        let old_present = if journaled {
            old.present().clone()
        } else {
            RoaringBitmap::new()
        };
        let column = match V::slice(values) {
            Slice::Int(v) => rebuilt(old, v, &live),
            Slice::Count(v) => rebuilt(old, v, &live),
            Slice::Day(v) => rebuilt(old, v, &live),
            Slice::OptInt(v) => rebuilt(old, v, &live),
            Slice::OptCount(v) => rebuilt(old, v, &live),
            Slice::OptDay(v) => rebuilt(old, v, &live),
            Slice::Decimal(_) | Slice::OptDecimal(_) => rebuilt(old, &units, &live),
        };
        if journaled {
            let end = u32::try_from(n).unwrap_or(u32::MAX);
            let mut set = column.present().clone();
            set.remove_range(end..);
            let mut lost = old_present;
            lost.remove_range(end..);
            lost -= &set;
            self.journal.begin_batch();
            if !set.is_empty() {
                self.journal.record(code::SET_VALUES_PACKED, |b| {
                    put_packed_head(b, attr, &set, column.base(), column.width());
                    column.pack_below(n, b);
                });
            }
            if !lost.is_empty() {
                self.journal.record(code::CLEAR_VALUES, |b| {
                    put_u32(b, attr.0);
                    put_bitmap(b, &lost);
                });
            }
            self.journal.end_batch();
        }
        slot.column = Arc::new(column);
        Ok(())
    }

    /// Sets a day attribute from day numbers counted from another epoch, as exports of
    /// other systems hold them (days since 1900-01-01, since 2000-01-01...): `customers[i]`
    /// gets `epoch + numbers[i]` days, and a number equal to `none` (a "-1 = never"
    /// sentinel) means no value, clearing any value the customer had. A customer listed
    /// twice gets its last number. Validates everything first (lengths, a day attribute,
    /// live customers, days within 0000-01-01..=9999-12-31): on error nothing changed.
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, Day, Store, Value};
    ///
    /// let mut store = Store::new();
    /// let last = store.define_attribute("last_purchase", AttrKind::Day)?;
    /// let ids: Vec<u32> = (0..3)
    ///     .map(|i| store.add_customer(CustomerKey::member(format!("m{i}"))?))
    ///     .collect::<Result<_, _>>()?;
    /// // Days since 2000-01-01, with -1 for "never purchased".
    /// let epoch = Day::from_ymd(2000, 1, 1)?;
    /// store.set_days_from_numbers(last, &ids, &[9_132, -1, 0], epoch, Some(-1))?;
    /// assert_eq!(store.value(0, last)?, Some(Value::Day(Day::from_ymd(2025, 1, 1)?)));
    /// assert_eq!(store.value(1, last)?, None);
    /// assert_eq!(store.value(2, last)?, Some(Value::Day(epoch)));
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn set_days_from_numbers(
        &mut self,
        attr: AttrId,
        customers: &[CustomerId],
        numbers: &[i64],
        epoch: Day,
        none: Option<i64>,
    ) -> Result<(), Error> {
        if customers.len() != numbers.len() {
            return err(ErrorKind::InvalidArgument(format!(
                "{} but {}",
                counted(customers.len() as u64, "customer", "customers"),
                counted(numbers.len() as u64, "day number", "day numbers")
            )));
        }
        let info = &self.slot(attr)?.info;
        if info.kind != AttrKind::Day {
            return err(ErrorKind::AttributeType {
                attribute: info.name.clone(),
                expected: info.kind.noun(),
                found: AttrKind::Day.noun(),
            });
        }
        for &c in customers {
            self.check_live(c)?;
        }
        let (lowest, highest) = (i64::from(Day::MIN.as_i32()), i64::from(Day::MAX.as_i32()));
        let day_of = |n: i64| i64::from(epoch.as_i32()).checked_add(n);
        for (i, &n) in numbers.iter().enumerate() {
            if Some(n) == none {
                continue;
            }
            if !day_of(n).is_some_and(|d| (lowest..=highest).contains(&d)) {
                return err(ErrorKind::InvalidDay {
                    input: n.to_string(),
                    reason: format!(
                        "day number {n} (position {i}) counted from {epoch} lies outside \
                         0000-01-01..=9999-12-31"
                    ),
                });
            }
        }
        // The last number of a customer listed twice wins.
        let mut last: std::collections::BTreeMap<CustomerId, Option<Day>> =
            std::collections::BTreeMap::new();
        for (&c, &n) in customers.iter().zip(numbers) {
            let day = match day_of(n) {
                Some(d) if Some(n) != none => {
                    Some(Day::from_days(i32::try_from(d).unwrap_or(i32::MAX))?)
                }
                _ => None,
            };
            last.insert(c, day);
        }
        let (set, values): (Vec<CustomerId>, Vec<Value>) = last
            .iter()
            .filter_map(|(&c, d)| d.map(|d| (c, Value::Day(d))))
            .unzip();
        // Through the journaled setters, as one unit of the journal.
        let cleared: RoaringBitmap = last
            .iter()
            .filter_map(|(&c, d)| d.is_none().then_some(c))
            .collect();
        self.batch(|s| {
            s.set_values(attr, &set, &values)?;
            s.clear_values(attr, &cleared)?;
            Ok(())
        })
    }

    /// Removes one customer's value ("no value", distinct from zero). Returns whether it
    /// had one.
    pub fn clear_value(&mut self, customer: CustomerId, attr: AttrId) -> Result<bool, Error> {
        self.check_live(customer)?;
        self.slot(attr)?;
        if self.column(attr)?.get(customer).is_none() {
            return Ok(false);
        }
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        let had = Arc::make_mut(&mut slot.column).clear(customer);
        self.journal.record(code::CLEAR_VALUE, |b| {
            put_u32(b, customer);
            put_u32(b, attr.0);
        });
        Ok(had)
    }

    /// Removes the values of every customer of `set` ("no value", distinct from zero), as
    /// one change: a campaign's scores dropped for the customers who left it, a column
    /// emptied before a partial reload. Returns how many had a value. Every id must be a
    /// live customer, or nothing changes.
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, RoaringBitmap, Store};
    ///
    /// let mut store = Store::new();
    /// store.ensure_customers((0..100).map(|i| CustomerKey::Phone(66_800_000_000 + i)))?;
    /// let score = store.define_attribute("campaign_score", AttrKind::Int)?;
    /// let scores: Vec<i64> = (0..100).collect();
    /// store.set_column(score, &scores)?;
    /// let left: RoaringBitmap = (0..100).step_by(4).collect();
    /// assert_eq!(store.clear_values(score, &left)?, 25);
    /// assert_eq!(store.clear_values(score, &left)?, 0);
    /// assert_eq!(store.value(4, score)?, None);
    /// assert!(store.clear_values(score, &[100].into_iter().collect()).is_err());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn clear_values(&mut self, attr: AttrId, set: &RoaringBitmap) -> Result<u64, Error> {
        self.check_live_set(set)?;
        let had = set & self.column(attr)?.present();
        if had.is_empty() {
            return Ok(0);
        }
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        let column = Arc::make_mut(&mut slot.column);
        for customer in &had {
            column.clear(customer);
        }
        self.journal.record(code::CLEAR_VALUES, |b| {
            put_u32(b, attr.0);
            put_bitmap(b, &had);
        });
        Ok(had.len())
    }

    /// One customer's value, `None` when it has none.
    pub fn value(&self, customer: CustomerId, attr: AttrId) -> Result<Option<Value>, Error> {
        let slot = self.slot(attr)?;
        Ok(slot
            .column
            .get(customer)
            .map(|raw| Value::from_raw(slot.info.kind, raw)))
    }

    /// Customers that have a value.
    pub fn with_value(&self, attr: AttrId) -> Result<&RoaringBitmap, Error> {
        Ok(self.column(attr)?.present())
    }

    /// Customers whose value lies in `lo..=hi` (both of the attribute's kind).
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, Store, Value};
    ///
    /// let mut store = Store::new();
    /// let n = store.define_attribute("purchase_count", AttrKind::Int)?;
    /// for (i, count) in [0, 4, 7, 2].into_iter().enumerate() {
    ///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
    ///     store.set_value(c, n, count)?;
    /// }
    /// let high = store.range(n, Value::Int(4), Value::Int(i64::MAX))?;
    /// assert_eq!(high.iter().collect::<Vec<_>>(), vec![1, 2]);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn range(&self, attr: AttrId, lo: Value, hi: Value) -> Result<RoaringBitmap, Error> {
        let lo = self.check_kind(attr, lo)?;
        let hi = self.check_kind(attr, hi)?;
        Ok(self.column(attr)?.range(lo, hi, None))
    }

    /// Heap bytes of one attribute, by part: what a column costs.
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, Store};
    ///
    /// let mut store = Store::new();
    /// store.ensure_customers((0..1_000).map(|i| CustomerKey::Phone(66_800_000_000 + i)))?;
    /// let count = store.define_attribute("purchase_count", AttrKind::Int)?;
    /// let counts: Vec<u32> = (0..1_000).map(|i| i % 100).collect();
    /// store.set_column(count, &counts)?;
    /// let mem = store.attribute_memory(count)?;
    /// // Counts below 256: a byte a customer, and 7 bits of index.
    /// assert_eq!(mem.values, 1_000);
    /// assert_eq!(mem.index, 7 * 16 * 8);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn attribute_memory(&self, attr: AttrId) -> Result<AttrMemory, Error> {
        let (values, presence, index) = self.column(attr)?.heap_parts();
        Ok(AttrMemory {
            values,
            presence,
            index,
        })
    }

    /// Heap bytes held by the store, by part.
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            directory: self.directory.heap_bytes() as u64,
            memberships: self.members.iter().map(TagMembers::heap_bytes).sum(),
            attributes: self.attrs.iter().map(|s| s.column.heap_bytes()).sum(),
            universe: bitmap_bytes(&self.live),
        }
    }

    /// Drops the dense copies that large queries keep of the tags they read, and returns
    /// the bytes released.
    ///
    /// A query over many customers ("any of these 10 acquisition channels", "browsed AND
    /// subscribed AND NOT web") works on one bit per customer, and keeps the members of
    /// each tag it reads in that form, so that the next such query reads words instead of
    /// stepping through members. A copy is kept only for a tag with at least about one
    /// customer in 64 as members (its words then cost at most 4 times its bitmap), lives
    /// until the tag changes, and all copies together take at most as many bytes as the
    /// memberships: past that, queries read the other tags from their bitmaps.
    /// [`Store::memory_usage`] counts the copies under `memberships`.
    ///
    /// An app that ran a one-off exploration over many tags and wants the memory back
    /// calls this; answers are the same either way, and the next queries build the
    /// copies they need again.
    ///
    /// ```
    /// use audience::{CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec};
    ///
    /// let today = Day::from_ymd(2026, 12, 1)?;
    /// let mut store = Store::new();
    /// store.ensure_customers((0..300_000).map(|i| CustomerKey::Phone(66_800_000_000 + i)))?;
    /// let e = Edit::new("crm", today);
    /// for (n, channel) in ["line", "tiktok", "shopee"].into_iter().enumerate() {
    ///     let tag = store.create_tag(&e, TagSpec::new(&format!("channel/{channel}")))?;
    ///     let members: RoaringBitmap = (n as u32..300_000).step_by(5).collect();
    ///     store.add_tag_bulk_owned(tag, members, today)?;
    /// }
    /// let before = store.memory_usage().memberships;
    /// let any = Query::parse("channel/line OR channel/tiktok OR channel/shopee")?;
    /// assert_eq!(store.count(&any, today)?, 180_000);
    /// let kept = store.memory_usage().memberships - before;
    /// assert!(kept > 0, "the union kept dense copies");
    /// assert_eq!(store.drop_dense_copies(), kept);
    /// assert_eq!(store.memory_usage().memberships, before);
    /// assert_eq!(store.count(&any, today)?, 180_000);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn drop_dense_copies(&mut self) -> u64 {
        let before: u64 = self.members.iter().map(TagMembers::heap_bytes).sum();
        for members in &mut self.members {
            members.drop_words();
        }
        let after: u64 = self.members.iter().map(TagMembers::heap_bytes).sum();
        before - after
    }

    /// Whether a dense copy of `bytes` fits: all copies together take at most as many
    /// bytes as the memberships they copy (so they at most double the memberships' part
    /// of [`Store::memory_usage`]). Computed when a copy is about to be built, which
    /// happens once per tag until it changes.
    pub(crate) fn has_room_for_dense_copy(&self, bytes: u64) -> bool {
        let (kept, bitmaps) = self.members.iter().fold((0u64, 0u64), |(k, b), m| {
            (k + m.words_bytes(), b + m.bitmaps_bytes())
        });
        kept.saturating_add(bytes) <= bitmaps
    }

    /// The parts a snapshot writes.
    pub(crate) fn snapshot_parts(&self) -> (&Directory, &Taxonomy, &[TagMembers], &[AttrSlot]) {
        (&self.directory, &self.taxonomy, &self.members, &self.attrs)
    }

    /// A store from the parts a snapshot read, validated by the caller: `members` has one
    /// slot per tag id, every member and attribute value belongs to a live customer of
    /// `directory`, whose live ids are `live`.
    pub(crate) fn from_snapshot_parts(
        directory: Directory,
        taxonomy: Taxonomy,
        members: Vec<TagMembers>,
        attrs: Vec<AttrSlot>,
        live: RoaringBitmap,
        seq: u64,
    ) -> Store {
        Store {
            directory: Arc::new(directory),
            taxonomy: Arc::new(taxonomy),
            members,
            attrs,
            live: Arc::new(live),
            journal: Journal::loaded(seq),
        }
    }

    // ----------------------------------------------------------------------------------
    // Journal
    // ----------------------------------------------------------------------------------

    /// The store's change journal: its sequence number and the records the app has not
    /// taken yet (see [`journal`]).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The journal, to take its records ([`Journal::drain_into`]) or turn it off.
    pub fn journal_mut(&mut self) -> &mut Journal {
        &mut self.journal
    }

    /// Runs `f` as one batch: every change it makes is one unit in the journal, which
    /// [`journal::replay`] applies whole or not at all. Imports, rule runs, tier and
    /// group writes and materialised queries run as batches; an app groups its own
    /// changes the same way (an order's tag and attribute updates). Batches nest (an inner
    /// batch is part of the outer one).
    ///
    /// A batch is not a transaction in memory: changes made before `f` returns an error
    /// stay made, and journaled (the journal mirrors the store). Every batch of the crate
    /// checks its inputs before its first change.
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, Day, Edit, Store, TagSpec};
    ///
    /// let today = Day::from_ymd(2026, 3, 1)?;
    /// let mut store = Store::new();
    /// let bought = store.create_tag(&Edit::new("shop", today), TagSpec::new("bought"))?;
    /// let spend = store.define_attribute("spend", AttrKind::Int)?;
    /// let c = store.add_customer(CustomerKey::member("m1")?)?;
    /// store.journal_mut().take();
    /// store.batch(|s| {
    ///     s.add_tag(c, bought, today)?;
    ///     s.set_value(c, spend, 1_250)
    /// })?;
    /// assert_eq!(store.journal().pending_records(), 2);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T, Error>) -> Result<T, Error> {
        self.journal.begin_batch();
        let out = f(self);
        self.journal.end_batch();
        out
    }

    /// The store without its memberships and values: the directory, the taxonomy and the
    /// universe shared, every tag empty, every attribute defined and empty, journaling
    /// off. Every check of a mutating method passes or fails on it as on the store, so a
    /// replay checks its records on it before applying them in place.
    pub(crate) fn skeleton(&self) -> Store {
        let mut journal = self.journal.clone();
        journal.set_enabled(false);
        Store {
            directory: Arc::clone(&self.directory),
            taxonomy: Arc::clone(&self.taxonomy),
            members: self.members.iter().map(|_| TagMembers::default()).collect(),
            attrs: self
                .attrs
                .iter()
                .map(|a| AttrSlot {
                    info: a.info.clone(),
                    column: Arc::default(),
                })
                .collect(),
            live: Arc::clone(&self.live),
            journal,
        }
    }

    /// Every live customer with its key, in id order.
    pub fn keys(&self) -> impl Iterator<Item = (CustomerId, KeyRef<'_>)> + '_ {
        self.directory.iter()
    }
}

fn validate_key(key: &CustomerKey) -> Result<(), Error> {
    match key {
        CustomerKey::Phone(p) => CustomerKey::phone_number(*p).map(|_| ()),
        CustomerKey::Member(m) => CustomerKey::member(m.as_str()).map(|_| ()),
    }
}

/// Checks an attribute name: letters of any script, digits and `_`, not starting with a
/// digit, at most [`MAX_NAME_CHARS`] characters.
pub(crate) fn check_attr_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("a name must not be empty".to_string())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!("a name has at most {MAX_NAME_CHARS} characters"))
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        Some("an attribute name must not start with a digit".to_string())
    } else if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        Some("an attribute name has only letters, digits and '_'".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => err(invalid_name(name, reason)),
        None => Ok(()),
    }
}

impl std::fmt::Debug for Store {
    /// A summary (counts, never customers): a store of millions stays one line.
    ///
    /// ```
    /// let store = audience::Store::new();
    /// assert_eq!(
    ///     format!("{store:?}"),
    ///     "Store { customers: 0, id_space: 0, tags: 0, dimensions: 0, attributes: 0 }"
    /// );
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("customers", &self.customer_count())
            .field("id_space", &self.id_space())
            .field("tags", &self.tag_count())
            .field("dimensions", &self.dimensions().len())
            .field("attributes", &self.attributes().count())
            .finish()
    }
}

/// The column `values` (in id order, live ids by `live`) makes in place of `old`: built in
/// `old`'s own vectors when no clone of the store shares it, so that a column loaded again
/// writes into memory it already has.
fn rebuilt<T: attribute::Raw>(old: Arc<Column>, values: &[T], live: &[u64]) -> Column {
    match Arc::try_unwrap(old) {
        Ok(owned) => owned.replace_in_order(values, live),
        Err(shared) => Column::from_ids_in_order(values, live, &shared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_is_send_sync() {
        assert_send_sync::<Store>();
    }
}
