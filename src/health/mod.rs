//! The tag health report: the weekly check CRM tagging guides recommend (silent, oversized
//! and stale tags, the number of tags) in one call.
//!
//! [`HealthReport::build`](crate::HealthReport::build) looks at every tag, every pair of tags and the taxonomy as a
//! whole on the caller's `today`, and returns a [`HealthReport`]: plain serde data for
//! apps and dashboards, whose `Display` is a readable text report, worst findings first.
//!
//! # What is checked
//!
//! Per tag ([`TagHealth`]): members, share of all customers, the age of its memberships
//! ([`AgeProfile`]), the last day it was used to select an audience
//! ([`Store::record_use`]), and these flags ([`TagFlag`]), for tags that are not archived:
//!
//! | flag | when (defaults of [`HealthConfig`]) |
//! |---|---|
//! | oversized | carried by more than 40% of customers; with a split suggestion |
//! | empty | no members |
//! | tiny | 1 to 9 members |
//! | silent | not used for more than 30 days (counted from its creation when never used) |
//! | stale | at least 10% of its members had no interaction for more than 180 days |
//!
//! "No interaction for more than 180 days" means the day attribute named by
//! [`HealthConfig::activity_attribute`] (`last_interaction` by default) is before
//! `today - 180`, exactly as the query `tag AND last_interaction BEFORE 180d` selects
//! them: customers without a value are not stale. The stale flag carries that query, and
//! [`health::stale_members`](crate::health::stale_members) returns the segment.
//!
//! Pairs of tags (not archived, not empty or tiny) come from one count-only sweep over
//! every pair ([`Overlaps`]), exactly:
//!
//! - **redundant**: Jaccard overlap `|A ∩ B| / |A ∪ B|` at least 0.8: probably one meaning
//!   under two names ("ordered" and "paid");
//! - **subset**: every member of A carries B, and B has more members (identical sets are
//!   redundant, not subsets).
//!
//! The taxonomy ([`TaxonomyHealth`]): the number of tags in use and its
//! [`TagCountBand`], each dimension's coverage (customers carrying at least one of its
//! tags), and the customers carrying no tag at all. Archived tags are retired: they are
//! listed with their members but get no flags and count for no pair, band or coverage.
//!
//! # Split suggestions
//!
//! An oversized tag should be split into finer tags (CRM tagging guides: at least three,
//! e.g. low, medium and high interaction). The suggestion looks for another dimension that
//! already cuts it well. Candidates are the other dimensions whose tags cover at least half
//! of its members, at least two of them overlapping it. Each gets the score
//! `coverage × disjointness × evenness`, where, with `parts` the overlaps of the
//! dimension's tags with the oversized tag and `covered` its members carrying any of them:
//!
//! - coverage = `covered / members`: a split should leave few members out;
//! - disjointness = `covered / Σ parts`: 1 when no member carries two of the parts;
//! - evenness = `(Σ parts)² / Σ parts²` (the inverse Simpson index): the effective number
//!   of parts, 3 for three equal parts.
//!
//! The highest score wins (ties: more members covered, then the taxonomy's dimension
//! order); its parts are listed largest first.
//!
//! # Example
//!
//! ```
//! use audience::{AttrKind, CustomerKey, Day, Edit, Store, TagSpec};
//! use audience::health::{HealthConfig, TagFlag};
//!
//! let today = Day::from_ymd(2025, 1, 6)?;
//! let e = Edit::new("admin", today - 100);
//! let mut store = Store::new();
//! let regular = store.create_tag(&e, TagSpec::new("regular customer"))?;
//! let last = store.define_attribute("last_interaction", AttrKind::Day)?;
//! for i in 0..100 {
//!     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
//!     store.set_value(c, last, today - 3)?;
//!     if i < 92 {
//!         store.add_tag(c, regular, today - 40)?;
//!     }
//! }
//! store.record_use(regular, today - 2)?;
//! let report = audience::HealthReport::build(&store, today, &HealthConfig::default())?;
//! let tag = &report.tags[0];
//! assert_eq!((tag.members, tag.share), (92, 0.92));
//! assert!(matches!(tag.flags[..], [TagFlag::Oversized { .. }]));
//! println!("{report}");
//! # Ok::<(), audience::Error>(())
//! ```

mod display;
mod overlap;

use roaring::{MultiOps, RoaringBitmap};

pub use overlap::{MAX_OVERLAP_SETS, Overlaps};

use crate::day::Day;
use crate::error::{Error, ErrorKind, err, quote};
use crate::query::{Expr, TagRef, attr};
use crate::segment::Segment;
use crate::store::Store;
use crate::store::attribute::AttrKind;
use crate::store::taxonomy::{TagId, TagInfo};

/// The most tags whose pairs the report examines: beyond it, the largest tags are taken
/// and [`HealthReport::pairs_skipped`] says how many were left out. One set less than
/// [`MAX_OVERLAP_SETS`]: the stale customers ride along.
pub const MAX_PAIR_TAGS: usize = MAX_OVERLAP_SETS - 1;

