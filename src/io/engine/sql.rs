//! A bound query as ClickHouse SQL over the exported tables.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use std::fmt::Write as _;

use crate::day::{Day, Period};
use crate::decimal::units_text;
use crate::error::{Error, ErrorKind};
use crate::io::export::{BitmapFormat, base64};
use crate::query::{CmpOp, Context, Expr, Literal, Query, TagRef, literal_units};
use crate::store::Store;
use crate::store::attribute::AttrKind;
use crate::store::directory::CustomerId;

use super::tables::{DECIMAL64_UNITS, Tables};
use super::{CLICKHOUSE, DATE32_MAX, DATE32_MIN};

/// The longest `@name` set embedded in SQL, in characters of base64: ClickHouse parses at
/// most 256 KiB of query text by default (`max_query_size`).
pub const MAX_SET_SQL_CHARS: usize = 65_536;

/// A query translated to ClickHouse SQL: the bitmap of every term defined once in a `WITH`
/// clause, and their combination. Each form is a complete statement.
///
/// Made by [`translate`]; see the [module documentation](super) for the tables it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sql {
    defs: Vec<String>,
    result: String,
    customers: String,
}

impl Sql {
    fn with(&self) -> String {
        let mut out = String::from("WITH\n");
        for (i, d) in self.defs.iter().enumerate() {
            let _ = writeln!(out, "    {d} AS `q-{}`,", i + 1);
        }
        let _ = writeln!(out, "    {} AS `q-result`", self.result);
        out
    }

    /// `SELECT` of the number of customers selected (one row, one `UInt64`).
    pub fn count(&self) -> String {
        format!(
            "{}SELECT bitmapCardinality(`q-result`) AS customers",
            self.with()
        )
    }

    /// `SELECT` of the ids selected, ascending, as one `Array(UInt32)` (`bitmapToArray`,
    /// sorted: a small `groupBitmap` set keeps its ids in the order they were added).
    pub fn ids(&self) -> String {
        format!(
            "{}SELECT arraySort(bitmapToArray(`q-result`)) AS ids",
            self.with()
        )
    }

    /// `SELECT` of at most `limit` ids selected after the id `after` (from the first when
    /// `None`), ascending, as one `Array(UInt32)` (`bitmapSubsetLimit`): pass the last id of
    /// a page as `after` to get the next one.
    pub fn ids_page(&self, after: Option<CustomerId>, limit: u32) -> String {
        let start = match after {
            None => 0,
            Some(id) => match id.checked_add(1) {
                Some(s) => s,
                None => return format!("{}SELECT emptyArrayUInt32() AS ids", self.with()),
            },
        };
        format!(
            "{}SELECT arraySort(bitmapToArray(bitmapSubsetLimit(`q-result`, toUInt32({start}), toUInt32({limit})))) AS ids",
            self.with()
        )
    }

    /// `SELECT` of the id and key (phone digits or member id) of every customer selected,
    /// one row each, by id, from the customers table.
    pub fn keys(&self) -> String {
        format!(
            "{}SELECT id, `key` FROM {} WHERE bitmapContains(`q-result`, id) ORDER BY id",
            self.with(),
            self.customers
        )
    }

    /// [`Sql::keys`], at most `limit` rows after the id `after`.
    pub fn keys_page(&self, after: Option<CustomerId>, limit: u32) -> String {
        let after = match after {
            Some(id) => format!(" AND id > {id}"),
            None => String::new(),
        };
        format!(
            "{}SELECT id, `key` FROM {} WHERE bitmapContains(`q-result`, id){after} ORDER BY id LIMIT {limit}",
            self.with(),
            self.customers
        )
    }

    /// `SELECT` of the selection as a `groupBitmap` state in base64 (one row, one
    /// `String`): what [`decode_base64`](super::decode_base64) and
    /// [`decode`](super::decode) read back, e.g. to store an engine's segment as a tag
    /// with [`Store::add_tag_bulk`].
    pub fn bitmap(&self) -> String {
        format!(
            "{}SELECT base64Encode(CAST(`q-result` AS String)) AS bitmap",
            self.with()
        )
    }
}

