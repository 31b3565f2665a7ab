//! Tiers from a numeric attribute, groups written to tags, and migration matrices.
//!
//! - An [`Assignment`] is a list of named, disjoint groups of customers: tiers (S, A, B,
//!   C), RFM segments, RFM scores, or the tags of a dimension.
//! - [`Tiers`] cuts a numeric attribute (a lead score, a spend) at thresholds into named
//!   tiers, `S >= 80, A >= 60, B >= 40, C` for the rest, and [`Tiers::apply`] writes them
//!   to tags so they compose with everything else (`tier:S AND interest/cosmetics`).
//! - [`Assignment::write`](crate::Assignment::write) writes any assignment to tags of one dimension, atomically:
//!   customers in scope end up carrying exactly the tag of their group, re-running moves
//!   customers between tags, and customers who stay keep their assignment day.
//! - [`Migration::between`] counts customers moving between the groups of two assignments
//!   (last week's tiers and this week's, possibly read from two snapshots of the store), with
//!   rates, arrivals and departures: B2B follow-up guides' "8-10% of B should move up to A each week".
//!
//! ```
//! use audience::{AttrKind, CustomerKey, Day, Edit, Migration, Store, Tiers};
//!
//! let monday = Day::from_ymd(2025, 3, 3)?;
//! let mut store = Store::new();
//! let score = store.define_attribute("lead_score", AttrKind::Int)?;
//! for (i, s) in [95, 70, 45, 45, 10].into_iter().enumerate() {
//!     let c = store.add_customer(CustomerKey::member(format!("lead{i}"))?)?;
//!     store.set_value(c, score, s)?;
//! }
//! let tiers = Tiers::new("lead_score", "tier").tier("S", 80)?.tier("A", 60)?.tier("B", 40)?.rest("C")?;
//! let report = tiers.apply(&mut store, &Edit::new("crm", monday))?;
//! assert_eq!(report.groups.iter().map(|g| g.members).collect::<Vec<_>>(), vec![1, 1, 2, 1]);
//!
//! // A week later lead 2 replied quickly and moved up.
//! let last_week = store.clone();
//! store.set_value(2, score, 65)?;
//! tiers.apply(&mut store, &Edit::new("crm", monday + 7))?;
//! let moves = Migration::between(&tiers.current(&last_week)?, &tiers.current(&store)?);
//! assert_eq!(moves.count("B", "A"), Some(1));
//! assert_eq!(moves.rate("B", "A"), Some(0.5));
//! # Ok::<(), audience::Error>(())
//! ```

use std::fmt;

use roaring::{MultiOps, RoaringBitmap};

use crate::base::fold::{check_name, check_stored_name, first_repeat, fold, tidy};
use crate::base::text::{counted, quote, thousands};
use crate::error::{Error, ErrorKind, err, invalid_name};
use crate::store::Store;
use crate::store::attribute::AttrKind;
use crate::store::taxonomy::{Edit, TagId, TagKind, TagSpec};

/// The most groups an [`Assignment`], a [`Tiers`] definition or a campaign split may have.
pub const MAX_GROUPS: usize = 256;

/// Named, disjoint groups of customers, in order: the input of [`Assignment::write`](crate::Assignment::write) and
/// [`Migration::between`].
///
/// ```
/// use audience::{Assignment, RoaringBitmap};
///
/// let a = Assignment::new(vec![
///     ("A".to_string(), RoaringBitmap::from_iter([1, 2])),
///     ("B".to_string(), RoaringBitmap::from_iter([3])),
/// ])?;
/// assert_eq!(a.group_of(3), Some("B"));
/// let err = Assignment::new(vec![
///     ("A".to_string(), RoaringBitmap::from_iter([1, 2])),
///     ("B".to_string(), RoaringBitmap::from_iter([2, 3])),
/// ])
/// .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "groups \"A\" and \"B\" share 1 customer(s) (e.g. id 2); a customer can be in one group only"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Assignment {
    groups: Vec<(String, RoaringBitmap)>,
}