/// Thresholds of the health report. The defaults are the numbers of CRM tagging guides: a
/// tag on over 40% of customers is too coarse, one unused for over 30 days is silent, and a
/// customer without interaction for over 180 days is stale.
///
/// Every setting is checked when it is set: a share outside 0..=1 is refused by its setter
/// (and by deserialisation) with [`ErrorKind::InvalidSetting`], so a configuration that
/// exists is a valid one.
///
/// ```
/// use audience::health::HealthConfig;
///
/// let config = HealthConfig::default()
///     .silent_days(14)
///     .activity_attribute(Some("last_seen"))
///     .oversized_share(0.5)?;
/// assert_ne!(config, HealthConfig::default());
/// assert_eq!(
///     HealthConfig::default().stale_share(1.5).unwrap_err().to_string(),
///     "invalid setting HealthConfig::stale_share: a share is between 0 and 1, got 1.5"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawHealthConfig"))]
pub struct HealthConfig {
    oversized_share: f64,
    tiny_below: u64,
    silent_days: u32,
    activity_attribute: Option<String>,
    stale_days: u32,
    stale_share: f64,
    redundant_jaccard: f64,
}

/// The serialised form of [`HealthConfig`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(default)]
struct RawHealthConfig {
    oversized_share: f64,
    tiny_below: u64,
    silent_days: u32,
    activity_attribute: Option<String>,
    stale_days: u32,
    stale_share: f64,
    redundant_jaccard: f64,
}

#[cfg(feature = "serde")]
impl Default for RawHealthConfig {
    fn default() -> RawHealthConfig {
        let d = HealthConfig::default();
        RawHealthConfig {
            oversized_share: d.oversized_share,
            tiny_below: d.tiny_below,
            silent_days: d.silent_days,
            activity_attribute: d.activity_attribute,
            stale_days: d.stale_days,
            stale_share: d.stale_share,
            redundant_jaccard: d.redundant_jaccard,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<RawHealthConfig> for HealthConfig {
    type Error = Error;
    fn try_from(raw: RawHealthConfig) -> Result<HealthConfig, Error> {
        HealthConfig::default()
            .oversized_share(raw.oversized_share)?
            .tiny_below(raw.tiny_below)
            .silent_days(raw.silent_days)
            .activity_attribute(raw.activity_attribute.as_deref())
            .stale_days(raw.stale_days)
            .stale_share(raw.stale_share)?
            .redundant_jaccard(raw.redundant_jaccard)
    }
}

impl Default for HealthConfig {
    fn default() -> HealthConfig {
        HealthConfig {
            oversized_share: 0.40,
            tiny_below: 10,
            silent_days: 30,
            activity_attribute: Some("last_interaction".to_string()),
            stale_days: 180,
            stale_share: 0.10,
            redundant_jaccard: 0.80,
        }
    }
}

/// A share from 0 to 1, or [`ErrorKind::InvalidSetting`] naming the setting.
fn share(setting: &'static str, value: f64) -> Result<f64, Error> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        err(ErrorKind::InvalidSetting {
            setting,
            reason: format!("a share is between 0 and 1, got {value}"),
        })
    }
}

impl HealthConfig {
    /// A tag carried by more than this share of customers is oversized. Default 0.40.
    /// Refused outside 0..=1.
    pub fn oversized_share(mut self, share_of_customers: f64) -> Result<HealthConfig, Error> {
        self.oversized_share = share("HealthConfig::oversized_share", share_of_customers)?;
        Ok(self)
    }

    /// A tag with at least one but fewer than this many members is tiny. Default 10.
    pub fn tiny_below(mut self, members: u64) -> HealthConfig {
        self.tiny_below = members;
        self
    }

    /// A tag not used for more than this many days is silent. Default 30.
    pub fn silent_days(mut self, days: u32) -> HealthConfig {
        self.silent_days = days;
        self
    }

    /// The day attribute of each customer's last interaction; `None` skips stale
    /// memberships. Default `last_interaction`.
    pub fn activity_attribute(mut self, attribute: Option<&str>) -> HealthConfig {
        self.activity_attribute = attribute.map(str::to_string);
        self
    }

    /// A member whose last interaction is more than this many days ago is stale. Default
    /// 180.
    pub fn stale_days(mut self, days: u32) -> HealthConfig {
        self.stale_days = days;
        self
    }

    /// A tag is flagged stale when at least this share of its members are stale. Default
    /// 0.10 (CRM tagging guides find about 10% of VIPs sleeping: no interaction for over
    /// 180 days). Refused outside 0..=1.
    pub fn stale_share(mut self, share_of_members: f64) -> Result<HealthConfig, Error> {
        self.stale_share = share("HealthConfig::stale_share", share_of_members)?;
        Ok(self)
    }

    /// Two tags whose Jaccard overlap is at least this are redundant. Default 0.80.
    /// Refused outside 0..=1, and at 0 (every pair would be redundant).
    pub fn redundant_jaccard(mut self, jaccard: f64) -> Result<HealthConfig, Error> {
        let jaccard = share("HealthConfig::redundant_jaccard", jaccard)?;
        if jaccard == 0.0 {
            return err(ErrorKind::InvalidSetting {
                setting: "HealthConfig::redundant_jaccard",
                reason: "must be above 0 (every pair would be redundant)".into(),
            });
        }
        self.redundant_jaccard = jaccard;
        Ok(self)
    }
}

