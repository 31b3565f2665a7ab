//! The bottom layer: values and utilities that know nothing of customers or tags.
//!
//! - `day`: [`Day`](day::Day), days since 1970-01-01 with `YYYY-MM-DD` parsing and printing.
//! - `fold`: when two names are one (case, width, whitespace) and did-you-mean suggestions.
//! - `containers`: roaring's containers read from its portable serialization.
//! - `bits`: word-level bit utilities (the 64 x 64 transpose).

pub(crate) mod bits;
pub(crate) mod containers;
pub(crate) mod day;
pub(crate) mod fold;