impl Assignment {
    /// Groups from `(name, customers)` pairs. Names must be distinct (compared as tag
    /// names are) and groups disjoint.
    pub fn new(groups: Vec<(String, RoaringBitmap)>) -> Result<Assignment, Error> {
        if groups.len() > MAX_GROUPS {
            return err(ErrorKind::LimitExceeded {
                what: "number of groups",
                limit: MAX_GROUPS as u64,
                actual: groups.len() as u64,
            });
        }
        if let Some((name, _)) =
            first_repeat(groups.iter().map(|(n, _)| n.as_str())).and_then(|i| groups.get(i))
        {
            return err(ErrorKind::InvalidArgument(format!(
                "group {} is named twice",
                quote(name)
            )));
        }
        let mut seen = RoaringBitmap::new();
        for (i, (name, bits)) in groups.iter().enumerate() {
            if !seen.is_disjoint(bits)
                && let Some((first, shared)) = groups
                    .iter()
                    .take(i)
                    .map(|(n, b)| (n, b & bits))
                    .find(|(_, s)| !s.is_empty())
            {
                return err(ErrorKind::OverlappingGroups {
                    first: first.clone(),
                    second: name.clone(),
                    shared: shared.len(),
                    example: shared.min().unwrap_or(0),
                });
            }
            seen |= bits;
        }
        Ok(Assignment { groups })
    }

    /// Groups known to be disjoint with distinct names.
    pub(crate) fn from_disjoint(groups: Vec<(String, RoaringBitmap)>) -> Assignment {
        Assignment { groups }
    }

    /// The tags of `tags`, one group per tag named after it. Errors when two of them share
    /// customers.
    pub fn from_tags(store: &Store, tags: &[TagId]) -> Result<Assignment, Error> {
        let mut groups = Vec::with_capacity(tags.len());
        for &t in tags {
            groups.push((store.tag(t)?.name.clone(), store.members(t)?.clone()));
        }
        Assignment::new(groups)
    }

    /// The groups in order, with their customers.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &RoaringBitmap)> {
        self.groups.iter().map(|(n, b)| (n.as_str(), b))
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The customers of a group (names compared as tag names are).
    pub fn group(&self, name: &str) -> Option<&RoaringBitmap> {
        self.position(name)
            .and_then(|i| self.groups.get(i))
            .map(|g| &g.1)
    }

    /// The group of a customer.
    pub fn group_of(&self, customer: u32) -> Option<&str> {
        self.groups
            .iter()
            .find(|(_, b)| b.contains(customer))
            .map(|(n, _)| n.as_str())
    }

    /// Removes erased customers from every group ("forget me" for an assignment the app
    /// keeps, such as last month's tiers kept for a migration matrix). The groups stay
    /// disjoint; a group left empty keeps its place, so group positions do not move.
    ///
    /// ```
    /// use audience::RoaringBitmap;
    /// use audience::tiers::Assignment;
    ///
    /// let mut a = Assignment::new(vec![
    ///     ("gold".into(), RoaringBitmap::from([1, 2])),
    ///     ("silver".into(), RoaringBitmap::from([3])),
    /// ])?;
    /// a.forget(&RoaringBitmap::from([2, 3]));
    /// assert_eq!(a.group("gold"), Some(&RoaringBitmap::from([1])));
    /// assert!(a.group("silver").unwrap().is_empty());
    /// assert_eq!(a.group_of(2), None);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn forget(&mut self, customers: &RoaringBitmap) {
        for (_, b) in &mut self.groups {
            *b -= customers;
        }
    }

    /// Every customer in some group.
    pub fn assigned(&self) -> RoaringBitmap {
        self.groups.iter().map(|(_, b)| b).union()
    }

    fn position(&self, name: &str) -> Option<usize> {
        let key = fold(name);
        self.groups.iter().position(|(n, _)| fold(n) == key)
    }
}

// ----------------------------------------------------------------------------------------
// Writing groups to tags
// ----------------------------------------------------------------------------------------