/// The report: per tag, per pair and for the taxonomy, plus the findings, worst first.
/// `Display` prints it as text.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct HealthReport {
    /// The day the report is for.
    pub today: Day,
    /// Live customers.
    pub customers: u64,
    /// The thresholds used.
    pub config: HealthConfig,
    /// Every tag, archived ones included, in id order.
    pub tags: Vec<TagHealth>,
    /// Redundant pairs, highest overlap first.
    pub redundant: Vec<RedundantPair>,
    /// Subset pairs, largest subset first.
    pub subsets: Vec<SubsetPair>,
    /// Tags left out of the pair analysis because there were more than
    /// [`MAX_PAIR_TAGS`] (the smallest are left out).
    pub pairs_skipped: usize,
    /// Checks that could not run, and why: stale memberships without an activity
    /// attribute (none set, or none of that name in the store).
    #[cfg_attr(feature = "serde", serde(default))]
    pub skipped: Vec<SkippedCheck>,
    /// The taxonomy as a whole.
    pub taxonomy: TaxonomyHealth,
    /// Everything that needs attention, worst first (see [`Finding::severity`]).
    pub findings: Vec<Finding>,
}

/// A check the health report could not run, and why. `Display`: `stale memberships: the
/// store has no attribute "last_interaction" (...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SkippedCheck {
    /// The check, e.g. `stale memberships`.
    pub check: String,
    /// Why it was skipped and how to turn it on.
    pub reason: String,
}

impl std::fmt::Display for SkippedCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.check, self.reason)
    }
}

impl HealthReport {
    /// The health of one tag.
    pub fn tag(&self, tag: TagId) -> Option<&TagHealth> {
        self.tags
            .binary_search_by_key(&tag, |t| t.tag)
            .ok()
            .and_then(|i| self.tags.get(i))
    }
}

/// The health of one tag.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TagHealth {
    /// The tag.
    pub tag: TagId,
    /// Its name.
    pub name: String,
    /// Its dimension.
    pub dimension: String,
    /// Archived tags get no flags.
    pub archived: bool,
    /// How many customers carry it.
    pub members: u64,
    /// `members` over all customers (0 without customers).
    pub share: f64,
    /// How long ago its memberships were assigned.
    pub age: AgeProfile,
    /// The last day it was used to select an audience.
    pub last_used: Option<Day>,
    /// Days from the last use (or, never used, from its creation) to `today`.
    pub idle_days: i64,
    /// Members whose last interaction is more than `stale_days` ago; `None` without an
    /// activity attribute.
    pub stale_members: Option<u64>,
    /// What is wrong with it, worst first.
    pub flags: Vec<TagFlag>,
}

/// How long ago a tag's memberships were assigned, in days before `today`. Memberships
/// dated after `today` count as 0 days old.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AgeProfile {
    /// Assigned 0 to 30 days ago (the "new customer" stage of the customer lifecycle).
    pub days_0_30: u64,
    /// 31 to 90 days ago (about the average lifetime of a tag).
    pub days_31_90: u64,
    /// 91 to 180 days ago.
    pub days_91_180: u64,
    /// More than 180 days ago (where the quarterly tag audit of CRM tagging guides looks).
    pub over_180: u64,
}

impl AgeProfile {
    fn add(&mut self, age_days: i64, members: u64) {
        let slot = match age_days {
            ..=30 => &mut self.days_0_30,
            31..=90 => &mut self.days_31_90,
            91..=180 => &mut self.days_91_180,
            _ => &mut self.over_180,
        };
        *slot += members;
    }
}

/// Something wrong with one tag.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum TagFlag {
    /// Carried by more than `oversized_share` of customers: too coarse to target with.
    Oversized {
        /// Its share of customers.
        share: f64,
        /// How another dimension would cut it, if one does.
        split: Option<SplitSuggestion>,
    },
    /// No members.
    Empty,
    /// Fewer than `tiny_below` members.
    Tiny {
        /// How many.
        members: u64,
    },
    /// Not used to select an audience for more than `silent_days`: archive or delete it.
    Silent {
        /// Days since the last use (or the creation).
        idle_days: i64,
    },
    /// At least `stale_share` of its members had no interaction for more than
    /// `stale_days` (the "sleeping VIPs" of CRM tagging guides' quarterly audit).
    Stale {
        /// How many members are stale.
        members: u64,
        /// Their share of the tag's members.
        share: f64,
        /// The query selecting them, e.g. `VIP AND last_interaction BEFORE 180d`.
        query: String,
    },
}

/// A way to split an oversized tag: the tags of another dimension that cut it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SplitSuggestion {
    /// The dimension.
    pub dimension: String,
    /// Its tags that overlap the oversized tag, with the overlap, largest first.
    pub parts: Vec<SplitPart>,
    /// Members of the oversized tag carrying at least one of the dimension's tags.
    pub covered: u64,
}

