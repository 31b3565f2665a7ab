//! Segment queries: a language, a planner and an evaluator.
//!
//! One query has three faces:
//!
//! - **text** for people: `interest/cosmetics AND stage/purchased EXCLUDE product/lipstick
//!   AND last_interaction WITHIN 30d` ([`Query::parse`]; the grammar is below);
//! - a **serde AST** ([`Expr`]) for programs, e.g. JSON
//!   `{"and":[{"tag":{"name":"vip"}},{"not":{"tag":{"name":"churned"}}}]}`;
//! - a **builder** for Rust: `tag("vip").exclude(tag("churned"))`.
//!
//! Printing a query ([`Query`]'s and [`Expr`]'s `Display`) gives canonical text that parses
//! back to the same AST.
//!
//! # Grammar
//!
//! ```text
//! query    := or
//! or       := and ( OR and )*
//! and      := unary ( ( AND | EXCLUDE ) unary )*       a EXCLUDE b  is  a AND NOT b
//! unary    := NOT unary | primary
//! primary  := '(' or ')' | IN '[' tag ( ',' tag )* ']' | ALL | '@' name
//!           | tag [ ASSIGNED ( BEFORE | WITHIN ) duration ]
//!           | attribute ( '=' | '!=' | '<' | '<=' | '>' | '>=' ) literal
//!           | attribute BETWEEN literal AND literal
//!           | attribute IS [ NOT ] NULL
//!           | attribute ( WITHIN | BEFORE ) duration
//! tag      := name | dimension ':' name
//! literal  := integer | YYYY-MM-DD | "text"
//! duration := 30d | 2w | 3mo | 1y             days, weeks, calendar months, calendar years
//! ```
//!
//! - `NOT` binds tighter than `AND`, `AND` tighter than `OR`. `NOT x` is every live
//!   customer except `x`.
//! - Names are bare when made of letters of any script, digits and `_ - / .` (`vip`,
//!   `interest/cosmetics`, `高消費力`, `ลูกค้าใหม่`), otherwise double-quoted
//!   (`"VIP клиент"`, `"purchased 2024-06-18"`; `\"` and `\\` escape). Keywords are
//!   case-insensitive; a tag named like a keyword is quoted.
//! - `x WITHIN 30d` is `x >= today - 30`; `x BEFORE 180d` ("more than 180 days ago") is
//!   `x < today - 180`; `t ASSIGNED BEFORE 60d` is the members of `t` assigned before
//!   `today - 60`, `t ASSIGNED WITHIN 7d` those assigned on `today - 7` or later.
//! - Months and years are calendar arithmetic against today ([`Period`](crate::Period)):
//!   `x WITHIN 3mo` is `x >=` the same day three months ago, clamped to the last day of a
//!   shorter month (on 2025-03-31, `1mo` reaches back to 2025-02-28), as ClickHouse's
//!   `today() - INTERVAL 1 MONTH` does.
//! - Comparisons never match a customer without a value (`!=` included); use
//!   `IS NULL` for those.
//! - `@name` is a set the caller passes in the [`Context`] (e.g. `@capped`, customers who
//!   already got five messages today).
//! - `prefix.field` names a derived term: a value the store does not hold but a capability
//!   computed and the caller passes in the [`Context`] ([`Context::with_terms`]). RFM scores
//!   are such terms: with [`RfmScores`](crate::RfmScores) in the context, `rfm.r`, `rfm.f`
//!   and `rfm.m` compare with the scores (`rfm.r >= 4`, `rfm.m BETWEEN 3 AND 5`,
//!   `rfm.f IS NULL` for customers not scored) and `rfm.segment` with their named segments
//!   (`rfm.segment = "At risk"`). A score outside the bins or an unknown segment is an error
//!   pointing at the term; so is a term whose provider the context lacks.
//!
//! # Example
//!
//! ```
//! use audience::{Context, CustomerKey, Day, Edit, Query, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 1)?;
//! let mut store = Store::new();
//! let e = Edit::new("admin", today);
//! let vip = store.create_tag(&e, TagSpec::new("vip"))?;
//! let churned = store.create_tag(&e, TagSpec::new("churned"))?;
//! for i in 0..10 {
//!     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
//!     store.add_tag(c, vip, today)?;
//!     if i % 3 == 0 {
//!         store.add_tag(c, churned, today)?;
//!     }
//! }
//! let q = Query::parse("vip EXCLUDE churned")?;
//! assert_eq!(store.count(&q, today)?, 6);
//! assert_eq!(q.to_string(), "vip AND NOT churned");
//!
//! let err = Query::parse("vip AND (churned").unwrap_err();
//! assert_eq!(err.to_string(), "unclosed parenthesis\n  vip AND (churned\n          ^");
//! # Ok::<(), audience::Error>(())
//! ```