/// Translates `query`, bound in `ctx` as [`Store::plan`] binds it, to ClickHouse SQL over
/// `tables` (as [`Tables::write_tags`] and [`Tables::write_customers`] wrote them from this
/// store).
///
/// - Names resolve as in the crate (folded, `dimension:name`); the SQL names the tag by its
///   exact dimension and name. Relative days (`WITHIN 30d`, `ASSIGNED BEFORE 60d`) become
///   dates counted from `ctx`'s today.
/// - Tags are their rows' bitmaps merged (`groupBitmapMergeState`), attribute predicates
///   the `groupBitmapState(id)` of the customers table's rows that satisfy them
///   (comparisons never match `NULL`, as in the crate), `ALL` and `NOT` are relative to
///   every row of the customers table; `AND`, `OR` and `NOT` are `bitmapAnd`, `bitmapOr`
///   and `bitmapAndnot`.
/// - An `@name` set of the context is embedded as a base64 `groupBitmap` state (at most
///   [`MAX_SET_SQL_CHARS`] characters of it).
///
/// - `rfm.*` terms read the tags the scores were written to, in the dimensions named by
///   [`Tables::rfm_tags`].
///
/// Errors: every error binding the query returns (unknown names, wrong literal types,
/// missing sets, depth), and [`ErrorKind::Untranslatable`] for a derived term whose tags
/// the tables do not name (`rfm.*` without [`Tables::rfm_tags`], or any other provider's
/// terms: their values live in this process) or an `@name` set too large to embed (load
/// it as a tag).
///
/// ```
/// use audience::engine::{Tables, translate};
/// use audience::{Context, CustomerKey, Day, Edit, Query, Store, TagSpec};
///
/// let today = Day::from_ymd(2025, 1, 1)?;
/// let mut store = Store::new();
/// let e = Edit::new("admin", today);
/// let vip = store.create_tag(&e, TagSpec::new("VIP клиент").dimension("tier"))?;
/// let c = store.add_customer(CustomerKey::member("m-1")?)?;
/// store.add_tag(c, vip, today)?;
///
/// let sql = translate(&store, &Query::parse("NOT \"VIP клиент\"")?, &Context::new(today), &Tables::new())?;
/// assert_eq!(
///     sql.count(),
///     "WITH
///     (SELECT groupBitmapState(id) FROM audience_customers) AS `q-1`,
///     (SELECT groupBitmapMergeState(bitmap) FROM audience_tags WHERE dimension = 'tier' AND tag = 'VIP клиент') AS `q-2`,
///     bitmapAndnot(`q-1`, `q-2`) AS `q-result`
/// SELECT bitmapCardinality(`q-result`) AS customers"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn translate<'s>(
    store: &'s Store,
    query: &Query,
    ctx: &Context<'s>,
    tables: &Tables,
) -> Result<Sql, Error> {
    // Binding checks names, literal types, sets and depth, with the crate's own errors.
    store.plan(query, ctx)?;
    let mut t = Translator {
        store,
        ctx,
        rfm: tables.rfm_dimensions(),
        tags: tables.tags_table(),
        customers: tables.customers_table(),
        defs: Vec::new(),
    };
    let result = t.expr(query.expr())?;
    Ok(Sql {
        defs: t.defs,
        result,
        customers: t.customers,
    })
}

struct Translator<'a, 's> {
    store: &'s Store,
    ctx: &'a Context<'s>,
    /// The dimensions of the RFM score tags and segment tags.
    rfm: Option<(&'a str, &'a str)>,
    tags: String,
    customers: String,
    defs: Vec<String>,
}

const EMPTY: &str = "bitmapBuild(emptyArrayUInt32())";

/// `op(a, op(b, c))`-style nesting, balanced so that n terms nest log2(n) deep.
fn fold(op: &str, items: &[String]) -> String {
    match items {
        [] => EMPTY.to_string(),
        [one] => one.clone(),
        _ => {
            let (l, r) = items.split_at(items.len() / 2);
            format!("{op}({}, {})", fold(op, l), fold(op, r))
        }
    }
}

