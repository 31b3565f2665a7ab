//! Random splits, holdouts and samples of an audience: exact sizes, reproducible from a
//! seed, independent of the order customers were added, optionally stratified.

use roaring::RoaringBitmap;

use super::dimension_tags;
use super::rank::{Keys, Ranked};
use crate::base::fold::{check_name, first_repeat, fold, tidy};
use crate::base::text::{counted, quote, thousands};
use crate::error::{Error, ErrorKind, err, invalid_name};
use crate::store::Store;
use crate::store::taxonomy::TagId;

/// The most groups a split has (holdout not counted): the crate's one group limit, shared
/// with tier assignments.
pub use crate::tiers::MAX_GROUPS;
/// The most strata (distinct tag combinations inside the audience) a stratified split has.
pub const MAX_STRATA: usize = 1024;

/// How large a group is.
///
/// Sizes are cut in this order: fixed counts and percentages first (percentages of the
/// whole audience), then what they leave goes either to the weighted groups, shared in
/// proportion to their weights, or to the one [`Size::REST`] group, or, with neither,
/// stays unassigned ([`Split::unassigned`]).
///
/// Percentages and weights are rounded by largest remainder (Hamilton's method) so the
/// sizes add up exactly: the percentage groups together get their total share of the
/// audience rounded to the nearest customer (halves up), and equal remainders favour the
/// earlier group. A 10% holdout of 2,336 customers is 234 of them.
///
/// Combinations that cannot mean one thing are refused when the group is added
/// ([`ErrorKind::InvalidSetting`]): two `REST` groups, `REST` beside weighted groups (what
/// would the weights share?), percentages adding up past 100, a percentage of 0 or past
/// 100, a weight of 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Size {
    /// Exactly this many customers.
    Count(u64),
    /// This many percent (1 to 100) of the whole audience, holdout included.
    Percent(u8),
    /// A share, by weight, of what the counts and percentages leave (must be positive).
    Weight(u64),
    /// What is left after every other group (at most one per split; not beside weights).
    Rest,
}

impl Size {
    /// "The rest": what is left after every other group and the holdout, so that no
    /// customer stays unassigned. The same as [`Size::Rest`].
    pub const REST: Size = Size::Rest;
}

/// One group of a split: a name and a size.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupSpec {
    /// The group's name (non-empty, unique within the split, at most
    /// [`MAX_NAME_CHARS`](crate::MAX_NAME_CHARS) characters).
    pub name: String,
    /// Its size.
    pub size: Size,
}

/// What to keep the same mix of in every group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Strata {
    /// The tags of a dimension (e.g. `channel`).
    Dimension(String),
    /// These tags.
    Tags(Vec<TagId>),
}

/// How to split an audience: a seed, the groups, an optional holdout and optional strata.
///
/// The customers are ordered by a keyed hash of their external key and the seed (see
/// [`rank`](super::rank)), then the order is cut: the holdout first, then the groups in the
/// order given, then what stays unassigned. The holdout therefore stays the same when only
/// the groups change.
///
/// **Stratified** splits keep the mix: customers carrying exactly the same tags of the
/// strata (e.g. "instagram" alone, "instagram and website", or none of the channel tags) form
/// one stratum, and every group, the holdout and the unassigned rest get each stratum's
/// share of customers within one customer of the ideal `stratum size * group size /
/// audience size`, while keeping their exact total sizes (a controlled rounding of the
/// strata x groups table).
///
/// ```
/// use audience::campaign::{Size, SplitSpec};
///
/// // 10% held out as a control group, two test groups of 1,000 and the rest.
/// let spec = SplitSpec::new(2025)
///     .holdout(Size::Percent(10))?
///     .group("A", Size::Count(1000))?
///     .group("B", Size::Count(1000))?
///     .group("rest", Size::REST)?;
/// // Holdout, A, B, rest, unassigned.
/// assert_eq!(spec.sizes(5_000)?, vec![500, 1000, 1000, 2500, 0]);
/// assert_eq!(spec.sizes(2_336)?, vec![234, 1000, 1000, 102, 0]);
/// // REST beside weights cannot mean one thing.
/// assert_eq!(
///     SplitSpec::new(1)
///         .holdout(Size::Weight(10))?
///         .group("rest", Size::REST)
///         .unwrap_err()
///         .to_string(),
///     "invalid setting SplitSpec::group: REST (what is left after every other group) \
///      cannot stand beside weighted groups, which share that same remainder: give the \
///      other groups counts or percentages, or use weights alone"
/// );
/// // Thirds by weight: the sizes add up exactly.
/// let thirds = SplitSpec::new(1)
///     .group("x", Size::Weight(1))?
///     .group("y", Size::Weight(1))?
///     .group("z", Size::Weight(1))?;
/// assert_eq!(thirds.sizes(10)?, vec![4, 3, 3, 0]);
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawSplitSpec"))]
pub struct SplitSpec {
    seed: u64,
    holdout: Option<Size>,
    groups: Vec<GroupSpec>,
    stratify: Option<Strata>,
}

/// The serialised form of [`SplitSpec`], checked on the way in by the same setters.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawSplitSpec {
    seed: u64,
    #[serde(default)]
    holdout: Option<Size>,
    #[serde(default)]
    groups: Vec<GroupSpec>,
    #[serde(default)]
    stratify: Option<Strata>,
}

