//! The taxonomy: tags, their names, dimensions and metadata, and the log of its changes.
//!
//! A tag belongs to one dimension (purchasing power, interests, stage, channel, activity or
//! any user-defined one). Names are unique within a dimension after folding (case, width,
//! surrounding and repeated whitespace: see folding rules in the crate docs), so
//! "VIP " and "vip" are one tag; the same name may exist in two dimensions, and is then
//! written `dimension:name` where it would be ambiguous.
//!
//! Every change is recorded in a log ([`LogEntry`]) with its day, actor and reason.

use crate::base::text::plural;
use std::collections::{HashMap, HashSet};
use std::fmt;

use smallvec::SmallVec;

use crate::base::fold::{
    LazyIndex, MAX_NAME_CHARS, MAX_TEXT_CHARS, check_name, check_separators, check_stored_name,
    fold, tidy,
};
use crate::day::Day;
use crate::error::{Error, ErrorKind, check_chars, err, invalid_name, quote};
use crate::store::policy::Policy;

pub use crate::store::policy::Edit;

/// Well-known dimension names. Any other name is a user-defined dimension.
pub mod dimensions {
    /// Purchasing power: high average order, mid budget, promotion sensitive...
    pub const PURCHASING_POWER: &str = "purchasing_power";
    /// Interests: cosmetics, 3C electronics, mother & baby...
    pub const INTERESTS: &str = "interests";
    /// Purchase stage: ordered, purchased, only enquired, abandoned cart...
    pub const STAGE: &str = "stage";
    /// Source channel: website, Instagram, offline store...
    pub const CHANNEL: &str = "channel";
    /// Interaction activity: active this week, silent over 30 days...
    pub const ACTIVITY: &str = "activity";
    /// The dimension of tags created without one.
    pub const GENERAL: &str = "general";
}

/// The id of a tag. Ids are handed out in creation order and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct TagId(pub(crate) u32);

impl TagId {
    /// A tag id from its number (e.g. one an app stored). It means something only to the
    /// store that handed it out; any other number is refused with
    /// [`ErrorKind::UnknownTagId`](crate::ErrorKind::UnknownTagId).
    pub fn from_u32(id: u32) -> TagId {
        TagId(id)
    }

    /// The id as a number (dense, from 0).
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// Static tags (age band 25-34) rarely change; dynamic tags (activity) are kept by rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TagKind {
    /// Assigned by people or imports; rarely changes.
    #[default]
    Static,
    /// Maintained by rules.
    Dynamic,
}

/// What to create: a name and optional metadata.
///
/// ```
/// use audience::{TagKind, TagSpec, dimensions};
///
/// let spec = TagSpec::new("new customer")
///     .dimension(dimensions::STAGE)
///     .kind(TagKind::Dynamic)
///     .ttl_days(60)
///     .description("removed 60 days after the first purchase");
/// assert_eq!(spec.name, "new customer");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagSpec {
    /// The displayed name (surrounding and repeated whitespace is tidied).
    pub name: String,
    /// The dimension; [`dimensions::GENERAL`] by default.
    pub dimension: String,
    /// Static or dynamic.
    pub kind: TagKind,
    /// Memberships expire this many days after assignment (see `Store::expire`).
    pub ttl_days: Option<u32>,
    /// Free text for people (at most [`MAX_TEXT_CHARS`](crate::MAX_TEXT_CHARS) characters).
    pub description: String,
}

impl TagSpec {
    /// A static tag in the general dimension, without time-to-live.
    pub fn new(name: impl Into<String>) -> TagSpec {
        TagSpec {
            name: name.into(),
            dimension: dimensions::GENERAL.to_string(),
            kind: TagKind::Static,
            ttl_days: None,
            description: String::new(),
        }
    }

    /// Sets the dimension.
    pub fn dimension(mut self, dimension: impl Into<String>) -> TagSpec {
        self.dimension = dimension.into();
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: TagKind) -> TagSpec {
        self.kind = kind;
        self
    }