/// What [`Assignment::write`](crate::Assignment::write) did to one group's tag.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupChange {
    /// The group's name (the tag's name).
    pub name: String,
    /// The tag.
    pub tag: TagId,
    /// Whether the tag was created by this write.
    pub created: bool,
    /// Members after the write.
    pub members: u64,
    /// Customers who got the tag.
    pub arrived: u64,
    /// Customers in scope who lost it.
    pub left: u64,
}

/// What [`Assignment::write`](crate::Assignment::write) (or [`Tiers::apply`]) changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupWrite {
    /// One entry per group, in the assignment's order.
    pub groups: Vec<GroupChange>,
    /// Customers in scope left in no group (and so without any of the groups' tags).
    pub ungrouped: u64,
}

impl fmt::Display for GroupWrite {
    /// One line per group, then the customers left in no group when there are some:
    ///
    /// ```text
    /// "S": 120 members (5 arrived, 3 left)
    /// "A": 40 members (40 arrived, 0 left; tag created)
    /// 14 customers in no group
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}: {} ({} arrived, {} left{})",
                quote(&g.name),
                counted(g.members, "member", "members"),
                thousands(g.arrived),
                thousands(g.left),
                if g.created { "; tag created" } else { "" }
            )?;
        }
        if self.ungrouped > 0 {
            if !self.groups.is_empty() {
                writeln!(f)?;
            }
            write!(
                f,
                "{} in no group",
                counted(self.ungrouped, "customer", "customers")
            )?;
        }
        Ok(())
    }
}

impl Assignment {
    /// Writes `assignment` to tags of `dimension`: one tag per group, named after it,
    /// created on demand (a dynamic tag, logged with `edit`). Afterwards every customer of
    /// `scope` or of a group carries exactly its group's tag and none of the others';
    /// customers outside them are untouched. Customers who keep their group keep their
    /// assignment day; arrivals are assigned on `edit.day`. Other tags of the dimension are
    /// left alone.
    ///
    /// Atomic: every name, tag and customer is checked first; on error nothing changed.
    /// Errors when a group's tag exists but is archived, when a name is not a valid tag
    /// name, or when a customer is not live.
    ///
    /// ```
    /// use audience::{Assignment, CustomerKey, Day, Edit, RoaringBitmap, Store};
    ///
    /// let day = Day::from_ymd(2025, 3, 3)?;
    /// let mut store = Store::new();
    /// for i in 0..4 {
    ///     store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
    /// }
    /// let groups = Assignment::new(vec![
    ///     ("gold".to_string(), RoaringBitmap::from_iter([0, 1])),
    ///     ("silver".to_string(), RoaringBitmap::from_iter([2])),
    /// ])?;
    /// let everyone = store.customers().clone();
    /// let report = groups.write(&mut store, &Edit::new("crm", day), "level", &everyone)?;
    /// assert_eq!(report.ungrouped, 1);
    /// assert_eq!(store.members(store.tag_id("level:gold")?)?.len(), 2);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn write(
        &self,
        store: &mut Store,
        edit: &Edit,
        dimension: &str,
        scope: &RoaringBitmap,
    ) -> Result<GroupWrite, Error> {
        let assignment = self;
        let assigned = assignment.assigned();
        let mut scope = scope | &assigned;
        if !scope.is_subset(store.customers()) {
            let first = (&scope - store.customers()).min().unwrap_or(0);
            return err(ErrorKind::UnknownCustomerId { id: first });
        }
        let dim = tidy(dimension);
        check_name(&dim).map_err(|reason| invalid_name(dimension, reason))?;
        // Resolve or plan every tag before changing anything: a tag to create is checked
        // as its creation will check it (policy, naming rules, room for it), so nothing
        // below fails.
        let mut plan: Vec<Option<TagId>> = Vec::with_capacity(assignment.len());
        let mut pending = 0;
        for (name, _) in assignment.groups() {
            match store.find_tag_in(&dim, name) {
                Some(id) => {
                    let info = store.tag(id)?;
                    if info.archived {
                        return err(ErrorKind::ArchivedTag {
                            name: info.name.clone(),
                        });
                    }
                    plan.push(Some(id));
                }
                None => {
                    check_name(&tidy(name)).map_err(|reason| invalid_name(name, reason))?;
                    store.check_new_tag(edit, &group_spec(name, &dim), pending)?;
                    pending += 1;
                    plan.push(None);
                }
            }
        }
        // One unit in the journal.
        let groups = store.batch(|next| {
            let mut tags = Vec::with_capacity(plan.len());
            for ((name, _), id) in assignment.groups().zip(&plan) {
                let (id, created) = match id {
                    Some(id) => (*id, false),
                    None => (next.create_tag(edit, group_spec(name, &dim))?, true),
                };
                tags.push((id, created));
            }
            let mut groups = Vec::with_capacity(tags.len());
            for ((_, bits), (tag, created)) in assignment.groups().zip(tags) {
                let current = next.members(tag)?;
                let mut leave = current & &scope;
                leave -= bits;
                let arrive = bits - current;
                let left = next.remove_tag_bulk(tag, &leave)?;
                next.add_tag_bulk(tag, &arrive, edit.day)?;
                groups.push(GroupChange {
                    name: next.tag(tag)?.name.clone(),
                    tag,
                    created,
                    members: next.members(tag)?.len(),
                    arrived: arrive.len(),
                    left,
                });
            }
            Ok(groups)
        })?;
        scope -= assigned;
        Ok(GroupWrite {
            groups,
            ungrouped: scope.len(),
        })
    }
}

