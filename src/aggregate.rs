//! Aggregates of an attribute over any set of customers: a tag, a query result, an RFM
//! segment.
//!
//! [`Summary::of`](crate::Summary::of) gives the count, sum, mean, minimum and maximum;
//! [`aggregate::quantiles`](crate::aggregate::quantiles) gives quantiles. Only customers that have a value count; the
//! customers of the set without one are reported as `missing`.
//!
//! # Quantile method
//!
//! Quantiles are **nearest-rank** (the inverse of the empirical distribution function;
//! Hyndman & Fan's definition 1, numpy's `method="inverted_cdf"`): with the `n` values
//! sorted ascending as `x[1] <= ... <= x[n]`, the quantile `p` is `x[k]` with
//! `k = max(1, ceil(p * n))`. So `p = 0` is the minimum, `p = 1` the maximum, and every
//! quantile is a value some customer really has (a day stays a day, a decimal keeps its
//! places). The median of `[1, 2, 3, 4]` is `2`, not numpy's default (linear interpolation)
//! `2.5`.
//!
//! ```
//! use audience::{AttrKind, CustomerKey, Store, Value};
//!
//! let mut store = Store::new();
//! let spend = store.define_attribute("monetary", AttrKind::Int)?;
//! for (i, v) in [400, 100, 300, 200].into_iter().enumerate() {
//!     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
//!     store.set_value(c, spend, v)?;
//! }
//! store.add_customer(CustomerKey::member("no spend yet")?)?;
//!
//! let everyone = store.customers().clone();
//! let s = audience::Summary::of(&store, spend, &everyone)?;
//! assert_eq!((s.count, s.missing, s.sum), (4, 1, 1_000));
//! assert_eq!(s.mean(), Some(250.0));
//! assert_eq!((s.min, s.max), (Some(Value::Int(100)), Some(Value::Int(400))));
//!
//! let q = audience::aggregate::quantiles(&store, spend, &everyone, &[0.0, 0.5, 0.9, 1.0])?;
//! assert_eq!(q, vec![Some(Value::Int(100)), Some(Value::Int(200)), Some(Value::Int(400)), Some(Value::Int(400))]);
//! # Ok::<(), audience::Error>(())
//! ```

use std::fmt;

use roaring::RoaringBitmap;

use crate::base::text::{counted, thousands};
use crate::decimal::{mean_units, units_text};
use crate::error::{Error, ErrorKind, err};
use crate::store::Store;
use crate::store::attribute::{AttrId, AttrKind, Column, Value};

/// Count, sum, minimum and maximum of an attribute over a set of customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Summary {
    /// What the attribute holds.
    pub kind: AttrKind,
    /// Customers of the set with a value.
    pub count: u64,
    /// Live customers of the set without a value.
    pub missing: u64,
    /// The sum of the values (a day counts as its number of days since 1970-01-01, a
    /// decimal as its units: cents at scale 2). Exact: an `i128` cannot overflow from
    /// `u32::MAX` values of `i64`.
    pub sum: i128,
    /// The smallest value; `None` when `count` is 0.
    pub min: Option<Value>,
    /// The largest value; `None` when `count` is 0.
    pub max: Option<Value>,
}

impl Summary {
    /// The mean (`sum / count`); `None` when `count` is 0. A day attribute's mean is a
    /// number of days since 1970-01-01, a decimal attribute's a number of its units (cents
    /// at scale 2); [`Summary::mean_value`] gives it as a value of the attribute's kind.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The mean as a value of the attribute's kind, computed exactly from the sum and
    /// rounded half away from zero to the attribute's precision: a whole number, a day, or
    /// a decimal with the attribute's places (the mean of 10.00 and 10.05 is 10.03).
    /// `None` when `count` is 0.
    ///
    /// ```
    /// use audience::{AttrKind, CustomerKey, Decimal, Store, Summary, Value};
    ///
    /// let mut store = Store::new();
    /// let spend = store.define_attribute("spend", AttrKind::Decimal { scale: 2 })?;
    /// for (i, v) in ["10.00", "10.05", "15396.18"].into_iter().enumerate() {
    ///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
    ///     store.set_value(c, spend, Decimal::parse_at(v, 2)?)?;
    /// }
    /// let s = Summary::of(&store, spend, store.customers())?;
    /// assert_eq!(s.mean_value().map(|v| v.to_string()), Some("5138.74".to_string()));
    /// assert_eq!(
    ///     s.to_string(),
    ///     "3 values: sum 15,416.23, mean 5,138.74, min 10.00, max 15,396.18"
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn mean_value(&self) -> Option<Value> {
        let m = mean_units(self.sum, self.count)?;
        // The mean lies between the minimum and the maximum, so it fits an i64.
        let m = i64::try_from(m).unwrap_or(if m < 0 { i64::MIN } else { i64::MAX });
        Some(Value::from_raw(self.kind, m))
    }
}