/// A day as a `Date32` literal.
/// A decimal attribute's units as an exact `Decimal64` literal: `toDecimal64('35.50', 2)`.
fn decimal(units: i64, scale: u8) -> String {
    format!(
        "toDecimal64('{}', {scale})",
        units_text(i128::from(units), scale, false)
    )
}

fn date(d: i64) -> String {
    let day = Day(i32::try_from(d).unwrap_or(0));
    format!("toDate32('{day}')")
}

impl Translator<'_, '_> {
    /// The alias of the `WITH` entry `def`, defined once.
    fn def(&mut self, def: String) -> String {
        let i = match self.defs.iter().position(|d| *d == def) {
            Some(i) => i,
            None => {
                self.defs.push(def);
                self.defs.len() - 1
            }
        };
        format!("`q-{}`", i + 1)
    }

    fn everyone(&mut self) -> String {
        let def = format!("(SELECT groupBitmapState(id) FROM {})", self.customers);
        self.def(def)
    }

    fn expr(&mut self, e: &Expr) -> Result<String, Error> {
        match e {
            Expr::And(items) => {
                let mut pos = Vec::new();
                let mut neg = Vec::new();
                for item in items {
                    match item {
                        Expr::Not(inner) => neg.push(self.expr(inner)?),
                        other => pos.push(self.expr(other)?),
                    }
                }
                if pos.is_empty() {
                    pos.push(self.everyone());
                }
                let base = fold("bitmapAnd", &pos);
                Ok(if neg.is_empty() {
                    base
                } else {
                    format!("bitmapAndnot({base}, {})", fold("bitmapOr", &neg))
                })
            }
            Expr::Or(items) => {
                let parts = items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold("bitmapOr", &parts))
            }
            Expr::Not(inner) => {
                let all = self.everyone();
                let inner = self.expr(inner)?;
                Ok(format!("bitmapAndnot({all}, {inner})"))
            }
            Expr::All => Ok(self.everyone()),
            Expr::Tag(t) => self.tag(t, None),
            Expr::AssignedBefore { tag, days } | Expr::AssignedWithin { tag, days } => {
                let cutoff = window_start(self.ctx.today(), *days);
                let before = matches!(e, Expr::AssignedBefore { .. });
                self.tag(tag, Some((before, cutoff)))
            }
            Expr::Set(name) => self.set(name, e),
            leaf => self.attribute(leaf),
        }
    }

    /// A tag's bitmap; `assigned` restricts it to the members assigned before (`true`) or
    /// since (`false`) a day.
    fn tag(&mut self, t: &TagRef, assigned: Option<(bool, i64)>) -> Result<String, Error> {
        let id = match &t.dimension {
            Some(d) => self.store.tag_id_in(d, &t.name)?,
            None => self.store.tag_id(&t.name)?,
        };
        let info = self.store.tag(id)?;
        let mut cond = format!(
            "dimension = {} AND tag = {}",
            literal(&info.dimension),
            literal(&info.name)
        );
        // Every exported assignment day lies within Date32.
        match assigned {
            Some((true, cutoff)) if cutoff <= i64::from(DATE32_MIN) => return Ok(EMPTY.into()),
            Some((true, cutoff)) if cutoff <= i64::from(DATE32_MAX) => {
                let _ = write!(cond, " AND assigned < {}", date(cutoff));
            }
            Some((false, cutoff)) if cutoff > i64::from(DATE32_MAX) => return Ok(EMPTY.into()),
            Some((false, cutoff)) if cutoff > i64::from(DATE32_MIN) => {
                let _ = write!(cond, " AND assigned >= {}", date(cutoff));
            }
            _ => {}
        }
        let def = format!(
            "(SELECT groupBitmapMergeState(bitmap) FROM {} WHERE {cond})",
            self.tags
        );
        Ok(self.def(def))
    }

    fn set(&mut self, name: &str, e: &Expr) -> Result<String, Error> {
        let Some(set) = self.ctx.set(name) else {
            return Err(ErrorKind::InvalidArgument(format!("unknown set @{name}")).into());
        };
        let live = set & self.store.customers();
        let encoded = base64(&BitmapFormat::ClickHouse.encode(&live));
        if encoded.len() > MAX_SET_SQL_CHARS {
            return Err(ErrorKind::Untranslatable {
                engine: CLICKHOUSE,
                term: e.to_string(),
                reason: format!(
                    "the set takes {} characters of SQL, more than {MAX_SET_SQL_CHARS}; load it into the engine as a tag (Store::add_tag_bulk, then Tables::write_tags) and query the tag",
                    encoded.len()
                ),
            }
            .into());
        }
        Ok(format!(
            "CAST(base64Decode('{encoded}') AS AggregateFunction(groupBitmap, UInt32))"
        ))
    }

    fn attribute(&mut self, e: &Expr) -> Result<String, Error> {
        let attr = match e {
            Expr::Cmp { attr, .. }
            | Expr::Between { attr, .. }
            | Expr::IsNull { attr }
            | Expr::IsNotNull { attr }
            | Expr::Within { attr, .. }
            | Expr::Before { attr, .. } => attr,
            _ => return Ok(EMPTY.into()),
        };
        if let Some((prefix, field)) = attr.split_once('.')
            && !prefix.is_empty()
            && !field.is_empty()
            && self.ctx.terms(prefix).is_some()
        {
            if let Some((scores, segments)) = self.rfm
                && prefix.eq_ignore_ascii_case("rfm")
            {
                return self.rfm_term(e, &field.to_ascii_lowercase(), scores, segments);
            }
            return Err(ErrorKind::Untranslatable {
                engine: CLICKHOUSE,
                term: e.to_string(),
                reason: format!(
                    "{prefix}.* terms are computed in this process; write them to tags (RfmScores::segment_assignment and score_assignment, then Assignment::write) and name their dimensions with Tables::rfm_tags"
                ),
            }
            .into());
        }
        let id = self.store.attribute_id(attr)?;
        let info = self.store.attribute(id)?;
        let kind = info.kind;
        let col = ident(&info.name);
        let value = |lit: &Literal| -> Result<i64, Error> {
            literal_units(kind, lit).map_err(|problem| {
                ErrorKind::InvalidArgument(match problem {
                    Some(p) => format!("{attr} {p}"),
                    None => format!("{attr} holds {}, not {lit:?}", kind.plural()),
                })
                .into()
            })
        };
        let (lo, hi) = match e {
            Expr::Cmp { op, value: lit, .. } => {
                let v = value(lit)?;
                match op {
                    CmpOp::Eq => (v, v),
                    CmpOp::Le => (i64::MIN, v),
                    CmpOp::Ge => (v, i64::MAX),
                    CmpOp::Lt => match v.checked_sub(1) {
                        Some(h) => (i64::MIN, h),
                        None => return Ok(EMPTY.into()),
                    },
                    CmpOp::Gt => match v.checked_add(1) {
                        Some(l) => (l, i64::MAX),
                        None => return Ok(EMPTY.into()),
                    },
                    CmpOp::Ne => {
                        let cond = match kind {
                            AttrKind::Int => format!("{col} != {v}"),
                            AttrKind::Day if in_date32(v) => format!("{col} != {}", date(v)),
                            AttrKind::Day => format!("{col} IS NOT NULL"),
                            AttrKind::Decimal { scale } if v.abs() <= DECIMAL64_UNITS => {
                                format!("{col} != {}", decimal(v, scale))
                            }
                            AttrKind::Decimal { .. } => format!("{col} IS NOT NULL"),
                        };
                        return Ok(self.rows(&cond));
                    }
                }
            }
            Expr::Between { lo, hi, .. } => (value(lo)?, value(hi)?),
            Expr::IsNull { .. } => return Ok(self.rows(&format!("{col} IS NULL"))),
            Expr::IsNotNull { .. } => return Ok(self.rows(&format!("{col} IS NOT NULL"))),
            Expr::Within { days, .. } => (window_start(self.ctx.today(), *days), i64::MAX),
            Expr::Before { days, .. } => (i64::MIN, window_start(self.ctx.today(), *days) - 1),
            _ => return Ok(EMPTY.into()),
        };
        let (lo, hi, floor, ceil) = match kind {
            AttrKind::Int => (lo, hi, i64::MIN, i64::MAX),
            // Every exported day lies within Date32: clamp the bounds to it.
            AttrKind::Day => {
                let (min, max) = (i64::from(DATE32_MIN), i64::from(DATE32_MAX));
                (lo.max(min), hi.min(max), min, max)
            }
            // Every exported decimal lies within Decimal64's 18 digits: the same.
            AttrKind::Decimal { .. } => {
                let (min, max) = (-DECIMAL64_UNITS, DECIMAL64_UNITS);
                (lo.max(min), hi.min(max), min, max)
            }
        };
        if lo > hi {
            return Ok(EMPTY.into());
        }
        let lit = |v: i64| match kind {
            AttrKind::Int => v.to_string(),
            AttrKind::Day => date(v),
            AttrKind::Decimal { scale } => decimal(v, scale),
        };
        let cond = match (lo > floor, hi < ceil) {
            (true, true) if lo == hi => format!("{col} = {}", lit(lo)),
            (true, true) => format!("{col} BETWEEN {} AND {}", lit(lo), lit(hi)),
            (true, false) => format!("{col} >= {}", lit(lo)),
            (false, true) => format!("{col} <= {}", lit(hi)),
            (false, false) => format!("{col} IS NOT NULL"),
        };
        Ok(self.rows(&cond))
    }

    /// An `rfm.` term (already checked by binding) from the tags the scores were written to:
    /// score `k` of measure `L` is the tag `Lk` of the scores dimension, "scored" the union
    /// of the `R` tags, a segment the tag of its name in the segments dimension.
    fn rfm_term(
        &mut self,
        e: &Expr,
        field: &str,
        scores: &str,
        segments: &str,
    ) -> Result<String, Error> {
        let untranslatable = |reason: String| -> Error {
            ErrorKind::Untranslatable {
                engine: CLICKHOUSE,
                term: e.to_string(),
                reason,
            }
            .into()
        };
        // The score tags of one measure, by score.
        let groups = |letter: char| -> Vec<(i64, TagRef)> {
            (1..=u8::MAX)
                .map(|k| (k, format!("{letter}{k}")))
                .take_while(|(_, name)| self.store.find_tag_in(scores, name).is_some())
                .map(|(k, name)| {
                    (
                        i64::from(k),
                        TagRef {
                            dimension: Some(scores.to_string()),
                            name,
                        },
                    )
                })
                .collect()
        };
        let scored_tags = groups('R');
        if scored_tags.is_empty() {
            return Err(untranslatable(format!(
                "no tag R1 in dimension {}: write the recency scores there (RfmScores::score_assignment)",
                crate::base::text::quote(scores)
            )));
        }
        let mut scored = Vec::with_capacity(scored_tags.len());
        for (_, t) in &scored_tags {
            scored.push(self.tag(t, None)?);
        }
        let scored = fold("bitmapOr", &scored);
        match e {
            Expr::IsNull { .. } => {
                let all = self.everyone();
                return Ok(format!("bitmapAndnot({all}, {scored})"));
            }
            Expr::IsNotNull { .. } => return Ok(scored),
            _ => {}
        }
        let int = |lit: &Literal| match lit {
            Literal::Int(v) => Some(*v),
            _ => None,
        };
        if field == "segment" {
            let Expr::Cmp {
                op,
                value: Literal::Text(name),
                ..
            } = e
            else {
                return Err(untranslatable("segment names compare with = or !=".into()));
            };
            let tag = match self.store.find_tag_in(segments, name) {
                Some(id) => {
                    let info = self.store.tag(id)?;
                    self.tag(
                        &TagRef {
                            dimension: Some(info.dimension.clone()),
                            name: info.name.clone(),
                        },
                        None,
                    )?
                }
                None => EMPTY.to_string(),
            };
            return match op {
                CmpOp::Eq => Ok(tag),
                CmpOp::Ne => Ok(format!("bitmapAndnot({scored}, {tag})")),
                _ => Err(untranslatable("segment names compare with = or !=".into())),
            };
        }
        let letter = match field {
            "r" => 'R',
            "f" => 'F',
            "m" => 'M',
            _ => return Err(untranslatable(format!("unknown RFM term rfm.{field}"))),
        };
        let tags = groups(letter);
        let keep: Box<dyn Fn(i64) -> bool> = match e {
            Expr::Cmp { op, value, .. } => {
                let Some(v) = int(value) else {
                    return Err(untranslatable("scores compare with numbers".into()));
                };
                let op = *op;
                Box::new(move |k| match op {
                    CmpOp::Eq => k == v,
                    CmpOp::Ne => k != v,
                    CmpOp::Lt => k < v,
                    CmpOp::Le => k <= v,
                    CmpOp::Gt => k > v,
                    CmpOp::Ge => k >= v,
                })
            }
            Expr::Between { lo, hi, .. } => {
                let (Some(lo), Some(hi)) = (int(lo), int(hi)) else {
                    return Err(untranslatable("scores compare with numbers".into()));
                };
                Box::new(move |k| lo <= k && k <= hi)
            }
            _ => return Err(untranslatable("scores compare with numbers".into())),
        };
        let mut parts = Vec::new();
        for (k, t) in &tags {
            if keep(*k) {
                parts.push(self.tag(t, None)?);
            }
        }
        Ok(fold("bitmapOr", &parts))
    }

    /// The customers whose row satisfies `cond`.
    fn rows(&mut self, cond: &str) -> String {
        let def = format!(
            "(SELECT groupBitmapState(id) FROM {} WHERE {cond})",
            self.customers
        );
        self.def(def)
    }
}