/// One part of a [`SplitSuggestion`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SplitPart {
    /// The tag of the other dimension.
    pub tag: TagId,
    /// Its name.
    pub name: String,
    /// Members of the oversized tag that carry it.
    pub members: u64,
}

/// Two tags with (nearly) the same members.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RedundantPair {
    /// The tag with the smaller id.
    pub a: TagId,
    /// The other tag.
    pub b: TagId,
    /// Customers carrying both.
    pub both: u64,
    /// Customers carrying either.
    pub either: u64,
    /// `both / either`.
    pub jaccard: f64,
}

/// Every member of `subset` also carries `superset`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SubsetPair {
    /// The smaller tag.
    pub subset: TagId,
    /// The larger tag.
    pub superset: TagId,
    /// Members of `subset`.
    pub subset_members: u64,
    /// Members of `superset`.
    pub superset_members: u64,
}

/// The taxonomy as a whole.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TaxonomyHealth {
    /// Tags that are not archived.
    pub active_tags: usize,
    /// Archived tags.
    pub archived_tags: usize,
    /// The band of `active_tags`.
    pub band: TagCountBand,
    /// Per dimension with active tags, in the taxonomy's order.
    pub dimensions: Vec<DimensionCoverage>,
    /// Customers carrying at least one active tag.
    pub tagged: u64,
    /// Customers carrying none.
    pub untagged: u64,
    /// `untagged` over all customers.
    pub untagged_share: f64,
    /// The policy's administrators.
    pub administrators: usize,
}

/// How many customers a dimension reaches.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct DimensionCoverage {
    /// The dimension.
    pub dimension: String,
    /// Its active tags.
    pub tags: usize,
    /// Customers carrying at least one of them.
    pub customers: u64,
    /// Their share of all customers.
    pub share: f64,
}

/// Where the number of tags in use stands, by the bands of CRM tagging guides.
///
/// The guides' bands leave gaps and overlap (at most 20 while starting; 30-50 growing;
/// 50-80 healthy; over 100 hard to manage; under 30 with over 1,000 customers too
/// coarse). With `n` active tags and `c` customers, the first rule that holds wins:
///
/// 1. `n > 100`: [`HardToManage`](TagCountBand::HardToManage);
/// 2. `n < 30` and `c > 1,000`: [`TooCoarse`](TagCountBand::TooCoarse);
/// 3. `n <= 20`: [`Starting`](TagCountBand::Starting);
/// 4. `n <= 49`: [`Growing`](TagCountBand::Growing) (the gap 21-29 included: a shop of
///    at most 1,000 customers between its start and 30 tags is growing);
/// 5. `n <= 80`: [`Healthy`](TagCountBand::Healthy) (50 is healthy: "grow to 50+");
/// 6. otherwise (81-100, a gap in the guides' bands): [`Large`](TagCountBand::Large).
///
/// ```
/// use audience::health::TagCountBand;
///
/// assert_eq!(TagCountBand::of(18, 800), TagCountBand::Starting);
/// assert_eq!(TagCountBand::of(18, 5_000), TagCountBand::TooCoarse);
/// assert_eq!(TagCountBand::of(25, 1_000), TagCountBand::Growing);
/// assert_eq!(TagCountBand::of(50, 5_000), TagCountBand::Healthy);
/// assert_eq!(TagCountBand::of(90, 5_000), TagCountBand::Large);
/// assert_eq!(TagCountBand::of(101, 5_000), TagCountBand::HardToManage);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TagCountBand {
    /// At most 20 tags, at most 1,000 customers: CRM tagging guides start with 15-20.
    Starting,
    /// 21-49 tags (21-29 only with at most 1,000 customers).
    Growing,
    /// 50-80 tags.
    Healthy,
    /// 81-100 tags: above the healthy band, not yet hard to manage.
    Large,
    /// Over 100 tags.
    HardToManage,
    /// Under 30 tags for over 1,000 customers.
    TooCoarse,
}

impl TagCountBand {
    /// The band of `tags` active tags for `customers` customers (rules above).
    pub fn of(tags: usize, customers: u64) -> TagCountBand {
        if tags > 100 {
            TagCountBand::HardToManage
        } else if tags < 30 && customers > 1000 {
            TagCountBand::TooCoarse
        } else if tags <= 20 {
            TagCountBand::Starting
        } else if tags <= 49 {
            TagCountBand::Growing
        } else if tags <= 80 {
            TagCountBand::Healthy
        } else {
            TagCountBand::Large
        }
    }

    /// A short description: `"healthy (50-80 tags)"`.
    pub fn describe(self) -> &'static str {
        match self {
            TagCountBand::Starting => "starting (at most 20 tags)",
            TagCountBand::Growing => "growing (21-49 tags)",
            TagCountBand::Healthy => "healthy (50-80 tags)",
            TagCountBand::Large => "large (81-100 tags)",
            TagCountBand::HardToManage => "hard to manage (over 100 tags)",
            TagCountBand::TooCoarse => "too coarse (under 30 tags for over 1,000 customers)",
        }
    }
}