    /// Sets the time-to-live in days.
    pub fn ttl_days(mut self, days: u32) -> TagSpec {
        self.ttl_days = Some(days);
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> TagSpec {
        self.description = text.into();
        self
    }
}

/// Everything the store knows about a tag except its members.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagInfo {
    /// The tag's id.
    pub id: TagId,
    /// The displayed name.
    pub name: String,
    /// The dimension's displayed name.
    pub dimension: String,
    /// Static or dynamic.
    pub kind: TagKind,
    /// Memberships expire this many days after assignment.
    pub ttl_days: Option<u32>,
    /// Free text for people.
    pub description: String,
    /// An archived tag keeps its members, takes no new ones and is refused in queries.
    pub archived: bool,
    /// The day it was created.
    pub created: Day,
    /// The last day it was used to select an audience (see `Store::record_use`).
    pub last_used: Option<Day>,
}

impl TagInfo {
    /// `dimension:name`, the unambiguous way to write the tag.
    pub fn qualified_name(&self) -> String {
        format!("{}:{}", self.dimension, self.name)
    }
}

/// A dimension and its colour (one colour per dimension: all channel tags blue...).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DimensionInfo {
    /// The displayed name.
    pub name: String,
    /// A colour for user interfaces, as the app spells it (`#1e90ff`, `blue`; at most
    /// [`MAX_NAME_CHARS`](crate::MAX_NAME_CHARS) characters).
    pub colour: Option<String>,
}

/// One change of the taxonomy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Change {
    /// A tag was created.
    Created {
        /// The new tag.
        tag: TagId,
        /// Its name.
        name: String,
        /// Its dimension.
        dimension: String,
    },
    /// A tag was renamed.
    Renamed {
        /// The tag.
        tag: TagId,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A tag was archived.
    Archived {
        /// The tag.
        tag: TagId,
        /// Its name.
        name: String,
    },
    /// A tag was taken out of the archive.
    Unarchived {
        /// The tag.
        tag: TagId,
        /// Its name.
        name: String,
    },
    /// A tag was deleted with all its memberships.
    Deleted {
        /// The tag.
        tag: TagId,
        /// Its name.
        name: String,
        /// How many customers carried it.
        members: u64,
    },
    /// Tag `from` was merged into `into`: `into` got its members, `from` disappeared.
    Merged {
        /// The tag that disappeared.
        from: TagId,
        /// Its name.
        from_name: String,
        /// The tag that got the members.
        into: TagId,
        /// Its name.
        into_name: String,
    },
    /// A tag's time-to-live changed.
    TtlChanged {
        /// The tag.
        tag: TagId,
        /// The old TTL.
        from: Option<u32>,
        /// The new TTL.
        to: Option<u32>,
    },
    /// A tag's description or kind changed.
    Described {
        /// The tag.
        tag: TagId,
    },
    /// A dimension's colour changed.
    Coloured {
        /// The dimension.
        dimension: String,
        /// The new colour.
        colour: Option<String>,
    },
    /// The policy (administrators, naming rules) was replaced.
    PolicyChanged {
        /// The new policy.
        policy: Policy,
    },
}

impl Change {
    /// Whether the change concerns `tag` (for a merge: either tag).
    pub fn mentions(&self, tag: TagId) -> bool {
        match self {
            Change::Created { tag: t, .. }
            | Change::Renamed { tag: t, .. }
            | Change::Archived { tag: t, .. }
            | Change::Unarchived { tag: t, .. }
            | Change::Deleted { tag: t, .. }
            | Change::TtlChanged { tag: t, .. }
            | Change::Described { tag: t } => *t == tag,
            Change::Merged { from, into, .. } => *from == tag || *into == tag,
            Change::Coloured { .. } | Change::PolicyChanged { .. } => false,
        }
    }
}