/// The tag a group is written to: a dynamic tag of the dimension.
fn group_spec(name: &str, dimension: &str) -> TagSpec {
    TagSpec::new(name)
        .dimension(dimension)
        .kind(TagKind::Dynamic)
}

// ----------------------------------------------------------------------------------------
// Tiers
// ----------------------------------------------------------------------------------------

/// One tier: a name and the lowest value it takes (`None`: everything below the tier
/// before it; only the last tier may say so).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tier {
    /// The tier's name, also its tag's name.
    pub name: String,
    /// The lowest value of the tier (inclusive); `None` for "everything lower".
    pub at_least: Option<i64>,
}

/// Named tiers of a number attribute, from the highest down, written to tags of one
/// dimension: `S >= 80, A >= 60, B >= 40, C` for the rest. Plain data (serde).
///
/// Tier `i` takes the values from its `at_least` up to just below the `at_least` of the tier
/// before it (the first tier has no upper bound). A customer without a value, or below the
/// last threshold when there is no catch-all tier, is in no tier.
///
/// Each tier is checked when it is added: a name that is not valid or repeats another,
/// a threshold that does not decrease, a tier after the catch-all or more than
/// [`MAX_GROUPS`] tiers are refused with [`ErrorKind::InvalidSetting`].
///
/// ```
/// use audience::Tiers;
///
/// let leads = Tiers::new("lead_score", "tier").tier("S", 80)?.tier("A", 60)?.rest("C")?;
/// assert_eq!(leads.tiers().len(), 3);
/// assert_eq!(
///     Tiers::new("lead_score", "tier").tier("S", 80)?.tier("A", 90).unwrap_err().to_string(),
///     "invalid setting Tiers::tier: thresholds must decrease from the first tier down, \
///      but \"A\" (>= 90) follows \"S\" (>= 80)"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawTiers"))]
pub struct Tiers {
    pub(crate) attribute: String,
    pub(crate) dimension: String,
    pub(crate) tiers: Vec<Tier>,
}

/// The serialised form of [`Tiers`], checked on the way in by the same setters.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawTiers {
    attribute: String,
    dimension: String,
    tiers: Vec<Tier>,
}

#[cfg(feature = "serde")]
impl TryFrom<RawTiers> for Tiers {
    type Error = Error;
    fn try_from(raw: RawTiers) -> Result<Tiers, Error> {
        let mut tiers = Tiers::new(raw.attribute, raw.dimension);
        for t in raw.tiers {
            tiers = match t.at_least {
                Some(v) => tiers.tier(t.name, v)?,
                None => tiers.rest(t.name)?,
            };
        }
        Ok(tiers)
    }
}