#[cfg(feature = "serde")]
impl TryFrom<RawSplitSpec> for SplitSpec {
    type Error = Error;
    fn try_from(raw: RawSplitSpec) -> Result<SplitSpec, Error> {
        let mut spec = SplitSpec::new(raw.seed);
        if let Some(size) = raw.holdout {
            spec = spec.holdout(size)?;
        }
        for g in raw.groups {
            spec = spec.group(g.name, g.size)?;
        }
        spec.stratify = raw.stratify;
        Ok(spec)
    }
}

/// [`ErrorKind::InvalidSetting`] for `setting`.
fn invalid(setting: &'static str, reason: impl Into<String>) -> Error {
    ErrorKind::InvalidSetting {
        setting,
        reason: reason.into(),
    }
    .into()
}

impl SplitSpec {
    /// A split with this seed and no groups yet.
    pub fn new(seed: u64) -> SplitSpec {
        SplitSpec {
            seed,
            holdout: None,
            groups: Vec::new(),
            stratify: None,
        }
    }

    /// Adds a group. Refused when the name is empty or not a valid name, when another
    /// group has the same name (names compare as tag names do: `"A"` and `" a "` are one
    /// name), when a weight is 0, a percentage is 0 or past 100, the percentages add up
    /// past 100, a second group is [`Size::REST`], `REST` would stand beside weights, when
    /// the fixed counts or the weights add up past a 64-bit count, or past [`MAX_GROUPS`]
    /// groups.
    ///
    /// ```
    /// use audience::campaign::{Size, SplitSpec};
    ///
    /// let spec = SplitSpec::new(7).group("A", Size::Count(1000))?;
    /// assert_eq!(
    ///     spec.group(" a ", Size::REST).unwrap_err().to_string(),
    ///     "invalid setting SplitSpec::group: two groups are named \" a \""
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn group(mut self, name: impl Into<String>, size: Size) -> Result<SplitSpec, Error> {
        let name = name.into();
        let setting = "SplitSpec::group";
        if name.trim().is_empty() {
            return Err(invalid(setting, "a group name must not be empty"));
        }
        check_name(&tidy(&name)).map_err(|reason| invalid_name(&name, reason))?;
        if first_repeat(
            self.groups
                .iter()
                .map(|g| g.name.as_str())
                .chain([name.as_str()]),
        )
        .is_some()
        {
            return Err(invalid(
                setting,
                format!("two groups are named {}", quote(&name)),
            ));
        }
        if self.groups.len() >= MAX_GROUPS {
            return err(ErrorKind::LimitExceeded {
                what: "number of groups",
                limit: MAX_GROUPS as u64,
                actual: self.groups.len() as u64 + 1,
            });
        }
        self.check_size(setting, size)?;
        self.groups.push(GroupSpec { name, size });
        Ok(self)
    }

    /// Sets the holdout (control group), cut before the groups. Refused as
    /// [`group`](Self::group) refuses sizes (a weight of 0, percentages past 100, `REST`
    /// beside weights, sizes that add up past a 64-bit count).
    pub fn holdout(mut self, size: Size) -> Result<SplitSpec, Error> {
        self.holdout = None;
        self.check_size("SplitSpec::holdout", size)?;
        self.holdout = Some(size);
        Ok(self)
    }

    /// Refuses a zero weight, a percentage outside 1..=100, percentages adding up past 100,
    /// a second `REST`, `REST` beside weights, and a size that would make the fixed counts
    /// or the weights overflow a 64-bit count together with the sizes already set.
    fn check_size(&self, setting: &'static str, size: Size) -> Result<(), Error> {
        match size {
            Size::Weight(0) => return Err(invalid(setting, "a group weight must be positive")),
            Size::Percent(p) if p == 0 || p > 100 => {
                return Err(invalid(
                    setting,
                    format!("a percentage must be from 1 to 100, got {p}"),
                ));
            }
            _ => {}
        }
        let sizes = self.sizes_in_order().chain([size]);
        let (mut fixed, mut weight, mut percent, mut rests) = (0u64, 0u64, 0u64, 0u32);
        for s in sizes {
            let total = match s {
                Size::Count(c) => fixed.checked_add(c).map(|t| fixed = t),
                Size::Weight(w) => weight.checked_add(w).map(|t| weight = t),
                Size::Percent(p) => {
                    percent += u64::from(p);
                    Some(())
                }
                Size::Rest => {
                    rests += 1;
                    Some(())
                }
            };
            if total.is_none() {
                return Err(invalid(setting, "group sizes overflow a 64-bit count"));
            }
        }
        if percent > 100 {
            return Err(invalid(
                setting,
                format!("the percentages add up to {percent}%, past 100%"),
            ));
        }
        if rests > 1 {
            return Err(invalid(
                setting,
                "only one group can be REST (what is left after every other group)",
            ));
        }
        if rests == 1 && weight > 0 {
            return Err(invalid(
                setting,
                "REST (what is left after every other group) cannot stand beside weighted \
                 groups, which share that same remainder: give the other groups counts or \
                 percentages, or use weights alone",
            ));
        }
        Ok(())
    }