/// An entry of the taxonomy's change log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LogEntry {
    /// The day of the change.
    pub day: Day,
    /// Who made it.
    pub actor: String,
    /// What changed.
    pub change: Change,
    /// Why.
    pub reason: Option<String>,
}

/// Tags by id and by folded name, dimensions and the change log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Taxonomy {
    /// By id; `None` for a deleted or merged-away tag (ids are never reused).
    tags: Vec<Option<TagInfo>>,
    /// Folded name -> tags of that name (one per dimension).
    by_name: HashMap<String, SmallVec<[TagId; 1]>>,
    dimensions: Vec<DimensionInfo>,
    log: Vec<LogEntry>,
    /// Who may change the taxonomy and the naming rules (see `crate::governance`).
    policy: Policy,
    /// The did-you-mean index over the folded names, built on the first miss after a
    /// change of names.
    suggestions: LazyIndex,
}

/// The most tags a store holds (live or not), a guard against runaway creation.
pub const MAX_TAGS: usize = 1 << 20;

/// Errors when a tag's description is longer than [`MAX_TEXT_CHARS`].
fn check_description(description: &str) -> Result<(), Error> {
    check_chars(
        "tag description length in characters",
        description,
        MAX_TEXT_CHARS,
    )
}

impl Taxonomy {
    pub(crate) fn get(&self, id: TagId) -> Result<&TagInfo, Error> {
        match self.tags.get(id.0 as usize) {
            Some(Some(info)) => Ok(info),
            _ => err(ErrorKind::UnknownTagId { id: id.0 }),
        }
    }