/// What is wrong with a list of tiers, the emptiness aside; `check` is the name check (the full one,
/// or the one names read from an older snapshot pass).
fn tier_list_problem(tiers: &[Tier], check: fn(&str) -> Result<(), String>) -> Option<String> {
    if tiers.len() > MAX_GROUPS {
        return Some(format!("give 1 to {MAX_GROUPS} tiers, got {}", tiers.len()));
    }
    let twice = first_repeat(tiers.iter().map(|t| t.name.as_str()));
    let mut prev: Option<(&str, i64)> = None;
    for (i, t) in tiers.iter().enumerate() {
        if let Err(reason) = check(&tidy(&t.name)) {
            return Some(format!("tier name {}: {reason}", quote(&t.name)));
        }
        if twice == Some(i) {
            return Some(format!("tier {} is named twice", quote(&t.name)));
        }
        match t.at_least {
            None if i + 1 < tiers.len() => {
                return Some(format!(
                    "only the last tier may take everything lower, not {}",
                    quote(&t.name)
                ));
            }
            None => {}
            Some(v) => {
                if let Some((p, pv)) = prev
                    && v >= pv
                {
                    return Some(format!(
                        "thresholds must decrease from the first tier down, but {} (>= {v}) \
                         follows {} (>= {pv})",
                        quote(&t.name),
                        quote(p)
                    ));
                }
                prev = Some((t.name.as_str(), v));
            }
        }
    }
    None
}

impl Tiers {
    /// No tiers yet over `attribute`, written to tags of `dimension`.
    pub fn new(attribute: impl Into<String>, dimension: impl Into<String>) -> Tiers {
        Tiers {
            attribute: attribute.into(),
            dimension: dimension.into(),
            tiers: Vec::new(),
        }
    }

    /// Adds the next (lower) tier: values `>= at_least`.
    pub fn tier(self, name: impl Into<String>, at_least: i64) -> Result<Tiers, Error> {
        self.push("Tiers::tier", name.into(), Some(at_least))
    }

    /// Adds the last tier: every value below the tier before it.
    pub fn rest(self, name: impl Into<String>) -> Result<Tiers, Error> {
        self.push("Tiers::rest", name.into(), None)
    }

    fn push(
        mut self,
        setting: &'static str,
        name: String,
        at_least: Option<i64>,
    ) -> Result<Tiers, Error> {
        self.tiers.push(Tier { name, at_least });
        match tier_list_problem(&self.tiers, check_name) {
            None => Ok(self),
            Some(reason) => err(ErrorKind::InvalidSetting { setting, reason }),
        }
    }

    /// The number attribute: a lead score, a spend...
    pub fn attribute(&self) -> &str {
        &self.attribute
    }

    /// The dimension of the tier tags.
    pub fn dimension(&self) -> &str {
        &self.dimension
    }