    /// The holdout's size (when there is one), then each group's, in cutting order.
    fn sizes_in_order(&self) -> impl Iterator<Item = Size> + '_ {
        self.holdout
            .iter()
            .copied()
            .chain(self.groups.iter().map(|g| g.size))
    }

    /// Keeps the same mix of a dimension's tags in every group.
    pub fn stratify_by_dimension(mut self, dimension: impl Into<String>) -> SplitSpec {
        self.stratify = Some(Strata::Dimension(dimension.into()));
        self
    }

    /// Keeps the same mix of these tags in every group.
    pub fn stratify_by_tags(mut self, tags: Vec<TagId>) -> SplitSpec {
        self.stratify = Some(Strata::Tags(tags));
        self
    }

    /// The seed: the same seed gives the same split.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The groups, in cutting order.
    pub fn groups(&self) -> &[GroupSpec] {
        &self.groups
    }

    /// What the split keeps the same mix of, if anything.
    pub fn strata(&self) -> Option<&Strata> {
        self.stratify.as_ref()
    }

    /// A split needs a group; everything else was checked by the setters.
    fn validate(&self) -> Result<(), Error> {
        if self.groups.is_empty() {
            return Err(invalid(
                "SplitSpec::group",
                "a split needs at least one group",
            ));
        }
        Ok(())
    }

    /// The exact sizes for an audience of `n`: the holdout's (when there is one), each
    /// group's in order, then the unassigned rest. Errors with
    /// [`ErrorKind::SplitTooLarge`] when the fixed counts exceed `n`.
    pub fn sizes(&self, n: u64) -> Result<Vec<u64>, Error> {
        self.validate()?;
        let sizes: Vec<Size> = self.sizes_in_order().collect();
        allocate(n, &sizes)
    }
}

/// Hands `extra` more units to the entries of `out` at `remainders`' indices, largest
/// remainder first, equal remainders to the earlier entry.
fn largest_remainder(out: &mut [u64], mut remainders: Vec<(u128, usize)>, extra: u64) {
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let extra = usize::try_from(extra).unwrap_or(usize::MAX);
    for &(_, i) in remainders.iter().take(extra) {
        if let Some(v) = out.get_mut(i) {
            *v += 1;
        }
    }
}

/// Sizes for `specs` plus a last entry for the unassigned rest.
fn allocate(n: u64, specs: &[Size]) -> Result<Vec<u64>, Error> {
    // The setters refuse sizes whose sums overflow.
    let overflow = || invalid("SplitSpec::group", "group sizes overflow a 64-bit count");
    let (mut fixed, mut weight, mut percent) = (0u64, 0u64, 0u128);
    for s in specs {
        match *s {
            Size::Count(c) => fixed = fixed.checked_add(c).ok_or_else(overflow)?,
            Size::Weight(w) => weight = weight.checked_add(w).ok_or_else(overflow)?,
            Size::Percent(p) => percent += u128::from(p),
            Size::Rest => {}
        }
    }
    let mut out: Vec<u64> = specs
        .iter()
        .map(|s| match *s {
            Size::Count(c) => c,
            _ => 0,
        })
        .collect();
    // Percentages of the whole audience: their total rounded half up, shared by largest
    // remainder.
    let n128 = u128::from(n);
    let target = u64::try_from((n128 * percent + 50) / 100).unwrap_or(u64::MAX);
    let mut floors = 0u64;
    let mut remainders = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        if let Size::Percent(p) = *s {
            let x = n128 * u128::from(p);
            let q = u64::try_from(x / 100).unwrap_or(u64::MAX);
            if let Some(v) = out.get_mut(i) {
                *v = q;
            }
            floors += q;
            remainders.push((x % 100, i));
        }
    }
    largest_remainder(&mut out, remainders, target.saturating_sub(floors));
    let taken = fixed.checked_add(target).ok_or_else(overflow)?;
    if taken > n {
        return err(ErrorKind::SplitTooLarge {
            requested: taken,
            available: n,
        });
    }
    let left = n - taken;
    if weight == 0 {
        match specs.iter().position(|s| *s == Size::Rest) {
            Some(i) => {
                if let Some(v) = out.get_mut(i) {
                    *v = left;
                }
                out.push(0);
            }
            None => out.push(left),
        }
        return Ok(out);
    }
    let mut remainders = Vec::new();
    let mut given = 0u64;
    for (i, s) in specs.iter().enumerate() {
        if let Size::Weight(w) = *s {
            let x = u128::from(left) * u128::from(w);
            let q = u64::try_from(x / u128::from(weight)).unwrap_or(u64::MAX);
            if let Some(v) = out.get_mut(i) {
                *v = q;
            }
            given += q;
            remainders.push((x % u128::from(weight), i));
        }
    }
    largest_remainder(&mut out, remainders, left - given);
    out.push(0);
    Ok(out)
}

/// One group of a [`Split`].
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Group {
    /// Its name, as in the spec.
    pub name: String,
    /// Its customers.
    pub members: RoaringBitmap,
}

/// How one stratum was shared out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stratum {
    /// The tags its customers carry (of the stratifying tags); empty for "none of them".
    pub tags: Vec<TagId>,
    /// Its customers in the audience.
    pub size: u64,
    /// Of them, in the holdout.
    pub holdout: u64,
    /// Of them, in each group (in the spec's order).
    pub groups: Vec<u64>,
    /// Of them, unassigned.
    pub unassigned: u64,
}