/// How urgent a finding is. Orders worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Severity {
    /// Audiences are wrong or blurred now: oversized and redundant tags, a tag count that
    /// is too coarse or hard to manage.
    High,
    /// Tags rot: stale memberships, silent and empty tags, untagged customers, a large
    /// tag count.
    Medium,
    /// Worth a look: tiny tags, subsets, governance, names that break the rules.
    Low,
}

/// Something that needs attention. The report lists them worst first: by severity, then
/// in the order of the variants below, then by size (share, overlap, members, days),
/// then by tag id.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Finding {
    /// The number of tags in use is too coarse, large or hard to manage.
    TagCount {
        /// The band.
        band: TagCountBand,
        /// Active tags.
        tags: usize,
    },
    /// A tag carried by too many customers (see [`TagFlag::Oversized`]).
    Oversized {
        /// The tag.
        tag: TagId,
        /// Its share of customers.
        share: f64,
    },
    /// Two tags with nearly the same members (see [`RedundantPair`]).
    Redundant {
        /// The tag with the smaller id.
        a: TagId,
        /// The other.
        b: TagId,
        /// Their Jaccard overlap.
        jaccard: f64,
    },
    /// Many members of a tag have gone quiet (see [`TagFlag::Stale`]).
    Stale {
        /// The tag.
        tag: TagId,
        /// Stale members.
        members: u64,
        /// Their share of the tag's members.
        share: f64,
    },
    /// A tag nobody uses (see [`TagFlag::Silent`]).
    Silent {
        /// The tag.
        tag: TagId,
        /// Days since the last use (or the creation).
        idle_days: i64,
    },
    /// A tag without members.
    Empty {
        /// The tag.
        tag: TagId,
    },
    /// Customers carrying no active tag.
    Untagged {
        /// How many.
        customers: u64,
        /// Their share of all customers.
        share: f64,
    },
    /// A tag with very few members.
    Tiny {
        /// The tag.
        tag: TagId,
        /// Its members.
        members: u64,
    },
    /// Every member of one tag carries another (see [`SubsetPair`]).
    Subset {
        /// The smaller tag.
        subset: TagId,
        /// The larger tag.
        superset: TagId,
    },
    /// No administrators (anyone may create and delete tags), or more than the one or two
    /// that CRM tagging guides advise.
    Governance {
        /// How many administrators the policy names.
        administrators: usize,
    },
    /// A tag whose name breaks the policy's naming rules (it predates them).
    NamingRule {
        /// The tag.
        tag: TagId,
        /// The rule it breaks.
        rule: String,
    },
}

impl Finding {
    /// How urgent it is.
    pub fn severity(&self) -> Severity {
        match self {
            Finding::TagCount {
                band: TagCountBand::Large,
                ..
            } => Severity::Medium,
            Finding::TagCount { .. } | Finding::Oversized { .. } | Finding::Redundant { .. } => {
                Severity::High
            }
            Finding::Stale { .. }
            | Finding::Silent { .. }
            | Finding::Empty { .. }
            | Finding::Untagged { .. } => Severity::Medium,
            Finding::Tiny { .. }
            | Finding::Subset { .. }
            | Finding::Governance { .. }
            | Finding::NamingRule { .. } => Severity::Low,
        }
    }

    /// The sort key: severity, variant, size (descending), tags.
    fn rank(&self) -> (Severity, u8, std::cmp::Reverse<u64>, u32, u32) {
        use std::cmp::Reverse;
        // Shares and overlaps sort by their value in millionths.
        let micro = |x: f64| Reverse((x * 1e6).round() as u64);
        let (kind, size, a, b) = match self {
            Finding::TagCount { tags, .. } => (0, Reverse(*tags as u64), 0, 0),
            Finding::Oversized { tag, share } => (1, micro(*share), tag.0, 0),
            Finding::Redundant { a, b, jaccard } => (2, micro(*jaccard), a.0, b.0),
            Finding::Stale { tag, members, .. } => (3, Reverse(*members), tag.0, 0),
            Finding::Silent { tag, idle_days } => {
                (4, Reverse((*idle_days).max(0) as u64), tag.0, 0)
            }
            Finding::Empty { tag } => (5, Reverse(0), tag.0, 0),
            Finding::Untagged { customers, .. } => (6, Reverse(*customers), 0, 0),
            Finding::Tiny { tag, members } => (7, Reverse(*members), tag.0, 0),
            Finding::Subset { subset, superset } => (8, Reverse(0), subset.0, superset.0),
            Finding::Governance { administrators } => (9, Reverse(*administrators as u64), 0, 0),
            Finding::NamingRule { tag, .. } => (10, Reverse(0), tag.0, 0),
        };
        (self.severity(), kind, size, a, b)
    }
}