    /// The tiers, highest first.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// Checks a definition that did not come through the setters (a snapshot's): 1 to
    /// [`MAX_GROUPS`] tiers with valid, distinct names, thresholds strictly decreasing, only
    /// the last without one.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.validate_with(check_name)
    }

    /// [`Tiers::validate`] with the name checks of an older snapshot: tier names written
    /// before invisible characters were refused still load (using them refuses them).
    pub(crate) fn validate_stored(&self) -> Result<(), Error> {
        self.validate_with(check_stored_name)
    }

    fn validate_with(&self, check: fn(&str) -> Result<(), String>) -> Result<(), Error> {
        let problem = if self.tiers.is_empty() {
            Some(format!("give 1 to {MAX_GROUPS} tiers, got 0"))
        } else {
            tier_list_problem(&self.tiers, check)
        };
        match problem {
            None => Ok(()),
            Some(reason) => err(ErrorKind::InvalidBuckets {
                what: format!("tiers of {}", self.attribute),
                reason,
            }),
        }
    }

    /// The tier of every live customer from the store's current values. Bitmap range
    /// scans: no per-customer loop.
    pub fn assign(&self, store: &Store) -> Result<Assignment, Error> {
        self.assign_in(store, None)
    }

    /// [`Tiers::assign`] for the customers of `within` only.
    pub fn assign_within(
        &self,
        store: &Store,
        within: &RoaringBitmap,
    ) -> Result<Assignment, Error> {
        self.assign_in(store, Some(within))
    }

    fn assign_in(
        &self,
        store: &Store,
        within: Option<&RoaringBitmap>,
    ) -> Result<Assignment, Error> {
        self.validate()?;
        let id = store.setting_attribute("Tiers::new", &self.attribute, AttrKind::Int)?;
        let col = store.column(id)?;
        let live = store.customers();
        let scope = match within {
            Some(w) => w & live,
            None => live.clone(),
        };
        // Validated: thresholds decrease strictly, so each tier's range is not empty.
        let mut groups = Vec::with_capacity(self.tiers.len());
        let mut hi = i64::MAX;
        for t in &self.tiers {
            let lo = t.at_least.unwrap_or(i64::MIN);
            groups.push((t.name.clone(), col.range(lo, hi, Some(&scope))));
            match lo.checked_sub(1) {
                Some(h) => hi = h,
                None => break,
            }
        }
        Ok(Assignment::from_disjoint(groups))
    }

    /// The tiers as the store's tags say now (a tier whose tag does not exist yet is an
    /// empty group). Read it before and after [`Tiers::apply`], or from two snapshots, to
    /// build a [`Migration`].
    pub fn current(&self, store: &Store) -> Result<Assignment, Error> {
        self.validate()?;
        let mut groups = Vec::with_capacity(self.tiers.len());
        for t in &self.tiers {
            let bits = match store.find_tag_in(&self.dimension, &t.name) {
                Some(id) => store.members(id)?.clone(),
                None => RoaringBitmap::new(),
            };
            groups.push((t.name.clone(), bits));
        }
        Assignment::new(groups)
    }

    /// Computes the tiers of every live customer and writes them to tags of the dimension
    /// ([`Assignment::write`](crate::Assignment::write)): customers move between tier tags,
    /// a customer in no tier loses them all. Atomic.
    pub fn apply(&self, store: &mut Store, edit: &Edit) -> Result<GroupWrite, Error> {
        self.apply_in(store, edit, None)
    }

    /// [`Tiers::apply`] for the customers of `within` only: the others keep their tags.
    pub fn apply_within(
        &self,
        store: &mut Store,
        edit: &Edit,
        within: &RoaringBitmap,
    ) -> Result<GroupWrite, Error> {
        self.apply_in(store, edit, Some(within))
    }

    fn apply_in(
        &self,
        store: &mut Store,
        edit: &Edit,
        within: Option<&RoaringBitmap>,
    ) -> Result<GroupWrite, Error> {
        let assignment = self.assign_in(store, within)?;
        let scope = match within {
            Some(w) => w & store.customers(),
            None => store.customers().clone(),
        };
        assignment.write(store, edit, &self.dimension, &scope)
    }
}

// ----------------------------------------------------------------------------------------
// Migration
// ----------------------------------------------------------------------------------------

/// Customers moving between the groups of two assignments, compared by customer id (so
/// both must come from one store, or from a store and a later copy or snapshot of it:
/// ids are never reused).
///
/// Rows are the earlier assignment's groups, columns the later one's. A customer in a
/// group of the later assignment only is an arrival; one in the earlier only is a
/// departure. Rates are shares of the earlier group's size.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Migration {
    /// The earlier groups (rows).
    pub from: Vec<String>,
    /// The later groups (columns).
    pub to: Vec<String>,
    /// Size of each earlier group.
    pub from_sizes: Vec<u64>,
    /// Size of each later group.
    pub to_sizes: Vec<u64>,
    /// `counts[i][j]`: customers in earlier group `i` and later group `j`.
    pub counts: Vec<Vec<u64>>,
    /// Per later group: customers in no earlier group.
    pub arrivals: Vec<u64>,
    /// Per earlier group: customers in no later group.
    pub departures: Vec<u64>,
}