/// An audience cut into groups. The groups, the holdout and the unassigned rest are
/// disjoint and together are the audience.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Split {
    /// The seed it was made with.
    pub seed: u64,
    /// The control group, when the spec has one.
    pub holdout: Option<RoaringBitmap>,
    /// The groups, in the spec's order.
    pub groups: Vec<Group>,
    /// Customers in no group (when the spec has neither a weighted group nor a `REST` group
    /// and the counts and percentages leave some).
    pub unassigned: RoaringBitmap,
    /// For a stratified split, how each stratum was shared out (strata ordered by their
    /// tags' names, "none of them" first); empty otherwise.
    pub strata: Vec<Stratum>,
}

impl std::fmt::Display for Split {
    /// The sizes, one line each, with their shares of the audience:
    ///
    /// ```text
    /// 2,336 customers split (seed 7):
    ///   holdout: 234 (10.0%)
    ///   "A": 1,051 (45.0%)
    ///   "B": 1,051 (45.0%)
    /// ```
    ///
    /// Unassigned customers get a line when there are some.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.holdout.as_ref().map_or(0, RoaringBitmap::len)
            + self.groups.iter().map(|g| g.members.len()).sum::<u64>()
            + self.unassigned.len();
        let line = |f: &mut std::fmt::Formatter<'_>, label: &str, n: u64| {
            let share = if total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / total as f64
            };
            write!(f, "\n  {label}: {} ({share:.1}%)", thousands(n))
        };
        write!(
            f,
            "{} split (seed {}):",
            counted(total, "customer", "customers"),
            self.seed
        )?;
        if let Some(h) = &self.holdout {
            line(f, "holdout", h.len())?;
        }
        for g in &self.groups {
            line(f, &quote(&g.name), g.members.len())?;
        }
        if !self.unassigned.is_empty() {
            line(f, "unassigned", self.unassigned.len())?;
        }
        Ok(())
    }
}

impl Split {
    /// The members of the group of this name.
    pub fn group(&self, name: &str) -> Option<&RoaringBitmap> {
        // Names compare folded, as everywhere: exact spelling first, then the folded form.
        self.groups
            .iter()
            .find(|g| g.name == name)
            .or_else(|| {
                let key = fold(name);
                self.groups.iter().find(|g| fold(&g.name) == key)
            })
            .map(|g| &g.members)
    }

    /// Removes erased customers from the holdout, every group and the unassigned rest
    /// ("forget me" for a split the app keeps to read results later). The strata keep
    /// their counts: they are numbers, not customers, and describe the split as it was made.
    ///
    /// ```
    /// use audience::campaign::{Size, SplitSpec, split};
    /// use audience::{CustomerKey, RoaringBitmap, Store};
    ///
    /// let mut store = Store::new();
    /// let ids = store.ensure_customers((0..100u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
    /// let audience: RoaringBitmap = ids.iter().copied().collect();
    /// let spec = SplitSpec::new(7).holdout(Size::Percent(10))?.group("A", Size::REST)?;
    /// let mut s = split(&store, &audience, &spec)?;
    /// store.erase_customer(ids[0])?;
    /// s.forget(&RoaringBitmap::from([ids[0]]));
    /// let held = s.holdout.as_ref().unwrap();
    /// assert!(!held.contains(ids[0]) && !s.group("A").unwrap().contains(ids[0]));
    /// assert_eq!(held.len() + s.group("A").unwrap().len(), 99);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn forget(&mut self, customers: &RoaringBitmap) {
        if let Some(h) = &mut self.holdout {
            *h -= customers;
        }
        for g in &mut self.groups {
            g.members -= customers;
        }
        self.unassigned -= customers;
    }
}

/// Splits `audience` as `spec` says. Every id must be a live customer of `store` (its key
/// drives the order).
///
/// Cost: one key lookup and hash per customer; a histogram of the hashes locates every
/// group boundary with one more pass; one branch-free pass assigns each customer its
/// group, and one pass per group gathers it (the largest group is the audience minus the
/// others, by bitmap subtraction). About 3 ms for 320,000 customers.
///
/// Errors: [`ErrorKind::SplitTooLarge`] when counts and percentages exceed the audience;
/// [`ErrorKind::UnknownCustomerId`] for an id that is not a live customer;
/// [`ErrorKind::UnknownDimension`] / [`ErrorKind::UnknownTagId`] for bad strata;
/// [`ErrorKind::LimitExceeded`] beyond [`MAX_GROUPS`] or [`MAX_STRATA`];
/// [`ErrorKind::InvalidSetting`] for no group, an empty or repeated name, sizes that cannot
/// mean one thing;
/// [`ErrorKind::InvalidName`] for a group name longer than [`MAX_NAME_CHARS`](crate::MAX_NAME_CHARS).
///
/// ```
/// use audience::campaign::{Size, SplitSpec, split};
/// use audience::{CustomerKey, RoaringBitmap, Store};
///
/// let mut store = Store::new();
/// let ids = store.ensure_customers((0..5_000u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
/// let audience: RoaringBitmap = ids.into_iter().collect();
/// let spec = SplitSpec::new(7)
///     .group("A", Size::Count(1000))?
///     .group("B", Size::Count(1000))?
///     .group("rest", Size::REST)?;
/// let s = split(&store, &audience, &spec)?;
/// assert_eq!(s.group("A").unwrap().len(), 1000);
/// assert_eq!(s.group("B").unwrap().len(), 1000);
/// assert_eq!(s.group("rest").unwrap().len(), 3000);
/// assert!(s.group("A").unwrap().is_disjoint(s.group("B").unwrap()));
/// // The same seed gives the same split.
/// assert_eq!(split(&store, &audience, &spec)?, s);
/// # Ok::<(), audience::Error>(())
/// ```
pub fn split(store: &Store, audience: &RoaringBitmap, spec: &SplitSpec) -> Result<Split, Error> {
    let sizes = spec.sizes(audience.len())?;
    let keys = Keys::new(spec.seed);
    let (segments, rows) = match &spec.stratify {
        None => (cut_set(store, audience, keys, &sizes)?, Vec::new()),
        Some(strata) => stratified(store, audience, keys, &sizes, strata)?,
    };
    let h = usize::from(spec.holdout.is_some());
    let strata = rows
        .into_iter()
        .map(|(tags, size, row)| Stratum {
            tags,
            size,
            holdout: if h == 1 {
                row.first().copied().unwrap_or(0)
            } else {
                0
            },
            groups: row
                .iter()
                .skip(h)
                .take(spec.groups.len())
                .copied()
                .collect(),
            unassigned: row.last().copied().unwrap_or(0),
        })
        .collect();
    let mut segments = segments.into_iter();
    let holdout = spec.holdout.map(|_| segments.next().unwrap_or_default());
    let groups = spec
        .groups
        .iter()
        .map(|g| Group {
            name: g.name.clone(),
            members: segments.next().unwrap_or_default(),
        })
        .collect();
    let unassigned = segments.next().unwrap_or_default();
    Ok(Split {
        seed: spec.seed,
        holdout,
        groups,
        unassigned,
        strata,
    })
}

