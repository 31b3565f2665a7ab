//! `audience`: customer tagging and segmentation on roaring bitmaps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod day;
mod error;
pub mod phone;

pub use day::Day;
pub use error::{Error, ErrorKind};
pub use phone::{Country, Phone, PhoneError, normalize_phone};