mod ast;
mod dense;
mod parse;
mod plan;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use roaring::RoaringBitmap;

pub use ast::{AttrBuilder, CmpOp, Expr, Literal, TagRef, all, attr, set, tag, tag_in, tag_ref};
pub use parse::{MAX_DEPTH, MAX_QUERY_BYTES};
pub(crate) use plan::literal_units;
pub use plan::{Explain, Plan, Step, StepOp, Strategy};

use crate::day::Day;
use crate::error::{Error, QueryProblem, Span};
use crate::segment::Segment;
use crate::store::Store;

/// A segment query: an [`Expr`] plus, when parsed from text, the text and the span of every
/// term (so binding errors can point at the term).
///
/// Two queries are equal when their expressions are.
#[derive(Clone, Debug)]
pub struct Query {
    expr: Expr,
    text: Option<Arc<str>>,
    spans: Vec<Span>,
}

impl Query {
    /// Parses query text (see the [module docs](self) for the grammar).
    pub fn parse(text: &str) -> Result<Query, Error> {
        let (expr, spans) = parse::parse(text)?;
        Ok(Query {
            expr,
            text: Some(Arc::from(text)),
            spans,
        })
    }

    /// A query from an expression built in code or deserialized.
    pub fn new(expr: Expr) -> Query {
        Query {
            expr,
            text: None,
            spans: Vec::new(),
        }
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The text it was parsed from, if any.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

impl PartialEq for Query {
    fn eq(&self, other: &Query) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Query {}

impl From<Expr> for Query {
    fn from(expr: Expr) -> Query {
        Query::new(expr)
    }
}

impl FromStr for Query {
    type Err = Error;
    fn from_str(s: &str) -> Result<Query, Error> {
        Query::parse(s)
    }
}

impl fmt::Display for Query {
    /// The canonical text of the expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Query {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.expr.serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Query {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Query, D::Error> {
        Expr::deserialize(d).map(Query::new)
    }
}

/// What a query is evaluated against besides the store: "today" for relative days, the
/// caller's named sets for `@name` terms, and providers of derived terms (`rfm.r`).
///
/// Every entry point that evaluates a query takes a context: [`Store::count`],
/// [`Store::select`], [`Store::explain`], [`Store::plan`] and the capabilities built on them.
/// A bare [`Day`] converts into a context without sets or terms, so `store.count(&q, today)`
/// and `store.count(&q, &ctx)` both work.
///
/// ```
/// use audience::{Context, Day, RoaringBitmap};
///
/// let capped: RoaringBitmap = [3, 4].into_iter().collect();
/// let ctx = Context::new(Day::from_ymd(2025, 1, 1)?).with_set("capped", &capped);
/// assert_eq!(ctx.today(), Day::from_ymd(2025, 1, 1)?);
/// assert_eq!(ctx.set("capped"), Some(&capped));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone)]
pub struct Context<'a> {
    today: Day,
    sets: Vec<(String, &'a RoaringBitmap)>,
    terms: Vec<&'a dyn Terms>,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("today", &self.today)
            .field(
                "sets",
                &self
                    .sets
                    .iter()
                    .map(|(n, s)| (n, s.len()))
                    .collect::<Vec<_>>(),
            )
            .field(
                "terms",
                &self.terms.iter().map(|t| t.prefix()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'a> Context<'a> {
    /// A context for `today`, without sets or terms.
    pub fn new(today: Day) -> Context<'a> {
        Context {
            today,
            sets: Vec::new(),
            terms: Vec::new(),
        }
    }

    /// Adds (or replaces) the set `@name`.
    pub fn with_set(mut self, name: &str, set: &'a RoaringBitmap) -> Context<'a> {
        self.sets.retain(|(n, _)| n != name);
        self.sets.push((name.to_string(), set));
        self
    }

    /// Adds (or replaces, by prefix) a provider of derived terms, such as
    /// [`RfmScores`](crate::RfmScores) for `rfm.r`, `rfm.f`, `rfm.m` and `rfm.segment`.
    pub fn with_terms(mut self, terms: &'a dyn Terms) -> Context<'a> {
        self.terms
            .retain(|t| !t.prefix().eq_ignore_ascii_case(terms.prefix()));
        self.terms.push(terms);
        self
    }

    /// The day relative terms count from.
    pub fn today(&self) -> Day {
        self.today
    }

    /// The set `@name`, if the context has it.
    pub fn set(&self, name: &str) -> Option<&'a RoaringBitmap> {
        self.sets.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    /// The provider of the terms `prefix.*`, if the context has one (prefixes compare
    /// ASCII case-insensitively).
    pub fn terms(&self, prefix: &str) -> Option<&'a dyn Terms> {
        self.terms
            .iter()
            .find(|t| t.prefix().eq_ignore_ascii_case(prefix))
            .copied()
    }
}

impl From<Day> for Context<'_> {
    fn from(today: Day) -> Self {
        Context::new(today)
    }
}

impl<'a> From<&Context<'a>> for Context<'a> {
    fn from(ctx: &Context<'a>) -> Self {
        ctx.clone()
    }
}

/// A provider of derived terms: values a capability computed for some customers, named in
/// queries as `prefix.field` (RFM scores are `rfm.r`, `rfm.f`, `rfm.m`, `rfm.segment`).
///
/// The query layer knows nothing of what the terms mean: binding hands every predicate on
/// `prefix.field` (a comparison, `BETWEEN`, `IS [NOT] NULL`, `WITHIN`, `BEFORE`) to the
/// provider, which answers with the customers it selects or a [`QueryProblem`] that the
/// query error then points at.
pub trait Terms {
    /// The prefix before the first `.` that these terms answer to, e.g. `"rfm"`.
    fn prefix(&self) -> &str;

    /// The customers that `expr`, a predicate on the term `attr` (`prefix.field`, as the
    /// user wrote it), selects.
    fn bind<'a>(&'a self, attr: &str, expr: &Expr) -> Result<Term<'a>, QueryProblem>;
}

/// What a derived term selects.
#[derive(Clone, Debug)]
pub enum Term<'a> {
    /// These customers.
    Members(Cow<'a, RoaringBitmap>),
    /// Every live customer except these (`IS NULL`: everyone not scored).
    AllBut(Cow<'a, RoaringBitmap>),
}

impl Store {
    /// Binds a query to this store: resolves names and relative days and simplifies. The
    /// plan can then be counted, selected or explained any number of times.
    pub fn plan<'s>(&'s self, query: &Query, ctx: &Context<'s>) -> Result<Plan<'s>, Error> {
        Plan::bind(self, query, ctx)
    }

    /// How many customers the query selects in `ctx` (or a bare `today`).
    pub fn count<'c>(&self, query: &Query, ctx: impl Into<Context<'c>>) -> Result<u64, Error> {
        Ok(self.plan(query, &ctx.into())?.count())
    }

    /// The customers the query selects in `ctx` (or a bare `today`).
    pub fn select<'c>(&self, query: &Query, ctx: impl Into<Context<'c>>) -> Result<Segment, Error> {
        Ok(self.plan(query, &ctx.into())?.segment())
    }

    /// The funnel (count after each clause) and the plan, in `ctx` (or a bare `today`).
    ///
    /// ```
    /// use audience::{CustomerKey, Day, Edit, Query, Store, StepOp, TagSpec};
    ///
    /// let day = Day::EPOCH;
    /// let mut store = Store::new();
    /// let e = Edit::new("admin", day);
    /// let a = store.create_tag(&e, TagSpec::new("a"))?;
    /// let b = store.create_tag(&e, TagSpec::new("b"))?;
    /// for i in 0..100 {
    ///     let c = store.add_customer(CustomerKey::member(i.to_string())?)?;
    ///     if i < 50 { store.add_tag(c, a, day)?; }
    ///     if i % 2 == 0 { store.add_tag(c, b, day)?; }
    /// }
    /// let ex = store.explain(&Query::parse("a AND NOT b")?, day)?;
    /// let funnel: Vec<(StepOp, u64)> = ex.steps.iter().map(|s| (s.op, s.count)).collect();
    /// assert_eq!(funnel, vec![(StepOp::Start, 50), (StepOp::AndNot, 25)]);
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn explain<'c>(
        &self,
        query: &Query,
        ctx: impl Into<Context<'c>>,
    ) -> Result<Explain, Error> {
        Ok(self.plan(query, &ctx.into())?.explain())
    }
}