/// A random sample of exactly `n` customers of `audience`, reproducible from `seed` and
/// independent of the order customers were added (the first `n` of the order [`split`]
/// cuts). Errors with [`ErrorKind::SplitTooLarge`] when `n` exceeds the audience.
///
/// ```
/// use audience::campaign::sample;
/// use audience::{CustomerKey, RoaringBitmap, Store};
///
/// let mut store = Store::new();
/// let ids = store.ensure_customers((0..100u64).map(|i| CustomerKey::Phone(66_800_000_000 + i)))?;
/// let everyone: RoaringBitmap = ids.into_iter().collect();
/// let s = sample(&store, &everyone, 10, 99)?;
/// assert_eq!(s.len(), 10);
/// assert!(s.is_subset(&everyone));
/// assert_eq!(
///     sample(&store, &everyone, 101, 99).unwrap_err().to_string(),
///     "the split needs 101 customers but the audience has only 100"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn sample(
    store: &Store,
    audience: &RoaringBitmap,
    n: u64,
    seed: u64,
) -> Result<RoaringBitmap, Error> {
    let sizes = allocate(audience.len(), &[Size::Count(n)])?;
    let mut parts = cut_set(store, audience, Keys::new(seed), &sizes)?;
    Ok(if parts.is_empty() {
        RoaringBitmap::new()
    } else {
        parts.swap_remove(0)
    })
}

/// Cuts `set` into consecutive segments of the `(rank, key)` order.
fn cut_set(
    store: &Store,
    set: &RoaringBitmap,
    keys: Keys,
    sizes: &[u64],
) -> Result<Vec<RoaringBitmap>, Error> {
    let ranked = Ranked::new(store, set, keys)?;
    Ok(cut_ranked(store, set, &ranked, sizes))
}

