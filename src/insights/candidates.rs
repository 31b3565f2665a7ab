//! The candidate sets an insight examines: tags, RFM scores and segments, groups (tiers),
//! attribute bands. Each comes with its dimension (pairs are only formed across dimensions)
//! and the query text that selects it.

use std::borrow::Cow;

use roaring::RoaringBitmap;

use crate::aggregate::quantiles;
use crate::day::Day;
use crate::decimal::Decimal;
use crate::error::{Error, ErrorKind, err};
use crate::query::{Expr, Literal, Query, attr, set, tag_in};
use crate::rfm::{Measure, RfmScores};
use crate::store::Store;
use crate::store::attribute::{AttrKind, Value};
use crate::tiers::Assignment;

/// The most bands one attribute is cut into.
pub const MAX_BANDS: usize = 20;

/// Where a candidate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Source {
    /// A tag; its dimension is the tag's.
    Tag,
    /// One RFM score of one measure (`rfm.r = 5`); the dimension is the measure's term.
    RfmScore,
    /// A named RFM segment (`rfm.segment = "At risk"`); the dimension is `rfm.segment`.
    RfmSegment,
    /// A group of an [`Assignment`] (a tier not written to tags), selected by `@name`.
    Group,
    /// A band of a numeric attribute's values; the dimension is the attribute.
    Band,
}

/// One candidate set: what it is and the query text that selects it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Candidate {
    /// Where it comes from.
    pub source: Source,
    /// Its dimension: a tag's dimension, `rfm.r`, an attribute's name...
    pub dimension: String,
    /// A short name within the dimension: the tag's name, `R5`, `2 to 4`.
    pub label: String,
    /// The query text that selects it (`age:"25-34"`, `rfm.r = 5`,
    /// `purchase_count BETWEEN 2 AND 4`): parse it to preview, materialise or keep it
    /// fresh with a rule.
    pub query: String,
}

/// How a numeric attribute is cut into bands: by quantiles of its values, or at given edges.
///
/// Every band is a range `lo..=hi` written as a query: `x < a`, `x BETWEEN a AND b`,
/// `x = a` or `x >= b`. Customers without a value are in no band.
///
/// ```
/// use audience::Value;
/// use audience::insights::Bands;
///
/// let quartiles = Bands::quantiles(4)?;
/// let spend = Bands::edges([1_000, 10_000, 100_000])?;
/// assert_eq!(
///     Bands::edges([5, 5]).unwrap_err().to_string(),
///     "invalid setting Bands::edges: edges must increase, got 5 after 5"
/// );
/// # let _ = (quartiles, spend, Value::Int(0));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawBands", into = "RawBands"))]
pub struct Bands {
    cut: Cut,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cut {
    Quantiles(u8),
    Edges(Vec<Value>),
}

/// The serialised form of [`Bands`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawBands {
    Quantiles(u8),
    Edges(Vec<Value>),
}

#[cfg(feature = "serde")]
impl TryFrom<RawBands> for Bands {
    type Error = Error;
    fn try_from(raw: RawBands) -> Result<Bands, Error> {
        match raw {
            RawBands::Quantiles(k) => Bands::quantiles(k),
            RawBands::Edges(e) => Bands::edges(e),
        }
    }
}

#[cfg(feature = "serde")]
impl From<Bands> for RawBands {
    fn from(b: Bands) -> RawBands {
        match b.cut {
            Cut::Quantiles(k) => RawBands::Quantiles(k),
            Cut::Edges(e) => RawBands::Edges(e),
        }
    }
}

impl Bands {
    /// `k` bands of about equal size, cut at the nearest-rank quantiles `1/k, 2/k, ...` of
    /// the values (each cut value closes its band; tied values stay together, so there can
    /// be fewer bands: one, `x IS NOT NULL`, when every value is the same). `k` from 2 to
    /// [`MAX_BANDS`].
    pub fn quantiles(k: u8) -> Result<Bands, Error> {
        if !(2..=MAX_BANDS).contains(&usize::from(k)) {
            return err(ErrorKind::InvalidSetting {
                setting: "Bands::quantiles",
                reason: format!("the number of bands is from 2 to {MAX_BANDS}, got {k}"),
            });
        }
        Ok(Bands {
            cut: Cut::Quantiles(k),
        })
    }