impl HealthReport {
    /// The tag health report on `today` (see the [module docs](crate::health)). Errors when the
    /// configuration is out of range or its activity attribute holds numbers. Without an
    /// activity attribute (none set, or none of that name in the store) the stale check is
    /// skipped and listed in [`HealthReport::skipped`].
    pub fn build(store: &Store, today: Day, config: &HealthConfig) -> Result<HealthReport, Error> {
        let customers = store.customer_count();
        let share = |n: u64| {
            if customers == 0 {
                0.0
            } else {
                n as f64 / customers as f64
            }
        };
        let stale = stale_set(store, today, config, false)?;
        let skipped = stale.skipped();
        let stale_set = stale.set();

        // Per tag: the numbers that need no pairs.
        let infos: Vec<&TagInfo> = store.tags().collect();
        let mut tags = Vec::with_capacity(infos.len());
        for info in &infos {
            let members = store.members(info.id)?.len();
            let mut age = AgeProfile::default();
            for (day, n) in store.assignment_days(info.id)? {
                age.add(today.days_since(day).max(0), n);
            }
            let since = info.last_used.unwrap_or(info.created);
            tags.push(TagHealth {
                tag: info.id,
                name: info.name.clone(),
                dimension: info.dimension.clone(),
                archived: info.archived,
                members,
                share: share(members),
                age,
                last_used: info.last_used,
                idle_days: today.days_since(since),
                stale_members: None,
                flags: Vec::new(),
            });
        }

        // Pairs, and the stale counts of the tags in them, from one sweep.
        let floor = config.tiny_below.max(1);
        let mut paired: Vec<usize> = (0..tags.len())
            .filter(|&i| !tags[i].archived && tags[i].members >= floor)
            .collect();
        let mut pairs_skipped = 0;
        if paired.len() > MAX_PAIR_TAGS {
            paired.sort_by_key(|&i| (std::cmp::Reverse(tags[i].members), tags[i].tag));
            pairs_skipped = paired.len() - MAX_PAIR_TAGS;
            paired.truncate(MAX_PAIR_TAGS);
            paired.sort_unstable();
        }
        let mut sets: Vec<&RoaringBitmap> = Vec::with_capacity(paired.len() + 1);
        for &i in &paired {
            sets.push(store.members(tags[i].tag)?);
        }
        if let Some(stale) = &stale_set {
            sets.push(stale);
        }
        let overlaps = Overlaps::of(&sets)?;
        let mut in_pairs = vec![None; tags.len()];
        for (k, &i) in paired.iter().enumerate() {
            in_pairs[i] = Some(k);
        }
        if let Some(stale) = &stale_set {
            for (i, t) in tags.iter_mut().enumerate() {
                t.stale_members = Some(match in_pairs[i] {
                    Some(k) => overlaps.both(k, paired.len()).unwrap_or(0),
                    None => store.members(t.tag)?.intersection_len(stale),
                });
            }
        }
        let (redundant, subsets) = pair_findings(&tags, &paired, &overlaps, config);

        // Dimensions: coverage, untagged customers, and the unions split suggestions need.
        let mut dimensions = Vec::new();
        let mut unions: Vec<(String, RoaringBitmap)> = Vec::new();
        for d in store.dimensions() {
            let of_dim: Vec<&RoaringBitmap> = infos
                .iter()
                .filter(|t| !t.archived && t.dimension == d.name)
                .map(|t| store.members(t.id))
                .collect::<Result<_, _>>()?;
            if of_dim.is_empty() {
                continue;
            }
            let union = of_dim.iter().copied().union();
            dimensions.push(DimensionCoverage {
                dimension: d.name.clone(),
                tags: of_dim.len(),
                customers: union.len(),
                share: share(union.len()),
            });
            unions.push((d.name.clone(), union));
        }
        let tagged = unions.iter().map(|(_, u)| u).union().len();
        let active_tags = tags.iter().filter(|t| !t.archived).count();
        let policy = store.policy();
        let taxonomy = TaxonomyHealth {
            active_tags,
            archived_tags: tags.len() - active_tags,
            band: TagCountBand::of(active_tags, customers),
            dimensions,
            tagged,
            untagged: customers.saturating_sub(tagged),
            untagged_share: share(customers.saturating_sub(tagged)),
            administrators: policy.administrators().len(),
        };

        // Flags, per tag.
        for (i, t) in tags.iter_mut().enumerate() {
            if t.archived {
                continue;
            }
            if t.share > config.oversized_share {
                let split = in_pairs[i].and_then(|k| {
                    split_suggestion(store, &infos, &paired, &overlaps, k, &unions, t)
                });
                t.flags.push(TagFlag::Oversized {
                    share: t.share,
                    split,
                });
            }
            if let Some(stale) = t.stale_members
                && stale > 0
                && stale as f64 >= config.stale_share * t.members as f64
            {
                let info = infos.get(i).copied();
                t.flags.push(TagFlag::Stale {
                    members: stale,
                    share: stale as f64 / t.members as f64,
                    query: info.map_or_else(String::new, |info| {
                        stale_query(store, info, config).to_string()
                    }),
                });
            }
            if t.idle_days > i64::from(config.silent_days) {
                t.flags.push(TagFlag::Silent {
                    idle_days: t.idle_days,
                });
            }
            if t.members == 0 {
                t.flags.push(TagFlag::Empty);
            } else if t.members < config.tiny_below {
                t.flags.push(TagFlag::Tiny { members: t.members });
            }
        }

        let findings = findings(&tags, &redundant, &subsets, &taxonomy, store);
        Ok(HealthReport {
            today,
            customers,
            config: config.clone(),
            tags,
            redundant,
            subsets,
            pairs_skipped,
            skipped,
            taxonomy,
            findings,
        })
    }
}

