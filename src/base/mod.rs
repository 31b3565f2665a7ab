//! The bottom layer: utilities that know nothing of customers, tags or errors.
//!
//! - `fold`: when two names are one (case, width, whitespace) and did-you-mean suggestions.
//! - `containers`: roaring's containers read from its portable serialization.
//! - `bits`: word-level bit utilities (the 64 x 64 transpose).
//! - `normal`: the normal distribution (erfc, Φ and its quantile) for significance tests.
//! - `pairs`: `|A ∩ B|` for every pair of a list of bitmaps, in one sweep over their
//!   containers.
//! - `text`: names quoted for messages without escaping Thai, Arabic or CJK marks.
//!
//! Nothing here imports anything of the crate: every other layer may use it.

pub(crate) mod bits;
pub(crate) mod containers;
pub(crate) mod fold;
pub(crate) mod normal;
pub(crate) mod pairs;
pub(crate) mod text;