/// `3 values (1 missing): sum 15,416.23, mean 5,138.74, min 10.00, max 15,396.18`: numbers
/// and decimals with thousands separators and the attribute's places, the mean as
/// [`Summary::mean_value`] rounds it; a day attribute shows its mean, earliest and latest
/// day and no sum.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&counted(self.count, "value", "values"))?;
        if self.missing > 0 {
            write!(f, " ({} missing)", thousands(self.missing))?;
        }
        let text = |v: Option<Value>| match v {
            None => "-".to_string(),
            Some(Value::Day(d)) => d.to_string(),
            Some(v) => units_text(i128::from(v.raw()), self.kind.scale(), true),
        };
        if self.count == 0 {
            return Ok(());
        }
        f.write_str(": ")?;
        if self.kind != AttrKind::Day {
            write!(f, "sum {}, ", units_text(self.sum, self.kind.scale(), true))?;
        }
        write!(
            f,
            "mean {}, min {}, max {}",
            text(self.mean_value()),
            text(self.min),
            text(self.max)
        )
    }
}

/// Calls `f` with the value of every customer of `set` that has one, in id order.
fn for_each_value(col: &Column, set: &RoaringBitmap, mut f: impl FnMut(i64)) {
    col.for_each(&(set & col.present()), |_, v| f(v));
}

impl Summary {
    /// Count, sum, mean, minimum and maximum of `attr` over the customers of `set` (a
    /// segment's bitmap, a tag's members...). Ids in `set` that are not live customers are
    /// ignored. See the [module docs](crate::aggregate) for an example.
    pub fn of(store: &Store, attr: AttrId, set: &RoaringBitmap) -> Result<Summary, Error> {
        let kind = store.attribute(attr)?.kind;
        let col = store.column(attr)?;
        let mut count = 0u64;
        let mut sum = 0i128;
        let mut min = i64::MAX;
        let mut max = i64::MIN;
        for_each_value(col, set, |v| {
            count += 1;
            sum += i128::from(v);
            min = min.min(v);
            max = max.max(v);
        });
        let live = set.intersection_len(store.customers());
        let value = |raw| (count > 0).then(|| Value::from_raw(kind, raw));
        Ok(Summary {
            kind,
            count,
            missing: live.saturating_sub(count),
            sum,
            min: value(min),
            max: value(max),
        })
    }
}

/// Nearest-rank quantiles of `attr` over the customers of `set`, one per probability of
/// `probs` (each in `0.0..=1.0`); `None` for every one when no customer of the set has a
/// value. See the [module docs](crate::aggregate) for the method.
pub fn quantiles(
    store: &Store,
    attr: AttrId,
    set: &RoaringBitmap,
    probs: &[f64],
) -> Result<Vec<Option<Value>>, Error> {
    if let Some(p) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return err(ErrorKind::InvalidArgument(format!(
            "a quantile is a probability from 0 to 1, got {p}"
        )));
    }
    let kind = store.attribute(attr)?.kind;
    let col = store.column(attr)?;
    let mut vals = Vec::new();
    for_each_value(col, set, |v| vals.push(v));
    vals.sort_unstable();
    let n = vals.len();
    Ok(probs
        .iter()
        .map(|&p| {
            let k = nearest_rank(p, n)?;
            vals.get(k - 1).map(|&raw| Value::from_raw(kind, raw))
        })
        .collect())
}

/// The 1-based rank of quantile `p` among `n` sorted values: `max(1, ceil(p * n))`;
/// `None` when `n` is 0.
fn nearest_rank(p: f64, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let k = (p * n as f64).ceil();
    Some((k as usize).clamp(1, n))
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_by_hand() {
        // n = 4: p = 0.25 -> ceil(1) = 1, 0.26 -> ceil(1.04) = 2, 0.5 -> 2, 0.75 -> 3.
        let ranks: Vec<usize> = [0.0, 0.25, 0.26, 0.5, 0.51, 0.75, 0.99, 1.0]
            .iter()
            .filter_map(|&p| nearest_rank(p, 4))
            .collect();
        assert_eq!(ranks, vec![1, 1, 2, 2, 3, 3, 4, 4]);
        assert_eq!(nearest_rank(0.5, 0), None);
        assert_eq!(nearest_rank(0.9, 1), Some(1));
        // Decimal probabilities land on the exact rank: 0.9 * 10 is 9, not 9.000...1.
        assert_eq!(nearest_rank(0.9, 10), Some(9));
        assert_eq!(nearest_rank(0.7, 10), Some(7));
        assert_eq!(nearest_rank(0.2, 1_000_000), Some(200_000));
    }
}