/// Members of `tag` whose last interaction (the config's activity attribute) is more
/// than `config.stale_days` before `today`: the segment of the stale flag, the same
/// customers as its query. Errors when the config has no activity attribute.
///
/// ```
/// use audience::{AttrKind, CustomerKey, Day, Edit, Store, TagSpec};
/// use audience::health::HealthConfig;
///
/// let today = Day::from_ymd(2025, 1, 6)?;
/// let mut store = Store::new();
/// let vip = store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
/// let last = store.define_attribute("last_interaction", AttrKind::Day)?;
/// for (i, idle) in [181, 180, 3].into_iter().enumerate() {
///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
///     store.add_tag(c, vip, today)?;
///     store.set_value(c, last, today - idle)?;
/// }
/// let sleeping = audience::health::stale_members(&store, vip, today, &HealthConfig::default())?;
/// assert_eq!(sleeping.iter().collect::<Vec<_>>(), vec![0]);
/// # Ok::<(), audience::Error>(())
/// ```
pub fn stale_members(
    store: &Store,
    tag: TagId,
    today: Day,
    config: &HealthConfig,
) -> Result<Segment, Error> {
    let members = store.members(tag)?;
    // The report skips the check without the attribute; asked for directly, a missing
    // attribute is an error naming the setting.
    let Stale::Set(stale) = stale_set(store, today, config, true)? else {
        return err(ErrorKind::InvalidSetting {
            setting: ACTIVITY,
            reason: "stale members need an activity attribute, and none is set".into(),
        });
    };
    Ok(Segment::from_bitmap(members & &stale))
}

/// The setting that names the activity attribute.
const ACTIVITY: &str = "HealthConfig::activity_attribute";

/// The stale customers, or why there are none to count.
enum Stale {
    /// Every customer whose activity attribute is before `today - stale_days`.
    Set(RoaringBitmap),
    /// No activity attribute is set.
    Unset,
    /// The activity attribute set is not in the store.
    Missing(String),
}

impl Stale {
    fn set(&self) -> Option<&RoaringBitmap> {
        match self {
            Stale::Set(s) => Some(s),
            Stale::Unset | Stale::Missing(_) => None,
        }
    }

    /// The checks skipped for want of stale customers.
    fn skipped(&self) -> Vec<SkippedCheck> {
        let reason = match self {
            Stale::Set(_) => return Vec::new(),
            Stale::Unset => {
                "no activity attribute is set (HealthConfig::activity_attribute)".to_string()
            }
            Stale::Missing(name) => format!(
                "the store has no attribute {} (set {ACTIVITY}(..) to the day attribute of \
                 each customer's last interaction)",
                quote(name)
            ),
        };
        vec![SkippedCheck {
            check: "stale memberships".into(),
            reason,
        }]
    }
}

/// The customers whose activity attribute is before `today - stale_days`, or why there
/// are none: no activity attribute set, or one the store does not have. An attribute
/// that holds numbers is an error naming the setting.
/// With `require`, a missing attribute is an error too.
fn stale_set(
    store: &Store,
    today: Day,
    config: &HealthConfig,
    require: bool,
) -> Result<Stale, Error> {
    let Some(name) = &config.activity_attribute else {
        return Ok(Stale::Unset);
    };
    if !require && store.find_attribute(name).is_none() {
        return Ok(Stale::Missing(name.clone()));
    }
    let id = store.setting_attribute(ACTIVITY, name, AttrKind::Day)?;
    let cutoff = i64::from(today.as_i32()) - i64::from(config.stale_days);
    Ok(Stale::Set(store.column(id)?.range(
        i64::MIN,
        cutoff - 1,
        None,
    )))
}

/// `tag AND <activity> BEFORE <days>d`, the tag written bare when that resolves to it.
fn stale_query(store: &Store, info: &TagInfo, config: &HealthConfig) -> Expr {
    let bare = store.tag_id(&info.name).is_ok_and(|id| id == info.id);
    let tag = TagRef {
        dimension: (!bare).then(|| info.dimension.clone()),
        name: info.name.clone(),
    };
    let activity = config.activity_attribute.clone().unwrap_or_default();
    Expr::Tag(tag).and(attr(activity).before_days(config.stale_days))
}