/// The first day of the window of `period` ending on `today`, as a day number: the
/// query engine's own computation ([`Day::window_start`]), so months and years clamp the same
/// way; a window reaching before the first day starts below every day.
fn window_start(today: Day, period: Period) -> i64 {
    today
        .window_start(period)
        .map_or(i64::from(Day::MIN.0) - 1, |d| i64::from(d.0))
}

fn in_date32(d: i64) -> bool {
    (i64::from(DATE32_MIN)..=i64::from(DATE32_MAX)).contains(&d)
}

/// Words that stay quoted as names, so that no name reads as SQL.
const KEYWORDS: [&str; 24] = [
    "all", "and", "as", "between", "by", "database", "default", "from", "in", "index", "is", "key",
    "like", "limit", "not", "null", "or", "order", "primary", "select", "table", "where", "with",
    "case",
];

/// A ClickHouse identifier: bare when it is plain ASCII (`[A-Za-z_][A-Za-z0-9_]*`, not a
/// keyword), otherwise in backquotes with `` ` `` and `\` escaped by a backslash and
/// control characters as `\xHH`; names in any script stay readable.
pub(crate) fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name));
    if plain {
        return name.to_string();
    }
    quoted(name, '`')
}

/// A ClickHouse string literal in single quotes: `'` and `\` escaped by a backslash,
/// control characters as `\n`, `\t`, `\r`, `\0` or `\xHH`; every other character as it is.
pub(crate) fn literal(text: &str) -> String {
    quoted(text, '\'')
}

fn quoted(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("audience_tags"), "audience_tags");
        assert_eq!(ident("key"), "`key`");
        assert_eq!(ident("ลูกค้า"), "`ลูกค้า`");
        assert_eq!(ident("a`b\\c"), "`a\\`b\\\\c`");
        assert_eq!(literal("it's \\ \u{1}\n"), "'it\\'s \\\\ \\x01\\n'");
        assert_eq!(literal("高消費力"), "'高消費力'");
    }

    #[test]
    fn balanced_folds() {
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(fold("f", &items), "f(a, f(b, c))");
        assert_eq!(fold("f", &[]), EMPTY);
    }
}