impl Migration {
    /// Counts the moves from `before` to `after` (count-only bitmap intersections).
    pub fn between(before: &Assignment, after: &Assignment) -> Migration {
        let all_before = before.assigned();
        let all_after = after.assigned();
        let counts = before
            .groups
            .iter()
            .map(|(_, b)| {
                after
                    .groups
                    .iter()
                    .map(|(_, a)| b.intersection_len(a))
                    .collect()
            })
            .collect();
        Migration {
            from: before.groups.iter().map(|g| g.0.clone()).collect(),
            to: after.groups.iter().map(|g| g.0.clone()).collect(),
            from_sizes: before.groups.iter().map(|g| g.1.len()).collect(),
            to_sizes: after.groups.iter().map(|g| g.1.len()).collect(),
            counts,
            arrivals: after
                .groups
                .iter()
                .map(|(_, a)| a.len() - a.intersection_len(&all_before))
                .collect(),
            departures: before
                .groups
                .iter()
                .map(|(_, b)| b.len() - b.intersection_len(&all_after))
                .collect(),
        }
    }

    fn row(&self, name: &str) -> Option<usize> {
        let key = fold(name);
        self.from.iter().position(|n| fold(n) == key)
    }

    fn col(&self, name: &str) -> Option<usize> {
        let key = fold(name);
        self.to.iter().position(|n| fold(n) == key)
    }

    /// Customers who were in `from` and are now in `to` (`from == to`: who stayed).
    pub fn count(&self, from: &str, to: &str) -> Option<u64> {
        let (i, j) = (self.row(from)?, self.col(to)?);
        self.counts.get(i)?.get(j).copied()
    }

    /// The share of `from`'s customers now in `to`; `None` for unknown names or an empty
    /// `from`.
    pub fn rate(&self, from: &str, to: &str) -> Option<f64> {
        let size = *self.from_sizes.get(self.row(from)?)?;
        (size > 0).then(|| self.count(from, to).unwrap_or(0) as f64 / size as f64)
    }

    /// Customers now in `to` who were in no earlier group.
    pub fn arrivals_into(&self, to: &str) -> Option<u64> {
        self.arrivals.get(self.col(to)?).copied()
    }

    /// Customers of `from` now in no group.
    pub fn departures_from(&self, from: &str) -> Option<u64> {
        self.departures.get(self.row(from)?).copied()
    }
}

impl fmt::Display for Migration {
    /// One line per pair of groups with customers moving between them (pairs without any
    /// are left out), rows in the earlier assignment's order: the count and its share of
    /// the earlier group. `(gone)` lines are departures, `(new)` lines arrivals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .from
            .iter()
            .chain(&self.to)
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(6, 32);
        write!(
            f,
            "{:<w$}  {:<w$}  {:>10}  {:>7}",
            "from", "to", "customers", "rate"
        )?;
        let line = |f: &mut fmt::Formatter<'_>, from: &str, to: &str, n: u64, size: Option<u64>| {
            write!(f, "\n{from:<w$}  {to:<w$}  {n:>10}")?;
            match size {
                Some(size) if size > 0 => {
                    write!(f, "  {:>6.1}%", n as f64 * 100.0 / size as f64)
                }
                _ => Ok(()),
            }
        };
        for (i, from) in self.from.iter().enumerate() {
            let size = self.from_sizes.get(i).copied();
            let row = self.counts.get(i);
            for (j, to) in self.to.iter().enumerate() {
                let n = row.and_then(|r| r.get(j)).copied().unwrap_or(0);
                if n > 0 {
                    line(f, from, to, n, size)?;
                }
            }
            let gone = self.departures.get(i).copied().unwrap_or(0);
            if gone > 0 {
                line(f, from, "(gone)", gone, size)?;
            }
        }
        for (j, to) in self.to.iter().enumerate() {
            let n = self.arrivals.get(j).copied().unwrap_or(0);
            if n > 0 {
                line(f, "(new)", to, n, None)?;
            }
        }
        Ok(())
    }
}
