//! `audience`: customer tagging and segmentation on roaring bitmaps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attribute;
mod day;
mod directory;
mod error;
mod fold;
mod lifecycle;
mod membership;
pub mod query;
pub mod rules;
mod segment;
mod store;
mod taxonomy;

pub use attribute::{AttrId, AttrInfo, AttrKind, Value};
pub use day::Day;
pub use directory::{CustomerId, CustomerKey, KeyRef, MAX_MEMBER_ID_BYTES};
pub use error::{Error, ErrorKind, QueryError, QueryProblem, Span};
pub use fold::MAX_NAME_CHARS;
pub use lifecycle::Lifecycle;
pub use query::{Context, Explain, Plan, Query, Step, StepOp, Strategy};
pub use rules::{
    Rule, RuleReport, RuleSet, Run, RunReport, TagCount, TagSelector, TagTarget, TagTemplate,
};
pub use segment::Segment;
pub use store::{MAX_ATTRIBUTES, MemoryUsage, Store, TagDiff};
pub use taxonomy::{
    Change, DimensionInfo, Edit, LogEntry, MAX_TAGS, TagId, TagInfo, TagKind, TagSpec, dimensions,
};

pub use roaring::RoaringBitmap;