    fn get_mut(&mut self, id: TagId) -> Result<&mut TagInfo, Error> {
        match self.tags.get_mut(id.0 as usize) {
            Some(Some(info)) => Ok(info),
            _ => err(ErrorKind::UnknownTagId { id: id.0 }),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &TagInfo> {
        self.tags.iter().flatten()
    }

    pub(crate) fn dimensions(&self) -> &[DimensionInfo] {
        &self.dimensions
    }

    /// Every tag slot by id, `None` for a deleted or merged-away tag.
    pub(crate) fn slots(&self) -> &[Option<TagInfo>] {
        &self.tags
    }

    /// Rebuilds a taxonomy from its parts, checking what the mutating calls guarantee:
    /// at most [`MAX_TAGS`] slots, each tag's id its slot, names and dimensions valid and
    /// tidy, each tag's dimension registered, dimension names unique after folding, tag
    /// names unique per dimension after folding, and every tag id in the log handed out.
    /// Returns the reason for refusing them.
    pub(crate) fn restore(
        tags: Vec<Option<TagInfo>>,
        dimensions: Vec<DimensionInfo>,
        log: Vec<LogEntry>,
    ) -> Result<Taxonomy, String> {
        if tags.len() > MAX_TAGS {
            return Err(format!(
                "{} tag ids exceed the limit of {MAX_TAGS}",
                tags.len()
            ));
        }
        let mut dim_keys: HashMap<String, usize> = HashMap::new();
        for (i, d) in dimensions.iter().enumerate() {
            if let Err(reason) = check_stored_name(&d.name) {
                return Err(format!("dimension {}: {reason}", quote(&d.name)));
            }
            if tidy(&d.name) != d.name || d.name.contains(':') {
                return Err(format!(
                    "dimension name {} is not in its stored form",
                    quote(&d.name)
                ));
            }
            if dim_keys.insert(fold(&d.name), i).is_some() {
                return Err(format!("dimension {} appears twice", quote(&d.name)));
            }
        }
        let dim_names: HashSet<&str> = dimensions.iter().map(|d| d.name.as_str()).collect();
        let mut seen: HashMap<(String, String), TagId> = HashMap::new();
        let mut by_name: HashMap<String, SmallVec<[TagId; 1]>> = HashMap::new();
        for (slot, info) in tags.iter().enumerate() {
            let Some(info) = info else { continue };
            if info.id.0 as usize != slot {
                return Err(format!("tag in slot {slot} has id {}", info.id.0));
            }
            if let Err(reason) = check_stored_name(&info.name) {
                return Err(format!("tag {}: {reason}", info.id.0));
            }
            if tidy(&info.name) != info.name {
                return Err(format!(
                    "tag {} name {} is not in its stored form",
                    info.id.0,
                    quote(&info.name)
                ));
            }
            if !dim_names.contains(info.dimension.as_str()) {
                return Err(format!(
                    "tag {} is in dimension {}, which is not registered",
                    info.id.0,
                    quote(&info.dimension)
                ));
            }
            let key = fold(&info.name);
            if let Some(other) = seen.insert((key.clone(), fold(&info.dimension)), info.id) {
                let first = tags
                    .get(other.0 as usize)
                    .and_then(|t| t.as_ref())
                    .map_or_else(String::new, |t| t.name.clone());
                return Err(format!(
                    "tags {} {} and {} {} are one name in dimension {} (names compare after \
                     Unicode normalisation and case folding): rename one with the version that wrote \
                     this snapshot, then load it here",
                    other.0,
                    quote(&first),
                    info.id.0,
                    quote(&info.name),
                    quote(&info.dimension)
                ));
            }
            by_name.entry(key).or_default().push(info.id);
        }
        for (i, entry) in log.iter().enumerate() {
            let ids: SmallVec<[TagId; 2]> = match &entry.change {
                Change::Created { tag, .. }
                | Change::Renamed { tag, .. }
                | Change::Archived { tag, .. }
                | Change::Unarchived { tag, .. }
                | Change::Deleted { tag, .. }
                | Change::TtlChanged { tag, .. }
                | Change::Described { tag } => smallvec::smallvec![*tag],
                Change::Merged { from, into, .. } => smallvec::smallvec![*from, *into],
                Change::Coloured { .. } | Change::PolicyChanged { .. } => SmallVec::new(),
            };
            if let Some(bad) = ids.iter().find(|t| t.0 as usize >= tags.len()) {
                return Err(format!(
                    "log entry {i} names tag {}, which was never created",
                    bad.0
                ));
            }
        }
        Ok(Taxonomy {
            tags,
            by_name,
            dimensions,
            log,
            policy: Policy::default(),
            suggestions: LazyIndex::default(),
        })
    }

    /// Puts back a loaded policy without logging it (its changes are in the loaded log).
    pub(crate) fn restore_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    pub(crate) fn log(&self) -> &[LogEntry] {
        &self.log
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the policy (the caller checked the actor and the policy) and logs it.
    pub(crate) fn set_policy(&mut self, edit: &Edit, policy: Policy) {
        self.policy = policy.clone();
        self.record(edit, Change::PolicyChanged { policy });
    }

    fn record(&mut self, edit: &Edit, change: Change) {
        self.log.push(LogEntry {
            day: edit.day,
            actor: edit.actor.clone(),
            change,
            reason: edit.reason.clone(),
        });
    }

    fn dimension_key(&self, dimension: &str) -> Option<&DimensionInfo> {
        let key = fold(dimension);
        self.dimensions.iter().find(|d| fold(&d.name) == key)
    }

    /// Checks a dimension name; returns the displayed name of an existing dimension, or
    /// `None` for a valid new one.
    fn check_dimension(&self, dimension: &str) -> Result<Option<String>, Error> {
        let dimension = tidy(dimension);
        check_name(&dimension).map_err(|reason| invalid_name(&dimension, reason))?;
        if let Some(d) = self.dimension_key(&dimension) {
            return Ok(Some(d.name.clone()));
        }
        if dimension.contains(':') {
            return err(ErrorKind::InvalidName {
                name: dimension,
                reason: "a dimension name must not contain ':'".into(),
            });
        }
        // New dimensions only: one an older snapshot brought keeps its name.
        check_separators(&dimension, "a dimension name")
            .map_err(|reason| invalid_name(&dimension, reason))?;
        Ok(None)
    }

    /// The displayed name of a dimension, registering it on first use.
    fn dimension_name(&mut self, dimension: &str) -> Result<String, Error> {
        if let Some(existing) = self.check_dimension(dimension)? {
            return Ok(existing);
        }
        let dimension = tidy(dimension);
        self.dimensions.push(DimensionInfo {
            name: dimension.clone(),
            colour: None,
        });
        Ok(dimension)
    }

    /// Checks a new tag name (created or renamed to): a name an older snapshot brought
    /// with a tag separator in it loads as it is (see [`crate::import::TAG_SEPARATORS`]), a new one is
    /// refused.
    fn check_tag_name(name: &str) -> Result<String, Error> {
        let name = tidy(name);
        check_name(&name).map_err(|reason| invalid_name(&name, reason))?;
        check_separators(&name, "a tag name").map_err(|reason| invalid_name(&name, reason))?;
        Ok(name)
    }

    fn clash(&self, name: &str, dimension: &str, except: Option<TagId>) -> Result<(), Error> {
        let key = fold(name);
        let dim_key = fold(dimension);
        if let Some(ids) = self.by_name.get(&key) {
            for &id in ids {
                let info = self.get(id)?;
                if Some(id) != except && fold(&info.dimension) == dim_key {
                    return err(ErrorKind::DuplicateTag {
                        name: name.to_string(),
                        existing: info.name.clone(),
                        dimension: info.dimension.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks, without changing anything, that `create(spec)` would succeed after
    /// `pending` other tags have been created. Returns the tag's displayed name.
    pub(crate) fn check_create(&self, spec: &TagSpec, pending: usize) -> Result<String, Error> {
        let name = Self::check_tag_name(&spec.name)?;
        check_description(&spec.description)?;
        let count = self.tags.len().saturating_add(pending);
        if count >= MAX_TAGS {
            return err(ErrorKind::LimitExceeded {
                what: "number of tags",
                limit: MAX_TAGS as u64,
                actual: count as u64 + 1,
            });
        }
        self.clash(&name, &tidy(&spec.dimension), None)?;
        self.check_dimension(&spec.dimension)?;
        Ok(name)
    }

    pub(crate) fn create(&mut self, edit: &Edit, spec: TagSpec) -> Result<TagId, Error> {
        // Validate everything before registering anything (the dimension included).
        let name = self.check_create(&spec, 0)?;
        let dimension = self.dimension_name(&spec.dimension)?;
        let id = TagId(self.tags.len() as u32);
        self.by_name.entry(fold(&name)).or_default().push(id);
        self.suggestions.clear();
        self.tags.push(Some(TagInfo {
            id,
            name: name.clone(),
            dimension: dimension.clone(),
            kind: spec.kind,
            ttl_days: spec.ttl_days,
            description: spec.description,
            archived: false,
            created: edit.day,
            last_used: None,
        }));
        self.record(
            edit,
            Change::Created {
                tag: id,
                name,
                dimension,
            },
        );
        Ok(id)
    }

    pub(crate) fn rename(&mut self, edit: &Edit, id: TagId, new_name: &str) -> Result<(), Error> {
        let name = Self::check_tag_name(new_name)?;
        let info = self.get(id)?;
        let dimension = info.dimension.clone();
        let old = info.name.clone();
        self.clash(&name, &dimension, Some(id))?;
        self.unindex(id, &old);
        self.by_name.entry(fold(&name)).or_default().push(id);
        self.suggestions.clear();
        self.get_mut(id)?.name = name.clone();
        self.record(
            edit,
            Change::Renamed {
                tag: id,
                from: old,
                to: name,
            },
        );
        Ok(())
    }

    fn unindex(&mut self, id: TagId, name: &str) {
        self.suggestions.clear();
        let key = fold(name);
        if let Some(ids) = self.by_name.get_mut(&key) {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.by_name.remove(&key);
            }
        }
    }

    pub(crate) fn set_archived(
        &mut self,
        edit: &Edit,
        id: TagId,
        archived: bool,
    ) -> Result<(), Error> {
        let info = self.get_mut(id)?;
        if info.archived == archived {
            return Ok(());
        }
        info.archived = archived;
        let name = info.name.clone();
        let change = if archived {
            Change::Archived { tag: id, name }
        } else {
            Change::Unarchived { tag: id, name }
        };
        self.record(edit, change);
        Ok(())
    }

    /// Removes the tag from the taxonomy (the caller drops its members).
    pub(crate) fn remove(
        &mut self,
        edit: &Edit,
        id: TagId,
        change: Change,
    ) -> Result<TagInfo, Error> {
        let name = self.get(id)?.name.clone();
        self.unindex(id, &name);
        let info = self
            .tags
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .ok_or(ErrorKind::UnknownTagId { id: id.0 })?;
        self.record(edit, change);
        Ok(info)
    }

    pub(crate) fn set_ttl(
        &mut self,
        edit: &Edit,
        id: TagId,
        ttl: Option<u32>,
    ) -> Result<(), Error> {
        let info = self.get_mut(id)?;
        let from = info.ttl_days;
        if from == ttl {
            return Ok(());
        }
        info.ttl_days = ttl;
        self.record(
            edit,
            Change::TtlChanged {
                tag: id,
                from,
                to: ttl,
            },
        );
        Ok(())
    }

    pub(crate) fn describe(
        &mut self,
        edit: &Edit,
        id: TagId,
        kind: TagKind,
        description: String,
    ) -> Result<(), Error> {
        check_description(&description)?;
        let info = self.get_mut(id)?;
        info.kind = kind;
        info.description = description;
        self.record(edit, Change::Described { tag: id });
        Ok(())
    }

    pub(crate) fn set_colour(
        &mut self,
        edit: &Edit,
        dimension: &str,
        colour: Option<String>,
    ) -> Result<(), Error> {
        if let Some(c) = &colour {
            check_chars("colour length in characters", c, MAX_NAME_CHARS)?;
        }
        let name = self.dimension_name(dimension)?;
        if let Some(d) = self.dimensions.iter_mut().find(|d| d.name == name) {
            d.colour = colour.clone();
        }
        self.record(
            edit,
            Change::Coloured {
                dimension: name,
                colour,
            },
        );
        Ok(())
    }

    pub(crate) fn record_use(&mut self, id: TagId, day: Day) -> Result<(), Error> {
        let info = self.get_mut(id)?;
        if info.last_used.is_none_or(|d| d < day) {
            info.last_used = Some(day);
        }
        Ok(())
    }

    /// Resolves a name, optionally qualified as `dimension:name` when the bare lookup fails.
    pub(crate) fn resolve(&self, name: &str) -> Result<TagId, Error> {
        match self.lookup(None, name) {
            Err(e) if matches!(e.kind(), ErrorKind::UnknownTag { .. }) => {
                if let Some((dim, rest)) = name.split_once(':')
                    && self.dimension_key(dim).is_some()
                {
                    return self.lookup(Some(dim), rest);
                }
                Err(e)
            }
            other => other,
        }
    }

    /// The tag name (as its creator spelled it) nearest to `name`, within `dimension` if
    /// given: a did-you-mean for a miss, at a bounded cost whatever the number of tags.
    fn suggest(&self, dimension: Option<&str>, name: &str) -> Option<String> {
        let index = self.suggestions.get(|| {
            let mut keys: Vec<(TagId, &str)> = self
                .by_name
                .iter()
                .filter_map(|(k, ids)| ids.iter().min().map(|id| (*id, k.as_str())))
                .collect();
            keys.sort_unstable();
            keys.into_iter().map(|(_, k)| k).collect()
        });
        let dk = dimension.map(fold);
        let in_dimension = |key: &str| -> Option<&TagInfo> {
            self.by_name.get(key)?.iter().find_map(|id| {
                self.get(*id)
                    .ok()
                    .filter(|t| dk.as_deref().is_none_or(|d| fold(&t.dimension) == d))
            })
        };
        let key = index.nearest(name, |key| in_dimension(key).is_some())?;
        // Within a dimension, the whole qualified name, as it must be typed.
        in_dimension(key).map(|t| match dimension {
            Some(_) => format!("{}:{}", t.dimension, t.name),
            None => t.name.clone(),
        })
    }

    /// Live tags (archived ones left out) whose folded name contains the folded `keyword`:
    /// names that start with it first (shortest first), then the others (earliest match,
    /// then shortest, first); at most `limit`.
    pub(crate) fn find(&self, keyword: &str, limit: usize) -> Vec<TagId> {
        let k = fold(keyword.trim());
        if k.is_empty() || limit == 0 {
            return Vec::new();
        }
        // Ordered by where the keyword starts and by length, both in characters (a name
        // of three Chinese characters is shorter than one of five Latin letters).
        let mut found: Vec<(usize, usize, &str, TagId)> = Vec::new();
        for (key, ids) in &self.by_name {
            let Some(at) = key.find(&k) else {
                continue;
            };
            let (at, len) = (
                key.get(..at).map_or(0, |s| s.chars().count()),
                key.chars().count(),
            );
            for id in ids {
                if self.get(*id).is_ok_and(|t| !t.archived) {
                    found.push((at, len, key.as_str(), *id));
                }
            }
        }
        found.sort_unstable();
        found.into_iter().take(limit).map(|(.., id)| id).collect()
    }

    /// The tag of a name within a dimension, or `None` (names are unique within one).
    pub(crate) fn find_in(&self, dimension: &str, name: &str) -> Option<TagId> {
        let dk = fold(dimension);
        self.by_name
            .get(&fold(name))?
            .iter()
            .copied()
            .find(|id| self.get(*id).is_ok_and(|t| fold(&t.dimension) == dk))
    }

    /// Resolves a name within a dimension (`Some`) or across all dimensions (`None`).
    pub(crate) fn lookup(&self, dimension: Option<&str>, name: &str) -> Result<TagId, Error> {
        let key = fold(name);
        let ids: &[TagId] = self.by_name.get(&key).map(|v| &v[..]).unwrap_or(&[]);
        let found: SmallVec<[TagId; 2]> = match dimension {
            Some(dim) => {
                let dk = fold(dim);
                ids.iter()
                    .copied()
                    .filter(|id| self.get(*id).is_ok_and(|t| fold(&t.dimension) == dk))
                    .collect()
            }
            None => ids.iter().copied().collect(),
        };
        match found.as_slice() {
            [one] => Ok(*one),
            [] => {
                let shown = match dimension {
                    Some(d) => format!("{d}:{name}"),
                    None => name.to_string(),
                };
                err(ErrorKind::UnknownTag {
                    name: shown,
                    suggestion: self.suggest(dimension, name),
                })
            }
            many => err(ErrorKind::AmbiguousTag {
                name: name.to_string(),
                dimensions: many
                    .iter()
                    .filter_map(|id| self.get(*id).ok().map(|t| t.dimension.clone()))
                    .collect(),
            }),
        }
    }
}

impl fmt::Display for Change {
    /// One line for people: `deleted "spring limited" (1,204 members)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Created {
                name, dimension, ..
            } => write!(f, "created \"{name}\" in dimension \"{dimension}\""),
            Change::Renamed { from, to, .. } => write!(f, "renamed \"{from}\" to \"{to}\""),
            Change::Archived { name, .. } => write!(f, "archived \"{name}\""),
            Change::Unarchived { name, .. } => write!(f, "took \"{name}\" out of the archive"),
            Change::Deleted { name, members, .. } => {
                let members = plural(*members, "member", "members");
                write!(f, "deleted \"{name}\" ({members})")
            }
            Change::Merged {
                from_name,
                into_name,
                ..
            } => write!(f, "merged \"{from_name}\" into \"{into_name}\""),
            Change::TtlChanged { tag, from, to } => {
                let days = |d: &Option<u32>| d.map_or("none".to_string(), |d| format!("{d} days"));
                write!(
                    f,
                    "changed the time-to-live of tag #{} from {} to {}",
                    tag.as_u32(),
                    days(from),
                    days(to)
                )
            }
            Change::Described { tag } => {
                write!(
                    f,
                    "changed the kind or description of tag #{}",
                    tag.as_u32()
                )
            }
            Change::Coloured {
                dimension,
                colour: Some(c),
            } => write!(f, "coloured dimension \"{dimension}\" {c}"),
            Change::Coloured { dimension, .. } => {
                write!(f, "cleared the colour of dimension \"{dimension}\"")
            }
            Change::PolicyChanged { policy } => {
                if policy.is_open() {
                    f.write_str("opened the taxonomy to everyone")?;
                } else {
                    write!(
                        f,
                        "made {} the administrators",
                        policy.administrators().join(", ")
                    )?;
                    if !policy.open_to_all().is_empty() {
                        let open: Vec<&str> =
                            policy.open_to_all().iter().map(|a| a.describe()).collect();
                        write!(f, " (anyone may {})", open.join(", "))?;
                    }
                }
                let n = policy.naming();
                let mut rules = Vec::new();
                if n.requires_dimension_prefix() {
                    rules.push("dimension prefix".to_string());
                }
                if let Some(max) = n.char_limit() {
                    rules.push(format!("at most {max} characters"));
                }
                if !n.forbidden_chars().is_empty() {
                    let chars: String = n.forbidden_chars().iter().collect();
                    rules.push(format!("none of {}", quote(&chars)));
                }
                if !rules.is_empty() {
                    write!(f, "; naming rules: {}", rules.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for LogEntry {
    /// `2025-03-01 somchai: deleted "winter sale" (0 members), because: season over`.
    ///
    /// ```
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let day = Day::from_ymd(2025, 3, 1)?;
    /// let mut store = Store::new();
    /// let t = store.create_tag(&Edit::new("mei", day), TagSpec::new("winter sale"))?;
    /// store.delete_tag(&Edit::new("mei", day).because("season over"), t)?;
    /// let lines: Vec<String> = store.change_log().iter().map(|e| e.to_string()).collect();
    /// assert_eq!(
    ///     lines,
    ///     [
    ///         "2025-03-01 mei: created \"winter sale\" in dimension \"general\"",
    ///         "2025-03-01 mei: deleted \"winter sale\" (0 members), because: season over",
    ///     ]
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.day, self.actor, self.change)?;
        if let Some(reason) = &self.reason {
            write!(f, ", because: {reason}")?;
        }
        Ok(())
    }
}

/// A tag and a number of customers: the row type of every per-tag count the crate reports
/// (a rule run's additions and removals, an audience's breakdown by dimension).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagCount {
    /// The tag.
    pub tag: TagId,
    /// Its name.
    pub name: String,
    /// How many customers.
    pub customers: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_of_tags_is_limited() {
        // The store test that fills the whole tag space is heavy (`--ignored`); this checks
        // the same limit through the count of tags still to create.
        let taxonomy = Taxonomy::default();
        let spec = TagSpec::new("one more");
        assert!(taxonomy.check_create(&spec, MAX_TAGS - 1).is_ok());
        assert_eq!(
            taxonomy
                .check_create(&spec, MAX_TAGS)
                .unwrap_err()
                .to_string(),
            "number of tags exceeds the limit of 1048576 (got 1048577)"
        );
    }
}