/// Redundant and subset pairs among the paired tags (`paired[k]` indexes `tags`).
fn pair_findings(
    tags: &[TagHealth],
    paired: &[usize],
    overlaps: &Overlaps,
    config: &HealthConfig,
) -> (Vec<RedundantPair>, Vec<SubsetPair>) {
    let mut redundant = Vec::new();
    let mut subsets = Vec::new();
    for (x, &i) in paired.iter().enumerate() {
        for (y, &j) in paired.iter().enumerate().skip(x + 1) {
            let (Some(both), Some(either), Some(a), Some(b)) = (
                overlaps.both(x, y),
                overlaps.either(x, y),
                tags.get(i),
                tags.get(j),
            ) else {
                continue;
            };
            if both == 0 {
                continue;
            }
            let jaccard = both as f64 / either as f64;
            if jaccard >= config.redundant_jaccard {
                redundant.push(RedundantPair {
                    a: a.tag,
                    b: b.tag,
                    both,
                    either,
                    jaccard,
                });
            }
            if a.members != b.members {
                let (small, large) = if a.members < b.members {
                    (a, b)
                } else {
                    (b, a)
                };
                if both == small.members {
                    subsets.push(SubsetPair {
                        subset: small.tag,
                        superset: large.tag,
                        subset_members: small.members,
                        superset_members: large.members,
                    });
                }
            }
        }
    }
    redundant.sort_by(|p, q| {
        q.jaccard
            .total_cmp(&p.jaccard)
            .then(q.both.cmp(&p.both))
            .then((p.a, p.b).cmp(&(q.a, q.b)))
    });
    subsets.sort_by_key(|s| (std::cmp::Reverse(s.subset_members), s.subset, s.superset));
    (redundant, subsets)
}

/// The split suggestion for the oversized tag `t` (`paired[k]` in the sweep).
fn split_suggestion(
    store: &Store,
    infos: &[&TagInfo],
    paired: &[usize],
    overlaps: &Overlaps,
    k: usize,
    unions: &[(String, RoaringBitmap)],
    t: &TagHealth,
) -> Option<SplitSuggestion> {
    let members = store.members(t.tag).ok()?;
    let mut best: Option<(f64, SplitSuggestion)> = None;
    for (dimension, union) in unions {
        if *dimension == t.dimension {
            continue;
        }
        let mut parts: Vec<SplitPart> = paired
            .iter()
            .enumerate()
            .filter_map(|(x, &i)| {
                let info = infos.get(i)?;
                if info.dimension != *dimension {
                    return None;
                }
                let both = overlaps.both(k, x)?;
                (both > 0).then(|| SplitPart {
                    tag: info.id,
                    name: info.name.clone(),
                    members: both,
                })
            })
            .collect();
        if parts.len() < 2 {
            continue;
        }
        let covered = members.intersection_len(union);
        if covered * 2 < t.members {
            continue;
        }
        parts.sort_by_key(|p| (std::cmp::Reverse(p.members), p.tag));
        let sum: f64 = parts.iter().map(|p| p.members as f64).sum();
        let squares: f64 = parts.iter().map(|p| (p.members as f64).powi(2)).sum();
        let coverage = covered as f64 / t.members as f64;
        let disjointness = covered as f64 / sum;
        let evenness = sum * sum / squares;
        let score = coverage * disjointness * evenness;
        let candidate = SplitSuggestion {
            dimension: dimension.clone(),
            parts,
            covered,
        };
        let better = match &best {
            None => true,
            Some((e, b)) => score > *e || (score == *e && candidate.covered > b.covered),
        };
        if better {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, s)| s)
}

/// Every finding, worst first.
fn findings(
    tags: &[TagHealth],
    redundant: &[RedundantPair],
    subsets: &[SubsetPair],
    taxonomy: &TaxonomyHealth,
    store: &Store,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if matches!(
        taxonomy.band,
        TagCountBand::TooCoarse | TagCountBand::HardToManage | TagCountBand::Large
    ) {
        out.push(Finding::TagCount {
            band: taxonomy.band,
            tags: taxonomy.active_tags,
        });
    }
    for t in tags {
        for flag in &t.flags {
            out.push(match flag {
                TagFlag::Oversized { share, .. } => Finding::Oversized {
                    tag: t.tag,
                    share: *share,
                },
                TagFlag::Empty => Finding::Empty { tag: t.tag },
                TagFlag::Tiny { members } => Finding::Tiny {
                    tag: t.tag,
                    members: *members,
                },
                TagFlag::Silent { idle_days } => Finding::Silent {
                    tag: t.tag,
                    idle_days: *idle_days,
                },
                TagFlag::Stale { members, share, .. } => Finding::Stale {
                    tag: t.tag,
                    members: *members,
                    share: *share,
                },
            });
        }
    }
    out.extend(redundant.iter().map(|p| Finding::Redundant {
        a: p.a,
        b: p.b,
        jaccard: p.jaccard,
    }));
    out.extend(subsets.iter().map(|s| Finding::Subset {
        subset: s.subset,
        superset: s.superset,
    }));
    if taxonomy.untagged > 0 {
        out.push(Finding::Untagged {
            customers: taxonomy.untagged,
            share: taxonomy.untagged_share,
        });
    }
    if taxonomy.administrators == 0 || taxonomy.administrators > 2 {
        out.push(Finding::Governance {
            administrators: taxonomy.administrators,
        });
    }
    let naming = store.policy().naming();
    if !naming.is_empty() {
        for t in tags.iter().filter(|t| !t.archived) {
            if let Some(rule) = naming.broken(&t.name, &t.dimension) {
                out.push(Finding::NamingRule { tag: t.tag, rule });
            }
        }
    }
    out.sort_by_key(Finding::rank);
    out
}
