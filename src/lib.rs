//! `audience`: customer tagging and segmentation on roaring bitmaps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aggregate;
mod attribute;
mod day;
mod directory;
mod error;
mod fold;
mod membership;
pub mod query;
pub mod rfm;
mod segment;
mod store;
mod taxonomy;
pub mod tiers;

pub use aggregate::Summary;
pub use attribute::{AttrId, AttrInfo, AttrKind, Value};
pub use day::Day;
pub use directory::{CustomerId, CustomerKey, KeyRef, MAX_MEMBER_ID_BYTES};
pub use error::{Error, ErrorKind, QueryError, QueryProblem, Span};
pub use fold::MAX_NAME_CHARS;
pub use query::{Context, Explain, Plan, Query, Step, StepOp, Strategy};
pub use rfm::{
    Binning, GridCell, Measure, MeasureSpec, RfmConfig, RfmGrid, RfmScore, RfmScores, ScoreRow,
    ScoreTable, SegmentMap, SegmentRow, SegmentRule, SegmentTable,
};
pub use segment::Segment;
pub use store::{MAX_ATTRIBUTES, MemoryUsage, Store, TagDiff};
pub use taxonomy::{
    Change, DimensionInfo, Edit, LogEntry, MAX_TAGS, TagId, TagInfo, TagKind, TagSpec, dimensions,
};

pub use tiers::{Assignment, GroupChange, GroupWrite, Migration, Tier, Tiers};

pub use roaring::RoaringBitmap;
