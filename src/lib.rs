//! `audience`: customer tagging and segmentation on roaring bitmaps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod day;
mod error;

pub use day::Day;
pub use error::{Error, ErrorKind};
