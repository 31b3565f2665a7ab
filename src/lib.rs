//! `audience`: customer tagging and segmentation on roaring bitmaps.
//!
//! Marketing teams tag their customers (purchasing power, interests, purchase stage, source
//! channel, activity, VIP...), pick audiences by combining tags with attribute conditions,
//! and keep tags fresh. `audience` is the engine under such tools: an embeddable, pure
//! library where every tag is a [`RoaringBitmap`] of dense customer ids, numeric attributes
//! are indexed for range predicates, and everything happens in memory with no I/O and no
//! clock of its own: callers pass text, readers, writers and "today".
//!
//! - [`Store`]: customers ([`CustomerKey`]: E.164 phone numbers or member ids), the
//!   taxonomy of tags ([`TagSpec`], names in any script, unique per dimension after
//!   folding), memberships with the day each was assigned, numeric attributes, and the
//!   change log. Cheap to clone for readers; every batch validates before it applies.
//! - [`query`]: a segment language with three faces (text, serde AST, builder), a planner
//!   and an evaluator that counts without materialising and explains its funnel.
//! - [`phone`]: messy phone numbers to E.164 digits.
//! - [`import`]: customer lists (CSV, TXT) in, validated whole before anything changes, with
//!   a report of every row; [`export`]: rows, hashed ad audiences and bitmaps for ClickHouse,
//!   Doris and StarRocks out.
//! - [`snapshot`]: the whole store to an `impl Write` and back from an `impl Read`, in a
//!   versioned, checksummed format specified in `SNAPSHOT.md` ([`snapshot::write`],
//!   [`snapshot::read`]); with the app's rule sets, send logs, RFM configurations
//!   and tiers alongside ([`Extras`], [`snapshot::write_with`],
//!   [`snapshot::read_with`]).
//! - [`journal`]: every change to a store as checksummed records the app appends to a file
//!   of its own between snapshots, and [`journal::replay`] to recover after a crash
//!   (format in `JOURNAL.md`).
//!
//! # Example
//!
//! The worked example of CRM tagging guides: of 10,000 customers, 2,500 are interested in cosmetics, 4,000
//! purchased, 1,200 both, and 800 of those bought lipstick.
//!
//! ```
//! use audience::{CustomerKey, Day, Edit, Query, RoaringBitmap, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 1)?;
//! let admin = Edit::new("admin", today);
//! let mut store = Store::new();
//! store.ensure_customers((0..10_000u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))?;
//! let cosmetics = store.create_tag(&admin, TagSpec::new("interest-cosmetics"))?;
//! let purchased = store.create_tag(&admin, TagSpec::new("stage-purchased"))?;
//! let lipstick = store.create_tag(&admin, TagSpec::new("product-lipstick"))?;
//! store.add_tag_bulk(cosmetics, &(0..2_500).collect(), today)?;
//! store.add_tag_bulk(purchased, &(1_300..5_300).collect(), today)?;
//! store.add_tag_bulk(lipstick, &(1_300..2_100).collect(), today)?;
//!
//! let q = Query::parse("interest-cosmetics AND stage-purchased EXCLUDE product-lipstick")?;
//! assert_eq!(store.count(&q, today)?, 400);
//! let audience: RoaringBitmap = store.select(&q, today)?.into_bitmap();
//! assert_eq!(audience.min(), Some(2_100));
//! # Ok::<(), audience::Error>(())
//! ```
//!
//! See `ARCHITECTURE.md` for the data layout and the query pipeline.
// Lints are set once, in Cargo.toml's `[lints]`; modules that parse untrusted bytes also
// deny the constructs that can panic.

// Modules. Their layers, bottom to top, are in ARCHITECTURE.md; `.ci/layers.py` checks that
// imports only go down them.
pub mod aggregate;
mod base;
pub mod campaign;
mod day;
mod decimal;
mod error;
pub mod health;
pub mod insights;
mod io;
pub mod phone;
pub mod query;
pub mod rfm;
pub mod rules;
mod segment;
mod store;
pub mod tiers;

pub use io::{engine, export, import, snapshot};
pub use store::journal;
pub use store::policy as governance;

pub use aggregate::Summary;
pub use base::fold::{MAX_NAME_CHARS, MAX_TEXT_CHARS};
pub use day::{Day, MAX_PERIOD_DAYS, Period, PeriodUnit};
pub use decimal::Decimal;
pub use error::{
    Error, ErrorKind, IoError, JournalError, JournalProblem, QueryError, QueryProblem, Span,
};
pub use health::{HealthConfig, HealthReport};
pub use query::{Context, Explain, Plan, Query, Step, StepOp, Strategy};
pub use rfm::{
    Binning, FirstMatchMap, GridCell, Measure, MeasureSpec, RfmConfig, RfmGrid, RfmScore,
    RfmScores, ScoreRow, ScoreTable, SegmentMap, SegmentRow, SegmentRule, SegmentTable,
};
pub use rules::lifecycle::Lifecycle;
pub use rules::{Rule, RuleReport, RuleSet, Run, RunReport, TagSelector, TagTarget, TagTemplate};
pub use segment::Segment;
pub use snapshot::{Extras, Section, SnapshotError, SnapshotProblem};
pub use store::attribute::{AttrId, AttrInfo, AttrKind, ColumnValue, Value};
pub use store::directory::{CustomerId, CustomerKey, KeyRef, MAX_MEMBER_ID_BYTES};
pub use store::policy::{
    MAX_ADMINISTRATORS, MAX_FORBIDDEN_CHARS, MAX_PREFIXES, NamingRules, PREFIX_SEPARATORS, Policy,
    TaxonomyAction,
};
pub use store::taxonomy::{
    Change, DimensionInfo, Edit, LogEntry, MAX_TAGS, TagCount, TagId, TagInfo, TagKind, TagSpec,
    dimensions,
};
pub use store::{AttrMemory, MAX_ATTRIBUTES, MAX_FOUND_TAGS, MemoryUsage, Store, TagDiff};

pub use export::{AdPlatform, BitmapFormat, Export};
pub use import::{ImportReport, Importer};
pub use phone::{Country, Phone, PhoneError, normalize_phone};
pub use tiers::{Assignment, GroupChange, GroupWrite, Migration, Tier, Tiers};

pub use roaring::RoaringBitmap;

/// The README's example, compiled and run as a doctest so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The crate's design documents, rendered with the API docs.
pub mod docs {
    /// How the crate is built: its layers, the capability shape, the data layout, the query
    /// pipeline and the limits (the repository's `ARCHITECTURE.md`).
    #[doc = include_str!("../ARCHITECTURE.md")]
    pub mod architecture {}

    /// The snapshot format, byte by byte (the repository's `SNAPSHOT.md`).
    #[doc = include_str!("../SNAPSHOT.md")]
    pub mod snapshot_format {}

    /// The change journal's format, byte by byte (the repository's `JOURNAL.md`).
    #[doc = include_str!("../JOURNAL.md")]
    pub mod journal_format {}
}