/// Cuts `set`, already ranked, into consecutive segments of the `(rank, key)` order.
fn cut_ranked(
    store: &Store,
    set: &RoaringBitmap,
    ranked: &Ranked,
    sizes: &[u64],
) -> Vec<RoaringBitmap> {
    let usizes: Vec<usize> = sizes
        .iter()
        .map(|&s| usize::try_from(s).unwrap_or(usize::MAX))
        .collect();
    // The largest segment is the set minus the others: no bitmap to build for it.
    let skip = usizes
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (**s, std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    let segs = ranked.assign(store, &usizes);
    let mut out: Vec<RoaringBitmap> = usizes
        .iter()
        .enumerate()
        .map(|(j, &size)| {
            if Some(j) == skip || size == 0 {
                RoaringBitmap::new()
            } else {
                segment_bitmap(&ranked.ids, &segs, j as u16, size)
            }
        })
        .collect();
    if let Some(skip) = skip {
        let mut rest = set.clone();
        for (i, b) in out.iter().enumerate() {
            if i != skip {
                rest -= b;
            }
        }
        if let Some(slot) = out.get_mut(skip) {
            *slot = rest;
        }
    }
    out
}

/// The ids (ascending) whose segment is `seg`, as a bitmap. A segment holding at least one
/// id per 64 of the ids' span is gathered branch-free into a bitset, one 64-bit word at a
/// time, and handed to roaring's bulk constructor; a sparse one is filtered into a list
/// (the branch is then rarely taken, so well predicted).
fn segment_bitmap(ids: &[u32], segs: &[u16], seg: u16, size: usize) -> RoaringBitmap {
    let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
        return RoaringBitmap::new();
    };
    let offset = lo & !0xFFFF;
    let span = u64::from(hi - offset) + 1;
    if span > 64 * size as u64 || span >= 1 << 31 {
        let list = ids
            .iter()
            .zip(segs)
            .filter(|(_, s)| **s == seg)
            .map(|(id, _)| *id);
        return RoaringBitmap::from_sorted_iter(list).unwrap_or_default();
    }
    let mut words = vec![0u64; span.div_ceil(64) as usize];
    let mut cur = usize::MAX;
    let mut acc = 0u64;
    for (&id, &s) in ids.iter().zip(segs) {
        let bit = (id - offset) as usize;
        if bit >> 6 != cur {
            if let Some(w) = words.get_mut(cur) {
                *w = acc;
            }
            cur = bit >> 6;
            acc = 0;
        }
        acc |= u64::from(s == seg) << (bit & 63);
    }
    if let Some(w) = words.get_mut(cur) {
        *w = acc;
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    RoaringBitmap::from_lsb0_bytes(offset, &bytes)
}

/// Per stratum: its tags, its size and its row of the rounded table.
type StratumRows = Vec<(Vec<TagId>, u64, Vec<u64>)>;

fn stratified(
    store: &Store,
    audience: &RoaringBitmap,
    keys: Keys,
    sizes: &[u64],
    strata: &Strata,
) -> Result<(Vec<RoaringBitmap>, StratumRows), Error> {
    let tags = match strata {
        Strata::Dimension(d) => dimension_tags(store, d)?,
        Strata::Tags(t) => {
            for &tag in t {
                store.members(tag)?;
            }
            let mut t = t.clone();
            t.sort_unstable();
            t.dedup();
            t
        }
    };
    // Rank the whole audience once, in id order (one pass over the directory), then deal
    // the ranked customers out to their strata.
    let ranked = Ranked::new(store, audience, keys)?;
    let parts = partition(store, audience, &tags)?;
    let labels = stratum_labels(&ranked.ids, &parts);
    let mut counts = vec![0usize; parts.len()];
    for &l in &labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    let mut per: Vec<(Vec<u32>, Vec<u64>)> = counts
        .iter()
        .map(|&c| (Vec::with_capacity(c), Vec::with_capacity(c)))
        .collect();
    for ((&id, &r), &l) in ranked.ids.iter().zip(&ranked.ranks).zip(&labels) {
        if let Some((ids, ranks)) = per.get_mut(l as usize) {
            ids.push(id);
            ranks.push(r);
        }
    }
    drop(ranked);
    let rows: Vec<u64> = parts.iter().map(|(_, b)| b.len()).collect();
    let table = controlled_round(&rows, sizes);
    let mut segments = vec![RoaringBitmap::new(); sizes.len()];
    let mut report = Vec::with_capacity(parts.len());
    for (((label, bits), row), (ids, ranks)) in parts.into_iter().zip(table).zip(per) {
        let sub = Ranked::from_parts(ids, ranks);
        let pieces = cut_ranked(store, &bits, &sub, &row);
        for (seg, piece) in segments.iter_mut().zip(pieces) {
            *seg |= piece;
        }
        report.push((label, bits.len(), row));
    }
    Ok((segments, report))
}

/// For every id of `ids` (ascending), the index of the part holding it. When the ids are
/// not too sparse, through a dense array over their span (sequential writes part by part,
/// then one sequential read); otherwise each part's ids are located by galloping forward.
fn stratum_labels(ids: &[u32], parts: &[(Vec<TagId>, RoaringBitmap)]) -> Vec<u32> {
    let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
        return Vec::new();
    };
    let span = (hi - lo) as usize + 1;
    let mut buf = vec![0u32; 4096];
    if span <= 16 * ids.len() {
        let mut by_id = vec![0u32; span];
        for (p, (_, bits)) in parts.iter().enumerate() {
            let mut it = bits.iter();
            loop {
                let chunk = it.next_many(&mut buf);
                if chunk.is_empty() {
                    break;
                }
                for &id in chunk.iter() {
                    if let Some(l) = by_id.get_mut(id.wrapping_sub(lo) as usize) {
                        *l = p as u32;
                    }
                }
            }
        }
        return ids
            .iter()
            .map(|&id| {
                by_id
                    .get(id.wrapping_sub(lo) as usize)
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
    }
    let mut labels = vec![0u32; ids.len()];
    for (p, (_, bits)) in parts.iter().enumerate() {
        let mut at = 0usize;
        for id in bits {
            // Gallop: find a window [at + step/2, at + step] that holds id, then search it.
            let mut step = 1usize;
            while ids.get(at + step - 1).is_some_and(|&x| x < id) {
                step *= 2;
            }
            let lo = at + step / 2;
            let hi = (at + step).min(ids.len());
            let window = ids.get(lo..hi).unwrap_or(&[]);
            at = lo + window.partition_point(|&x| x < id);
            if let Some(l) = labels.get_mut(at) {
                *l = p as u32;
            }
        }
    }
    labels
}

/// The audience cut by tag combination, ordered by the tags' qualified names (so the order
/// does not depend on tag ids), "none of them" first. Empty parts are dropped.
fn partition(
    store: &Store,
    audience: &RoaringBitmap,
    tags: &[TagId],
) -> Result<Vec<(Vec<TagId>, RoaringBitmap)>, Error> {
    let mut parts: Vec<(Vec<TagId>, RoaringBitmap)> = vec![(Vec::new(), audience.clone())];
    for &t in tags {
        let members = store.members(t)?;
        if members.is_disjoint(audience) {
            continue;
        }
        let mut next = Vec::with_capacity(parts.len() * 2);
        for (label, mut bits) in parts {
            let inside = &bits & members;
            if inside.is_empty() {
                next.push((label, bits));
                continue;
            }
            bits -= &inside;
            if !bits.is_empty() {
                next.push((label.clone(), bits));
            }
            let mut label = label;
            label.push(t);
            next.push((label, inside));
        }
        if next.len() > MAX_STRATA {
            return err(ErrorKind::LimitExceeded {
                what: "number of strata (tag combinations in the audience)",
                limit: MAX_STRATA as u64,
                actual: next.len() as u64,
            });
        }
        parts = next;
    }
    parts.retain(|(_, b)| !b.is_empty());
    let name = |t: &TagId| {
        store
            .tag(*t)
            .map(|i| i.qualified_name())
            .unwrap_or_default()
    };
    type Keyed = (Vec<String>, (Vec<TagId>, RoaringBitmap));
    let mut keyed: Vec<Keyed> = parts
        .into_iter()
        .map(|(label, bits)| {
            let mut names: Vec<String> = label.iter().map(name).collect();
            names.sort();
            (names, (label, bits))
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(keyed.into_iter().map(|(_, p)| p).collect())
}

/// Rounds the table `x[i][j] = rows[i] * cols[j] / N` (N = the sum of `rows`, which must
/// equal the sum of `cols`) to integers `y[i][j]`, each `floor(x)` or `ceil(x)`, whose row
/// sums are `rows` and column sums are `cols`.
///
/// Such a rounding always exists (the fractional parts form a transportation polytope with
/// integer margins). Found by cycle cancelling: every row and column with a fractional
/// cell has at least two (its fractional parts sum to an integer), so a walk along
/// fractional cells always closes a cycle of even length within `2 * min(rows, cols) + 2`
/// steps; shifting alternately +d and -d around it keeps every margin and makes at least
/// one more cell integral. Exact integer arithmetic throughout (fractions are numerators
/// over N).
pub(crate) fn controlled_round(rows: &[u64], cols: &[u64]) -> Vec<Vec<u64>> {
    let n: u128 = rows.iter().map(|&r| u128::from(r)).sum();
    let (nr, nc) = (rows.len(), cols.len());
    if n == 0 {
        return vec![vec![0; nc]; nr];
    }
    let mut base = vec![vec![0u64; nc]; nr];
    // Fractional part of each cell as a numerator over n, in 0..=n.
    let mut frac = vec![vec![0u128; nc]; nr];
    let mut row_list: Vec<Vec<usize>> = vec![Vec::new(); nr];
    let mut col_list: Vec<Vec<usize>> = vec![Vec::new(); nc];
    for (i, (&r, (brow, frow))) in rows
        .iter()
        .zip(base.iter_mut().zip(frac.iter_mut()))
        .enumerate()
    {
        for (j, (&c, (b, f))) in cols
            .iter()
            .zip(brow.iter_mut().zip(frow.iter_mut()))
            .enumerate()
        {
            let x = u128::from(r) * u128::from(c);
            *b = u64::try_from(x / n).unwrap_or(u64::MAX);
            *f = x % n;
            if *f != 0 {
                if let Some(l) = row_list.get_mut(i) {
                    l.push(j);
                }
                if let Some(l) = col_list.get_mut(j) {
                    l.push(i);
                }
            }
        }
    }
    let is_frac = |frac: &Vec<Vec<u128>>, i: usize, j: usize| {
        frac.get(i)
            .and_then(|r| r.get(j))
            .is_some_and(|&f| f != 0 && f != n)
    };
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum V {
        Row(usize),
        Col(usize),
    }
    let mut row_pos = vec![usize::MAX; nr];
    let mut col_pos = vec![usize::MAX; nc];
    let mut walk: Vec<V> = Vec::new();
    for start in 0..nr {
        while row_list
            .get_mut(start)
            .and_then(|list| pick(list, |j| is_frac(&frac, start, j), None))
            .is_some()
        {
            // Walk until a vertex repeats.
            walk.clear();
            let mut cur = V::Row(start);
            let mut prev: Option<usize> = None;
            let cycle_start = loop {
                let pos = match cur {
                    V::Row(i) => row_pos.get_mut(i),
                    V::Col(j) => col_pos.get_mut(j),
                };
                let Some(pos) = pos else { break None };
                if *pos != usize::MAX {
                    break Some(*pos);
                }
                *pos = walk.len();
                walk.push(cur);
                let next = match cur {
                    V::Row(i) => row_list
                        .get_mut(i)
                        .and_then(|l| pick(l, |j| is_frac(&frac, i, j), prev))
                        .map(|j| (V::Col(j), i)),
                    V::Col(j) => col_list
                        .get_mut(j)
                        .and_then(|l| pick(l, |i| is_frac(&frac, i, j), prev))
                        .map(|i| (V::Row(i), j)),
                };
                let Some((next, from)) = next else { break None };
                prev = Some(from);
                cur = next;
            };
            for v in &walk {
                let pos = match *v {
                    V::Row(i) => row_pos.get_mut(i),
                    V::Col(j) => col_pos.get_mut(j),
                };
                if let Some(p) = pos {
                    *p = usize::MAX;
                }
            }
            let Some(cs) = cycle_start else {
                // Unreachable with integer margins; stop rather than loop.
                return finish(base, frac, n);
            };
            // Cells of the cycle, alternately + and -.
            let cyc: Vec<V> = walk.get(cs..).unwrap_or(&[]).to_vec();
            let cells: Vec<(usize, usize)> = (0..cyc.len())
                .filter_map(|k| {
                    let a = cyc.get(k)?;
                    let b = cyc.get((k + 1) % cyc.len())?;
                    match (*a, *b) {
                        (V::Row(i), V::Col(j)) | (V::Col(j), V::Row(i)) => Some((i, j)),
                        _ => None,
                    }
                })
                .collect();
            let cell = |frac: &Vec<Vec<u128>>, i: usize, j: usize| {
                frac.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0)
            };
            let mut delta = u128::MAX;
            for (k, &(i, j)) in cells.iter().enumerate() {
                let f = cell(&frac, i, j);
                delta = delta.min(if k % 2 == 0 { n - f } else { f });
            }
            if delta == 0 || delta == u128::MAX || cells.len() < 4 {
                return finish(base, frac, n);
            }
            for (k, &(i, j)) in cells.iter().enumerate() {
                if let Some(f) = frac.get_mut(i).and_then(|r| r.get_mut(j)) {
                    if k % 2 == 0 {
                        *f += delta;
                    } else {
                        *f -= delta;
                    }
                }
            }
        }
    }
    finish(base, frac, n)
}

fn finish(base: Vec<Vec<u64>>, frac: Vec<Vec<u128>>, n: u128) -> Vec<Vec<u64>> {
    base.into_iter()
        .zip(frac)
        .map(|(b, f)| {
            b.into_iter()
                .zip(f)
                .map(|(b, f)| b + u64::from(f * 2 >= n && f != 0))
                .collect()
        })
        .collect()
}

/// The first entry of `list` that is still fractional and is not `avoid`, dropping entries
/// that became integral.
fn pick(
    list: &mut Vec<usize>,
    is_frac: impl Fn(usize) -> bool,
    avoid: Option<usize>,
) -> Option<usize> {
    let mut k = 0;
    while let Some(&x) = list.get(k) {
        if !is_frac(x) {
            list.swap_remove(k);
            continue;
        }
        if Some(x) != avoid {
            return Some(x);
        }
        k += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(rows: &[u64], cols: &[u64]) {
        let n: u128 = rows.iter().map(|&r| u128::from(r)).sum();
        let y = controlled_round(rows, cols);
        assert_eq!(y.len(), rows.len());
        for (i, row) in y.iter().enumerate() {
            assert_eq!(row.iter().sum::<u64>(), rows[i], "row {i}");
            for (j, &v) in row.iter().enumerate() {
                let x = u128::from(rows[i]) * u128::from(cols[j]);
                // floor(x / n) <= v <= ceil(x / n)
                let lo = x.checked_div(n).unwrap_or(0);
                let hi = x.checked_next_multiple_of(n).map_or(0, |m| m / n);
                assert!(
                    (lo..=hi).contains(&u128::from(v)),
                    "cell ({i}, {j}) = {v}, ideal {x}/{n}"
                );
            }
        }
        for (j, &c) in cols.iter().enumerate() {
            assert_eq!(y.iter().map(|r| r[j]).sum::<u64>(), c, "column {j}");
        }
    }

    #[test]
    fn controlled_rounding_hand_cases() {
        check(&[], &[]);
        check(&[0, 0], &[0, 0, 0]);
        check(&[1, 1, 1], &[1, 1, 1]);
        check(&[5], &[2, 3]);
        check(&[3, 3, 3], &[4, 5]);
        check(&[7, 1, 1, 1, 1, 1, 1, 1], &[7, 7]);
        // Large counts: products beyond u64.
        check(
            &[4_000_000_000, 294_967_295],
            &[1_234_567_891, 3_060_399_404],
        );
        assert_eq!(
            controlled_round(&[1, 1], &[1, 1]),
            vec![vec![1, 0], vec![0, 1]]
        );
    }

    /// Splits `n` into `parts` positive-or-zero pieces from random cut points.
    fn pieces(n: u64, cuts: &[u64]) -> Vec<u64> {
        let mut c: Vec<u64> = cuts
            .iter()
            .map(|x| if n == 0 { 0 } else { x % (n + 1) })
            .collect();
        c.push(0);
        c.push(n);
        c.sort_unstable();
        c.windows(2).map(|w| w[1] - w[0]).collect()
    }

    proptest! {
        #[test]
        fn controlled_rounding_keeps_margins_and_floors(
            n in 0u64..100_000,
            row_cuts in prop::collection::vec(any::<u64>(), 0..40),
            col_cuts in prop::collection::vec(any::<u64>(), 0..12),
        ) {
            check(&pieces(n, &row_cuts), &pieces(n, &col_cuts));
        }

        #[test]
        fn allocation_adds_up(n in 0u64..1_000_000, specs in prop::collection::vec(
            prop_oneof![
                (0u64..1000).prop_map(Size::Count),
                (1u64..1000).prop_map(Size::Weight),
                (1u8..=100).prop_map(Size::Percent),
                Just(Size::Rest),
            ], 1..8)) {
            if let Ok(sizes) = allocate(n, &specs) {
                prop_assert_eq!(sizes.iter().sum::<u64>(), n);
                for (s, &got) in specs.iter().zip(&sizes) {
                    if let Size::Count(c) = s {
                        prop_assert_eq!(*c, got);
                    }
                }
            }
        }
    }
}