    /// Bands that start at each edge: `x < e1`, `e1 <= x < e2`, ..., `x >= en`. Edges
    /// increase strictly, are all numbers or all days, and number 1 to `MAX_BANDS - 1`.
    pub fn edges<V: Into<Value>>(edges: impl IntoIterator<Item = V>) -> Result<Bands, Error> {
        let edges: Vec<Value> = edges.into_iter().map(Into::into).collect();
        let bad = |reason: String| {
            err(ErrorKind::InvalidSetting {
                setting: "Bands::edges",
                reason,
            })
        };
        if edges.is_empty() || edges.len() >= MAX_BANDS {
            return bad(format!(
                "from 1 to {} edges, got {}",
                MAX_BANDS - 1,
                edges.len()
            ));
        }
        for w in edges.windows(2) {
            if w[0].kind() != w[1].kind() {
                return bad(format!("edges are all numbers or all days, got {}", w[1]));
            }
            if w[1].raw() <= w[0].raw() {
                return bad(format!("edges must increase, got {} after {}", w[1], w[0]));
            }
        }
        Ok(Bands {
            cut: Cut::Edges(edges),
        })
    }
}

/// The candidates of an insight, with their sets. Built from one store, which it borrows
/// (tags' members are not copied):
///
/// ```
/// use audience::{CustomerKey, Day, Edit, Store, TagSpec};
/// use audience::insights::{Bands, Candidates, Source};
///
/// let mut store = Store::new();
/// let e = Edit::new("admin", Day::EPOCH);
/// let women = store.create_tag(&e, TagSpec::new("women").dimension("gender"))?;
/// let n = store.define_attribute("purchase_count", audience::AttrKind::Int)?;
/// for i in 0..10 {
///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
///     store.set_value(c, n, i64::from(i % 4))?;
///     if i % 2 == 0 {
///         store.add_tag(c, women, Day::EPOCH)?;
///     }
/// }
/// let cands = Candidates::tags(&store).with_bands("purchase_count", &Bands::edges([2])?)?;
/// let queries: Vec<&str> = cands.iter().map(|c| c.query.as_str()).collect();
/// assert_eq!(queries, ["gender:women", "purchase_count < 2", "purchase_count >= 2"]);
/// assert_eq!(cands.members(1).map(|m| m.len()), Some(6)); // values 0 and 1
/// assert_eq!(cands.get(0).map(|c| c.source), Some(Source::Tag));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone)]
pub struct Candidates<'a> {
    store: &'a Store,
    list: Vec<Candidate>,
    sets: Vec<Cow<'a, RoaringBitmap>>,
    /// Index of each candidate's dimension in `dim_names`.
    dims: Vec<u32>,
    dim_names: Vec<String>,
    /// Whether the set is known to hold only live customers of `store`.
    live: Vec<bool>,
}

impl std::fmt::Debug for Candidates<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidates")
            .field("candidates", &self.list)
            .finish_non_exhaustive()
    }
}

