//! The store: customers, taxonomy, tag memberships and attributes in one value.

pub(crate) mod attribute;
pub(crate) mod directory;
mod governance;
pub(crate) mod membership;
pub mod policy;
pub(crate) mod taxonomy;

use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::base::fold::{MAX_NAME_CHARS, fold, suggest};
use crate::day::Day;
use crate::error::{Error, ErrorKind, err, invalid_name};
use crate::store::attribute::{AttrId, AttrInfo, AttrKind, AttrSlot, Column, Value};
use crate::store::directory::{CustomerId, CustomerKey, Directory, KeyRef};
use crate::store::membership::{TagMembers, bitmap_bytes};
use crate::store::policy::{TaxonomyAction, require_reason};
use crate::store::taxonomy::{
    Change, DimensionInfo, Edit, LogEntry, TagId, TagInfo, TagKind, TagSpec, Taxonomy,
};

/// The most attributes a store holds.
pub const MAX_ATTRIBUTES: usize = 4096;

/// Customers, their tags and attributes: the whole state of one shop.
///
/// Every set of customers is a [`RoaringBitmap`] of dense [`CustomerId`]s. Cloning a store is
/// cheap (O(tags + attributes) reference counts): tag bitmaps, attribute columns and the
/// directory sit behind `Arc` and are copied only when one of the clones writes to them.
/// Hand clones to readers while a writer applies a batch. The store is `Send + Sync`.
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
    /// Tag bitmaps and assignment-day buckets.
    pub memberships: u64,
    /// Attribute columns and their bit-sliced indexes.
    pub attributes: u64,
    /// The universe bitmap.
    pub universe: u64,
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
        Ok((id, true))
    }

    /// Registers many customers at once (existing keys are looked up, not duplicated) and
    /// returns their ids in input order. All keys are validated first: on error nothing
    /// changed.
    pub fn ensure_customers(
        &mut self,
        keys: impl IntoIterator<Item = CustomerKey>,
    ) -> Result<Vec<CustomerId>, Error> {
        let keys: Vec<CustomerKey> = keys.into_iter().collect();
        for k in &keys {
            validate_key(k)?;
        }
        let handed_out = self.directory.next_id();
        if handed_out + keys.len() as u64 > u64::from(u32::MAX) {
            return err(ErrorKind::IdSpaceExhausted(handed_out));
        }
        let dir = Arc::make_mut(&mut self.directory);
        dir.reserve(keys.len());
        let mut ids = Vec::with_capacity(keys.len());
        let mut fresh = Vec::new();
        for k in keys {
            match dir.insert(k)? {
                Ok(id) => {
                    fresh.push(id);
                    ids.push(id);
                }
                Err(id) => ids.push(id),
            }
        }
        Arc::make_mut(&mut self.live)
            .append(fresh)
            .map_err(|_| ErrorKind::InvalidArgument("customer ids out of order".into()))?;
        Ok(ids)
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

    /// The number of live customers.
    pub fn customer_count(&self) -> u64 {
        self.live.len()
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
    /// [`Extras::forget`](crate::Extras::forget) (send logs; a snapshot whose extras still
    /// hold the id is refused), [`RfmScores::forget`](crate::RfmScores::forget) for scores
    /// kept in memory, and recompute any `Assignment` or `Split` the app kept (they are
    /// results of a run, and the next run leaves the customer out). Snapshots and exports
    /// written before the erasure still hold the customer: replace them.
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
        let id = Arc::make_mut(&mut self.taxonomy).create(edit, spec)?;
        if self.members.len() <= id.0 as usize {
            self.members
                .resize_with(id.0 as usize + 1, TagMembers::default);
        }
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
        Arc::make_mut(&mut self.taxonomy).rename(edit, tag, new_name)
    }

    /// Archives a tag: it keeps its members but takes no new ones and is refused in queries.
    pub fn archive_tag(&mut self, edit: &Edit, tag: TagId) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Archive)?;
        Arc::make_mut(&mut self.taxonomy).set_archived(edit, tag, true)
    }

    /// Takes a tag out of the archive.
    pub fn unarchive_tag(&mut self, edit: &Edit, tag: TagId) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::Archive)?;
        Arc::make_mut(&mut self.taxonomy).set_archived(edit, tag, false)
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
        Ok(gained)
    }

    /// Sets or clears a tag's time-to-live in days.
    pub fn set_ttl(&mut self, edit: &Edit, tag: TagId, ttl_days: Option<u32>) -> Result<(), Error> {
        self.govern(edit, TaxonomyAction::ChangeTtl)?;
        Arc::make_mut(&mut self.taxonomy).set_ttl(edit, tag, ttl_days)
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
        Arc::make_mut(&mut self.taxonomy).describe(edit, tag, kind, description.into())
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
        Arc::make_mut(&mut self.taxonomy).set_colour(edit, dimension, colour)
    }

    /// Records that `tag` was used to select an audience on `day` (feeds the health
    /// report's silent-tag flag). Earlier days than the last recorded one are ignored.
    pub fn record_use(&mut self, tag: TagId, day: Day) -> Result<(), Error> {
        Arc::make_mut(&mut self.taxonomy).record_use(tag, day)
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

    pub(crate) fn taxonomy_mut(&mut self) -> &mut Taxonomy {
        Arc::make_mut(&mut self.taxonomy)
    }

    // ----------------------------------------------------------------------------------
    // Memberships
    // ----------------------------------------------------------------------------------

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
        Ok(())
    }

    /// Takes the tag from `customer`. Returns whether the customer had it.
    pub fn remove_tag(&mut self, customer: CustomerId, tag: TagId) -> Result<bool, Error> {
        self.check_live(customer)?;
        self.member_slot(tag)?;
        Ok(self
            .members
            .get_mut(tag.0 as usize)
            .is_some_and(|m| m.remove_one(customer)))
    }

    /// Gives every customer of `set` the tag, assigned on `day` (re-assigning refreshes the
    /// day). Every id must be a live customer, or nothing changes.
    pub fn add_tag_bulk(&mut self, tag: TagId, set: &RoaringBitmap, day: Day) -> Result<(), Error> {
        self.check_live_set(set)?;
        self.writable_slot(tag)?.add_many(set, day);
        Ok(())
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
        self.writable_slot(tag)?.add_many_owned(set, day);
        Ok(())
    }

    /// Takes the tag from every customer of `set`. Returns how many had it.
    pub fn remove_tag_bulk(&mut self, tag: TagId, set: &RoaringBitmap) -> Result<u64, Error> {
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
        let removed = self.remove_tag_bulk(from, set)?;
        let slot = self.writable_slot(to)?;
        slot.add_many(set, day);
        let gained = slot.len() - before;
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
        out
    }

    // ----------------------------------------------------------------------------------
    // Attributes
    // ----------------------------------------------------------------------------------

    /// Defines a numeric attribute. Names are letters of any script, digits and `_`, not
    /// starting with a digit, compared case-insensitively.
    pub fn define_attribute(&mut self, name: &str, kind: AttrKind) -> Result<AttrId, Error> {
        check_attr_name(name)?;
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

    fn check_kind(&self, attr: AttrId, value: Value) -> Result<(), Error> {
        let info = &self.slot(attr)?.info;
        if info.kind != value.kind() {
            return err(ErrorKind::AttributeType {
                attribute: info.name.clone(),
                expected: info.kind.noun(),
                found: value.kind().noun(),
            });
        }
        Ok(())
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
        self.check_kind(attr, value)?;
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        Arc::make_mut(&mut slot.column).set(customer, value.raw());
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
                "{} customers but {} values",
                customers.len(),
                values.len()
            )));
        }
        for &c in customers {
            self.check_live(c)?;
        }
        for &v in values {
            self.check_kind(attr, v)?;
        }
        let raw: Vec<i64> = values.iter().map(|v| v.raw()).collect();
        let slot = self
            .attrs
            .get_mut(attr.0 as usize)
            .ok_or(ErrorKind::InvalidArgument("attribute".into()))?;
        Arc::make_mut(&mut slot.column).set_many(customers, &raw);
        Ok(())
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
        Ok(Arc::make_mut(&mut slot.column).clear(customer))
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
        self.check_kind(attr, lo)?;
        self.check_kind(attr, hi)?;
        Ok(self.column(attr)?.range(lo.raw(), hi.raw(), None))
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
    ) -> Store {
        Store {
            directory: Arc::new(directory),
            taxonomy: Arc::new(taxonomy),
            members,
            attrs,
            live: Arc::new(live),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_is_send_sync() {
        assert_send_sync::<Store>();
    }
}