impl<'a> Candidates<'a> {
    /// No candidates yet.
    pub fn new(store: &'a Store) -> Candidates<'a> {
        Candidates {
            store,
            list: Vec::new(),
            sets: Vec::new(),
            dims: Vec::new(),
            dim_names: Vec::new(),
            live: Vec::new(),
        }
    }

    /// Every tag of the store that is not archived, in id order.
    pub fn tags(store: &'a Store) -> Candidates<'a> {
        Candidates::new(store).with_tags()
    }

    /// Adds every tag that is not archived (`dimension:name` as the query).
    pub fn with_tags(mut self) -> Candidates<'a> {
        let store = self.store;
        for info in store.tags().filter(|t| !t.archived) {
            let Ok(members) = store.members(info.id) else {
                continue;
            };
            let query = tag_in(info.dimension.as_str(), info.name.as_str());
            self.push(
                Source::Tag,
                &info.dimension,
                info.name.clone(),
                &query,
                Cow::Borrowed(members),
                true,
            );
        }
        self
    }

    /// Adds every RFM score of every measure (`rfm.r = 1` ... `rfm.m = 5`) and every named
    /// segment (`rfm.segment = "Champions"`). Their queries need the scores in the context
    /// (`Context::with_terms(&scores)`).
    pub fn with_rfm(mut self, scores: &'a RfmScores) -> Candidates<'a> {
        let live = scores.scored().is_subset(self.store.customers());
        for m in Measure::ALL {
            for score in 1..=scores.bins(m) {
                let Some(members) = scores.customers(m, score) else {
                    continue;
                };
                let query = attr(m.term()).eq(i64::from(score));
                let label = format!("{}{score}", m.letter());
                self.push(
                    Source::RfmScore,
                    m.term(),
                    label,
                    &query,
                    Cow::Borrowed(members),
                    live,
                );
            }
        }
        for (name, members) in scores.segments() {
            let query = attr("rfm.segment").eq(name);
            self.push(
                Source::RfmSegment,
                "rfm.segment",
                name.to_string(),
                &query,
                Cow::Borrowed(members),
                live,
            );
        }
        self
    }

    /// Adds the groups of an assignment (tiers, segments not written to tags) as one
    /// dimension. Each group's query is `@group`: pass the group in the context
    /// (`Context::with_set(name, set)`) to evaluate it, or write the assignment to tags
    /// first (`Assignment::write`) and take the tags instead.
    pub fn with_groups(mut self, dimension: &str, groups: &'a Assignment) -> Candidates<'a> {
        let live = groups.assigned().is_subset(self.store.customers());
        for (name, members) in groups.groups() {
            self.push(
                Source::Group,
                dimension,
                name.to_string(),
                &set(name),
                Cow::Borrowed(members),
                live,
            );
        }
        self
    }

    /// Adds the bands of a numeric attribute, quantiles computed over every customer with a
    /// value. Errors with the store's lookup error for an unknown attribute, and with
    /// [`ErrorKind::AttributeType`] when edges are days and the attribute holds numbers (or
    /// the other way round).
    pub fn with_bands(self, attribute: &str, bands: &Bands) -> Result<Candidates<'a>, Error> {
        let everyone = self.store.customers();
        self.with_bands_within(attribute, bands, everyone)
    }

    /// [`Candidates::with_bands`], with the quantiles computed over the customers of
    /// `scope` (the base the insight will compare against). Edges ignore the scope.
    pub fn with_bands_within(
        mut self,
        attribute: &str,
        bands: &Bands,
        scope: &RoaringBitmap,
    ) -> Result<Candidates<'a>, Error> {
        let store = self.store;
        let id = store.attribute_id(attribute)?;
        let info = store.attribute(id)?;
        let (name, kind) = (info.name.clone(), info.kind);
        let cuts: Vec<i64> = match &bands.cut {
            Cut::Edges(edges) => {
                let mut raw = Vec::with_capacity(edges.len());
                for &e in edges {
                    // A decimal edge counts at the attribute's places when that is exact.
                    let units = match (kind, e) {
                        (AttrKind::Decimal { scale }, Value::Decimal(d)) => {
                            d.rescale(scale).map(Decimal::units)
                        }
                        _ => (e.kind() == kind).then(|| e.raw()),
                    };
                    let Some(units) = units else {
                        return err(ErrorKind::AttributeType {
                            attribute: name,
                            expected: kind.noun(),
                            found: e.kind().noun(),
                        });
                    };
                    raw.push(units);
                }
                raw
            }
            Cut::Quantiles(k) => {
                let probs: Vec<f64> = (1..=*k).map(|i| f64::from(i) / f64::from(*k)).collect();
                let qs = quantiles(store, id, scope, &probs)?;
                let Some(Some(max)) = qs.last() else {
                    return Ok(self);
                };
                let max = max.raw();
                let mut cuts: Vec<i64> = qs[..qs.len() - 1]
                    .iter()
                    .flatten()
                    .map(|q| q.raw().saturating_add(1))
                    .filter(|&c| c <= max)
                    .collect();
                cuts.dedup();
                cuts
            }
        };
        let lit = |raw: i64| match kind {
            AttrKind::Int => Literal::Int(raw),
            AttrKind::Day => Literal::Day(Day(
                raw.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
            )),
            AttrKind::Decimal { scale } => Literal::Decimal(Decimal::from_parts(raw, scale)),
        };
        for i in 0..=cuts.len() {
            let lo = i.checked_sub(1).map(|j| cuts[j]);
            let hi = cuts.get(i).map(|&c| c.saturating_sub(1));
            let (expr, label) = match (lo, hi) {
                // Every value tied: one band, everyone with a value.
                (None, None) => (attr(name.as_str()).is_not_null(), "any value".to_string()),
                (None, Some(_)) => {
                    let c = lit(cuts[0]);
                    (attr(name.as_str()).lt(c.clone()), format!("< {c}"))
                }
                (Some(lo), None) => (attr(name.as_str()).ge(lit(lo)), format!(">= {}", lit(lo))),
                (Some(lo), Some(hi)) if lo == hi => {
                    (attr(name.as_str()).eq(lit(lo)), format!("= {}", lit(lo)))
                }
                (Some(lo), Some(hi)) => (
                    attr(name.as_str()).between(lit(lo), lit(hi)),
                    format!("{} to {}", lit(lo), lit(hi)),
                ),
            };
            // The set is what the query selects: a band holds the same customers whether
            // it is counted here or its query is run later. No relative days are involved,
            // so the day the query is evaluated on does not matter.
            let members = store.select(&Query::new(expr.clone()), Day::EPOCH)?;
            self.push(
                Source::Band,
                &name,
                label,
                &expr,
                Cow::Owned(members.into_bitmap()),
                true,
            );
        }
        Ok(self)
    }

    fn push(
        &mut self,
        source: Source,
        dimension: &str,
        label: String,
        query: &Expr,
        members: Cow<'a, RoaringBitmap>,
        live: bool,
    ) {
        let dim = match self.dim_names.iter().position(|d| d == dimension) {
            Some(d) => d,
            None => {
                self.dim_names.push(dimension.to_string());
                self.dim_names.len() - 1
            }
        };
        self.list.push(Candidate {
            source,
            dimension: dimension.to_string(),
            label,
            query: query.to_string(),
        });
        self.sets.push(members);
        self.dims.push(dim as u32);
        self.live.push(live);
    }

    /// How many candidates.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Candidate `i`.
    pub fn get(&self, i: usize) -> Option<&Candidate> {
        self.list.get(i)
    }

    /// The customers of candidate `i`.
    pub fn members(&self, i: usize) -> Option<&RoaringBitmap> {
        self.sets.get(i).map(|s| &**s)
    }

    /// Every candidate, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Candidate> {
        self.list.iter()
    }

    /// The store the candidates were made from.
    pub(super) fn store(&self) -> &'a Store {
        self.store
    }

    /// Candidate `i`'s dimension, as an index.
    pub(super) fn dim(&self, i: usize) -> u32 {
        self.dims[i]
    }

    /// Whether candidate `i` holds only live customers of its store.
    pub(super) fn is_live(&self, i: usize) -> bool {
        self.live[i]
    }

    pub(super) fn set(&self, i: usize) -> &RoaringBitmap {
        &self.sets[i]
    }
}
