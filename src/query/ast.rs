//! The query AST, its builder API and its canonical text form.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::day::{Day, Period};
use crate::decimal::Decimal;

use super::parse::MAX_DEPTH;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CmpOp {
    /// `=`
    #[cfg_attr(feature = "serde", serde(rename = "="))]
    Eq,
    /// `!=`
    #[cfg_attr(feature = "serde", serde(rename = "!="))]
    Ne,
    /// `<`
    #[cfg_attr(feature = "serde", serde(rename = "<"))]
    Lt,
    /// `<=`
    #[cfg_attr(feature = "serde", serde(rename = "<="))]
    Le,
    /// `>`
    #[cfg_attr(feature = "serde", serde(rename = ">"))]
    Gt,
    /// `>=`
    #[cfg_attr(feature = "serde", serde(rename = ">="))]
    Ge,
}

impl CmpOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A literal on the right of a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Literal {
    /// A whole number: `42`, `-7`.
    Int(i64),
    /// A day: `2024-06-18`.
    Day(Day),
    /// A decimal: `35.50`, for an attribute with decimal places (a whole number compares
    /// with those too). It keeps the places as written, and the attribute refuses more
    /// places than it keeps.
    Decimal(Decimal),
    /// Quoted text: `"At risk"` (for named segments).
    Text(String),
}

impl From<i64> for Literal {
    fn from(v: i64) -> Literal {
        Literal::Int(v)
    }
}

impl From<Day> for Literal {
    fn from(d: Day) -> Literal {
        Literal::Day(d)
    }
}

impl From<Decimal> for Literal {
    fn from(d: Decimal) -> Literal {
        Literal::Decimal(d)
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Literal {
        Literal::Text(s.to_string())
    }
}

/// A reference to a tag by name, optionally qualified by its dimension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagRef {
    /// The dimension, when the name needs qualifying.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub dimension: Option<String>,
    /// The tag's name.
    pub name: String,
}

/// A query expression. Build one with the functions of this module ([`tag`], [`attr`],
/// [`set`], [`all`]) and the combinators ([`Expr::and`], [`Expr::or`], [`Expr::exclude`],
/// [`Expr::not`]), parse one from text ([`crate::Query::parse`]) or deserialize it (serde).
///
/// # Deep expressions
///
/// Code can build an expression of any depth (a million nested [`Expr::not`]s), but no
/// operation on one recurses once per level, so none can overflow the stack:
///
/// - dropping, cloning, comparing (`==`), hashing and printing (`Display`, the canonical
///   text) walk the tree with an explicit stack, whatever its depth;
/// - `Debug` prints the usual derived form for expressions of at most
///   [`MAX_DEPTH`](crate::query::MAX_DEPTH) levels ([`Expr::depth`]) and, for deeper ones,
///   `Expr { depth: N, text: "..." }` with the canonical text;
/// - binding ([`crate::Store::plan`]), parsing and serde refuse expressions deeper than
///   [`MAX_DEPTH`](crate::query::MAX_DEPTH) levels: binding with
///   [`QueryProblem::TooDeep`](crate::QueryProblem::TooDeep), serializing and deserializing
///   with the format's error (`query nests deeper than 128 levels`), whatever limits the
///   format has of its own.
///
/// ```
/// use audience::query::{attr, tag};
///
/// let q = tag("interest/cosmetics")
///     .and(tag("stage/purchased"))
///     .exclude(tag("product/lipstick"))
///     .and(attr("last_interaction").within_days(30));
/// assert_eq!(
///     q.to_string(),
///     "interest/cosmetics AND stage/purchased AND NOT product/lipstick AND last_interaction WITHIN 30d"
/// );
/// ```
// Clone, Debug, PartialEq, Hash, Drop and Serialize are written by hand below so that none
// recurses once per level (see "Deep expressions"); their results are the derived ones'.
#[derive(Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Expr {
    /// Every live customer: `ALL`.
    All,
    /// Customers carrying a tag: `vip`, `"VIP клиент"`, `channel:vip`.
    Tag(TagRef),
    /// Intersection: `a AND b`.
    And(#[cfg_attr(feature = "serde", serde(deserialize_with = "de::children"))] Vec<Expr>),
    /// Union: `a OR b`.
    Or(#[cfg_attr(feature = "serde", serde(deserialize_with = "de::children"))] Vec<Expr>),
    /// Complement within the live customers: `NOT a`.
    Not(#[cfg_attr(feature = "serde", serde(deserialize_with = "de::boxed"))] Box<Expr>),
    /// Attribute comparison: `purchase_count > 3`, `rfm.r >= 4`.
    Cmp {
        /// The attribute (or `rfm.r`, `rfm.f`, `rfm.m`, `rfm.segment`).
        attr: String,
        /// The operator.
        op: CmpOp,
        /// The value.
        value: Literal,
    },
    /// Inclusive range: `monetary BETWEEN 10000 AND 49999`.
    Between {
        /// The attribute.
        attr: String,
        /// Lowest value included.
        lo: Literal,
        /// Highest value included.
        hi: Literal,
    },
    /// The attribute has no value: `last_purchase IS NULL`.
    IsNull {
        /// The attribute.
        attr: String,
    },
    /// The attribute has a value: `last_purchase IS NOT NULL`.
    IsNotNull {
        /// The attribute.
        attr: String,
    },
    /// A day attribute within the last period: `last_interaction WITHIN 30d` means
    /// `last_interaction >= today - 30`, `WITHIN 3mo` means on or after the same day three
    /// calendar months ago ([`Day::window_start`]).
    Within {
        /// The day attribute.
        attr: String,
        /// How far back: `30d`, `2w`, `3mo`, `1y`.
        days: Period,
    },
    /// A day attribute before the last period: `last_interaction BEFORE 180d` means
    /// `last_interaction < today - 180`.
    Before {
        /// The day attribute.
        attr: String,
        /// How far back: `30d`, `2w`, `3mo`, `1y`.
        days: Period,
    },
    /// Members assigned the tag before the last period: `vip ASSIGNED BEFORE 60d` (assigned
    /// before `today - 60`).
    AssignedBefore {
        /// The tag.
        tag: TagRef,
        /// How far back: `30d`, `2w`, `3mo`, `1y`.
        days: Period,
    },
    /// Members assigned the tag within the last period: `vip ASSIGNED WITHIN 7d` (assigned
    /// on `today - 7` or later).
    AssignedWithin {
        /// The tag.
        tag: TagRef,
        /// How far back: `30d`, `2w`, `3mo`, `1y`.
        days: Period,
    },
    /// A set of customers supplied by the caller at evaluation time: `@capped`.
    Set(String),
}

/// Customers carrying the tag `name` (`dimension:name` qualifies it).
pub fn tag(name: impl Into<String>) -> Expr {
    Expr::Tag(TagRef {
        dimension: None,
        name: name.into(),
    })
}

/// Customers carrying the tag `name` of `dimension`.
pub fn tag_in(dimension: impl Into<String>, name: impl Into<String>) -> Expr {
    Expr::Tag(TagRef {
        dimension: Some(dimension.into()),
        name: name.into(),
    })
}

/// Every live customer.
pub fn all() -> Expr {
    Expr::All
}

/// A caller-supplied set, bound at evaluation (`@name`).
pub fn set(name: impl Into<String>) -> Expr {
    Expr::Set(name.into())
}

/// A tag reference for [`Expr::assigned_before`] and [`Expr::assigned_within`].
pub fn tag_ref(name: impl Into<String>) -> TagRef {
    TagRef {
        dimension: None,
        name: name.into(),
    }
}

/// Starts an attribute predicate: `attr("purchase_count").gt(3)`.
pub fn attr(name: impl Into<String>) -> AttrBuilder {
    AttrBuilder { attr: name.into() }
}

/// Builds predicates on one attribute; see [`attr`].
#[derive(Clone, Debug)]
pub struct AttrBuilder {
    attr: String,
}

impl AttrBuilder {
    fn cmp(self, op: CmpOp, value: impl Into<Literal>) -> Expr {
        Expr::Cmp {
            attr: self.attr,
            op,
            value: value.into(),
        }
    }
    /// `attr = value`
    pub fn eq(self, value: impl Into<Literal>) -> Expr {
        self.cmp(CmpOp::Eq, value)
    }
    /// `attr != value`
    pub fn ne(self, value: impl Into<Literal>) -> Expr {
        self.cmp(CmpOp::Ne, value)
    }
    /// `attr < value`
    pub fn lt(self, value: impl Into<Literal>) -> Expr {
        self.cmp(CmpOp::Lt, value)
    }
    /// `attr <= value`
    pub fn le(self, value: impl Into<Literal>) -> Expr {
        self.cmp(CmpOp::Le, value)
    }
    /// `attr > value`
    pub fn gt(self, value: impl Into<Literal>) -> Expr {
        self.cmp(CmpOp::Gt, value)
    }
    /// `attr >= value`
    pub fn ge(self, value: impl Into<Literal>) -> Expr {
        self.cmp(CmpOp::Ge, value)
    }
    /// `attr BETWEEN lo AND hi` (inclusive)
    pub fn between(self, lo: impl Into<Literal>, hi: impl Into<Literal>) -> Expr {
        Expr::Between {
            attr: self.attr,
            lo: lo.into(),
            hi: hi.into(),
        }
    }
    /// `attr IS NULL`
    pub fn is_null(self) -> Expr {
        Expr::IsNull { attr: self.attr }
    }
    /// `attr IS NOT NULL`
    pub fn is_not_null(self) -> Expr {
        Expr::IsNotNull { attr: self.attr }
    }
    /// `attr WITHIN Nd`
    pub fn within_days(self, days: u32) -> Expr {
        self.within(Period::days(days))
    }
    /// `attr BEFORE Nd` (more than N days ago)
    pub fn before_days(self, days: u32) -> Expr {
        self.before(Period::days(days))
    }
    /// `attr WITHIN 3mo`: within the last period (days, weeks, months or years).
    pub fn within(self, period: Period) -> Expr {
        Expr::Within {
            attr: self.attr,
            days: period,
        }
    }
    /// `attr BEFORE 1y`: before the last period (days, weeks, months or years).
    pub fn before(self, period: Period) -> Expr {
        Expr::Before {
            attr: self.attr,
            days: period,
        }
    }
}

impl Expr {
    /// `self AND other` (flattening a left-hand AND).
    pub fn and(mut self, other: Expr) -> Expr {
        if let Expr::And(v) = &mut self {
            v.push(other);
            return self;
        }
        Expr::And(vec![self, other])
    }

    /// `self OR other` (flattening a left-hand OR).
    pub fn or(mut self, other: Expr) -> Expr {
        if let Expr::Or(v) = &mut self {
            v.push(other);
            return self;
        }
        Expr::Or(vec![self, other])
    }

    /// `self AND NOT other`: the EXCLUDE of CRM tagging guides ("cosmetics AND purchased
    /// EXCLUDE lipstick").
    pub fn exclude(self, other: Expr) -> Expr {
        self.and(Expr::Not(Box::new(other)))
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// Members of `tag` assigned before the last period (`tag ASSIGNED BEFORE 60d`); a
    /// number is days.
    pub fn assigned_before(tag: TagRef, period: impl Into<Period>) -> Expr {
        Expr::AssignedBefore {
            tag,
            days: period.into(),
        }
    }

    /// Members of `tag` assigned within the last period (`tag ASSIGNED WITHIN 7d`); a
    /// number is days.
    pub fn assigned_within(tag: TagRef, period: impl Into<Period>) -> Expr {
        Expr::AssignedWithin {
            tag,
            days: period.into(),
        }
    }

    /// How many levels the expression has: 1 for a term, one more for each `AND`, `OR` or
    /// `NOT` above it. Binding, parsing and serde accept at most
    /// [`MAX_DEPTH`](crate::query::MAX_DEPTH) levels. Computed without recursion, in time
    /// linear in the expression's size.
    ///
    /// ```
    /// use audience::query::tag;
    ///
    /// assert_eq!(tag("a").depth(), 1);
    /// assert_eq!(tag("a").and(tag("b").not()).depth(), 3);
    /// ```
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((e, level)) = stack.pop() {
            deepest = deepest.max(level);
            let below = level.saturating_add(1);
            match e {
                Expr::And(items) | Expr::Or(items) => {
                    stack.extend(items.iter().map(|c| (c, below)));
                }
                Expr::Not(inner) => stack.push((inner, below)),
                _ => {}
            }
        }
        deepest
    }

    /// The index, in pre-order, of the first term at or after the first node that is more
    /// than `limit` levels deep (the term a "too deep" error points at); `None` when the
    /// expression is not that deep.
    pub(crate) fn first_term_below(&self, limit: usize) -> Option<usize> {
        let mut terms = 0usize;
        let mut stack = vec![(self, 1usize)];
        while let Some((e, level)) = stack.pop() {
            if level > limit {
                return Some(terms);
            }
            let below = level.saturating_add(1);
            match e {
                Expr::And(items) | Expr::Or(items) => {
                    stack.extend(items.iter().rev().map(|c| (c, below)));
                }
                Expr::Not(inner) => stack.push((inner, below)),
                _ => terms = terms.saturating_add(1),
            }
        }
        None
    }

    /// A copy of a term (any variant but `And`, `Or` and `Not`); `None` for those three.
    fn clone_term(&self) -> Option<Expr> {
        Some(match self {
            Expr::And(_) | Expr::Or(_) | Expr::Not(_) => return None,
            Expr::All => Expr::All,
            Expr::Tag(t) => Expr::Tag(t.clone()),
            Expr::Cmp { attr, op, value } => Expr::Cmp {
                attr: attr.clone(),
                op: *op,
                value: value.clone(),
            },
            Expr::Between { attr, lo, hi } => Expr::Between {
                attr: attr.clone(),
                lo: lo.clone(),
                hi: hi.clone(),
            },
            Expr::IsNull { attr } => Expr::IsNull { attr: attr.clone() },
            Expr::IsNotNull { attr } => Expr::IsNotNull { attr: attr.clone() },
            Expr::Within { attr, days } => Expr::Within {
                attr: attr.clone(),
                days: *days,
            },
            Expr::Before { attr, days } => Expr::Before {
                attr: attr.clone(),
                days: *days,
            },
            Expr::AssignedBefore { tag, days } => Expr::AssignedBefore {
                tag: tag.clone(),
                days: *days,
            },
            Expr::AssignedWithin { tag, days } => Expr::AssignedWithin {
                tag: tag.clone(),
                days: *days,
            },
            Expr::Set(name) => Expr::Set(name.clone()),
        })
    }

    /// Whether two nodes are equal as terms, ignoring children: the same variant, and for
    /// terms the same fields.
    fn same_node(&self, other: &Expr) -> bool {
        match (self, other) {
            (Expr::And(a), Expr::And(b)) | (Expr::Or(a), Expr::Or(b)) => a.len() == b.len(),
            (Expr::Not(_), Expr::Not(_)) | (Expr::All, Expr::All) => true,
            (Expr::Tag(a), Expr::Tag(b)) => a == b,
            (
                Expr::Cmp {
                    attr: a,
                    op: o,
                    value: v,
                },
                Expr::Cmp {
                    attr: b,
                    op: p,
                    value: w,
                },
            ) => a == b && o == p && v == w,
            (
                Expr::Between {
                    attr: a,
                    lo: l,
                    hi: h,
                },
                Expr::Between {
                    attr: b,
                    lo: m,
                    hi: i,
                },
            ) => a == b && l == m && h == i,
            (Expr::IsNull { attr: a }, Expr::IsNull { attr: b })
            | (Expr::IsNotNull { attr: a }, Expr::IsNotNull { attr: b })
            | (Expr::Set(a), Expr::Set(b)) => a == b,
            (Expr::Within { attr: a, days: x }, Expr::Within { attr: b, days: y })
            | (Expr::Before { attr: a, days: x }, Expr::Before { attr: b, days: y }) => {
                a == b && x == y
            }
            (
                Expr::AssignedBefore { tag: a, days: x },
                Expr::AssignedBefore { tag: b, days: y },
            )
            | (
                Expr::AssignedWithin { tag: a, days: x },
                Expr::AssignedWithin { tag: b, days: y },
            ) => a == b && x == y,
            _ => false,
        }
    }

    /// Whether the node has children that have children: dropping it then needs the
    /// explicit stack.
    fn has_grandchildren(&self) -> bool {
        let compound = |e: &Expr| match e {
            Expr::And(v) | Expr::Or(v) => !v.is_empty(),
            Expr::Not(_) => true,
            _ => false,
        };
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().any(compound),
            Expr::Not(inner) => compound(inner),
            _ => false,
        }
    }
}

// ----------------------------------------------------------------------------------------
// Drop, Clone, PartialEq, Hash, Debug without recursion
// ----------------------------------------------------------------------------------------

impl Drop for Expr {
    /// Moves the children of deep expressions onto a heap stack and drops them one node
    /// at a time, so dropping never recurses more than two levels.
    fn drop(&mut self) {
        if !self.has_grandchildren() {
            return; // the fields' own drops go at most two levels down
        }
        fn take_children(e: &mut Expr, stack: &mut Vec<Expr>) {
            match e {
                Expr::And(v) | Expr::Or(v) => stack.append(v),
                Expr::Not(inner) => stack.push(std::mem::replace(&mut **inner, Expr::All)),
                _ => {}
            }
        }
        let mut stack: Vec<Expr> = Vec::new();
        take_children(self, &mut stack);
        while let Some(mut e) = stack.pop() {
            take_children(&mut e, &mut stack);
            // `e` has no children left: its drop ends here.
        }
    }
}

impl Clone for Expr {
    fn clone(&self) -> Expr {
        if let Some(term) = self.clone_term() {
            return term;
        }
        enum Task<'a> {
            Visit(&'a Expr),
            /// Gather the last `n` built nodes into an AND (`true`) or an OR.
            Gather(bool, usize),
            Not,
        }
        let mut tasks = vec![Task::Visit(self)];
        let mut built: Vec<Expr> = Vec::new();
        while let Some(task) = tasks.pop() {
            match task {
                Task::Visit(e) => match e {
                    Expr::And(items) | Expr::Or(items) => {
                        tasks.push(Task::Gather(matches!(e, Expr::And(_)), items.len()));
                        tasks.extend(items.iter().rev().map(Task::Visit));
                    }
                    Expr::Not(inner) => {
                        tasks.push(Task::Not);
                        tasks.push(Task::Visit(inner));
                    }
                    term => built.extend(term.clone_term()),
                },
                Task::Gather(and, n) => {
                    let items = built.split_off(built.len().saturating_sub(n));
                    built.push(if and {
                        Expr::And(items)
                    } else {
                        Expr::Or(items)
                    });
                }
                Task::Not => {
                    let inner = built.pop().unwrap_or(Expr::All);
                    built.push(Expr::Not(Box::new(inner)));
                }
            }
        }
        // Every visit left exactly one node: `built` holds the copy alone.
        built.pop().unwrap_or(Expr::All)
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        let mut stack = vec![(self, other)];
        while let Some((a, b)) = stack.pop() {
            if !a.same_node(b) {
                return false;
            }
            match (a, b) {
                (Expr::And(x), Expr::And(y)) | (Expr::Or(x), Expr::Or(y)) => {
                    stack.extend(x.iter().zip(y));
                }
                (Expr::Not(x), Expr::Not(y)) => stack.push((x, y)),
                _ => {}
            }
        }
        true
    }
}

impl Hash for Expr {
    /// Hashes the nodes in pre-order: each node's variant and fields, and the number of
    /// children of `AND` and `OR`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            std::mem::discriminant(e).hash(state);
            match e {
                Expr::All => {}
                Expr::Tag(t) => t.hash(state),
                Expr::And(items) | Expr::Or(items) => {
                    items.len().hash(state);
                    stack.extend(items.iter().rev());
                }
                Expr::Not(inner) => stack.push(inner),
                Expr::Cmp { attr, op, value } => {
                    attr.hash(state);
                    op.hash(state);
                    value.hash(state);
                }
                Expr::Between { attr, lo, hi } => {
                    attr.hash(state);
                    lo.hash(state);
                    hi.hash(state);
                }
                Expr::IsNull { attr } | Expr::IsNotNull { attr } | Expr::Set(attr) => {
                    attr.hash(state);
                }
                Expr::Within { attr, days } | Expr::Before { attr, days } => {
                    attr.hash(state);
                    days.hash(state);
                }
                Expr::AssignedBefore { tag, days } | Expr::AssignedWithin { tag, days } => {
                    tag.hash(state);
                    days.hash(state);
                }
            }
        }
    }
}

impl fmt::Debug for Expr {
    /// The derived form (`And([Tag(TagRef { .. }), Not(..)])`) for expressions of at most
    /// [`MAX_DEPTH`] levels; `Expr { depth: N, text: "..." }` with the canonical text for
    /// deeper ones, which would otherwise recurse once per level.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let depth = self.depth();
        if depth > MAX_DEPTH {
            return f
                .debug_struct("Expr")
                .field("depth", &depth)
                .field("text", &self.to_string())
                .finish();
        }
        fmt::Debug::fmt(&Shallow(self), f)
    }
}

/// An expression known to be at most [`MAX_DEPTH`] levels deep, formatted like the derived
/// `Debug` would (recursively, which its depth makes safe).
struct Shallow<'a>(&'a Expr);

/// The children of a shallow `AND` or `OR`.
struct ShallowList<'a>(&'a [Expr]);

impl fmt::Debug for ShallowList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(Shallow)).finish()
    }
}

impl fmt::Debug for Shallow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Expr::All => f.write_str("All"),
            Expr::Tag(t) => f.debug_tuple("Tag").field(t).finish(),
            Expr::And(items) => f.debug_tuple("And").field(&ShallowList(items)).finish(),
            Expr::Or(items) => f.debug_tuple("Or").field(&ShallowList(items)).finish(),
            Expr::Not(inner) => f.debug_tuple("Not").field(&Shallow(inner)).finish(),
            Expr::Cmp { attr, op, value } => f
                .debug_struct("Cmp")
                .field("attr", attr)
                .field("op", op)
                .field("value", value)
                .finish(),
            Expr::Between { attr, lo, hi } => f
                .debug_struct("Between")
                .field("attr", attr)
                .field("lo", lo)
                .field("hi", hi)
                .finish(),
            Expr::IsNull { attr } => f.debug_struct("IsNull").field("attr", attr).finish(),
            Expr::IsNotNull { attr } => f.debug_struct("IsNotNull").field("attr", attr).finish(),
            Expr::Within { attr, days } => f
                .debug_struct("Within")
                .field("attr", attr)
                .field("days", days)
                .finish(),
            Expr::Before { attr, days } => f
                .debug_struct("Before")
                .field("attr", attr)
                .field("days", days)
                .finish(),
            Expr::AssignedBefore { tag, days } => f
                .debug_struct("AssignedBefore")
                .field("tag", tag)
                .field("days", days)
                .finish(),
            Expr::AssignedWithin { tag, days } => f
                .debug_struct("AssignedWithin")
                .field("tag", tag)
                .field("days", days)
                .finish(),
            Expr::Set(name) => f.debug_tuple("Set").field(name).finish(),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Serde: the derived format, with the depth limit
// ----------------------------------------------------------------------------------------

/// The error text of serializing or deserializing an expression deeper than [`MAX_DEPTH`].
#[cfg(feature = "serde")]
fn too_deep_text() -> String {
    crate::QueryProblem::TooDeep { limit: MAX_DEPTH }.to_string()
}

#[cfg(feature = "serde")]
impl serde::Serialize for Expr {
    /// The format the derived implementation writes (externally tagged, variants in
    /// snake case: `{"and":[{"tag":{"name":"vip"}},{"not":"all"}]}`). An expression deeper
    /// than [`MAX_DEPTH`] levels is an error of the serializer (it would recurse once per
    /// level, and could not be read back).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.depth() > MAX_DEPTH {
            return Err(<S::Error as serde::ser::Error>::custom(too_deep_text()));
        }
        Shallow(self).serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ShallowList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Shallow))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Shallow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStructVariant;
        const NAME: &str = "Expr";
        match self.0 {
            Expr::All => s.serialize_unit_variant(NAME, 0, "all"),
            Expr::Tag(t) => s.serialize_newtype_variant(NAME, 1, "tag", t),
            Expr::And(items) => s.serialize_newtype_variant(NAME, 2, "and", &ShallowList(items)),
            Expr::Or(items) => s.serialize_newtype_variant(NAME, 3, "or", &ShallowList(items)),
            Expr::Not(inner) => s.serialize_newtype_variant(NAME, 4, "not", &Shallow(inner)),
            Expr::Cmp { attr, op, value } => {
                let mut v = s.serialize_struct_variant(NAME, 5, "cmp", 3)?;
                v.serialize_field("attr", attr)?;
                v.serialize_field("op", op)?;
                v.serialize_field("value", value)?;
                v.end()
            }
            Expr::Between { attr, lo, hi } => {
                let mut v = s.serialize_struct_variant(NAME, 6, "between", 3)?;
                v.serialize_field("attr", attr)?;
                v.serialize_field("lo", lo)?;
                v.serialize_field("hi", hi)?;
                v.end()
            }
            Expr::IsNull { attr } => {
                let mut v = s.serialize_struct_variant(NAME, 7, "is_null", 1)?;
                v.serialize_field("attr", attr)?;
                v.end()
            }
            Expr::IsNotNull { attr } => {
                let mut v = s.serialize_struct_variant(NAME, 8, "is_not_null", 1)?;
                v.serialize_field("attr", attr)?;
                v.end()
            }
            Expr::Within { attr, days } => {
                let mut v = s.serialize_struct_variant(NAME, 9, "within", 2)?;
                v.serialize_field("attr", attr)?;
                v.serialize_field("days", days)?;
                v.end()
            }
            Expr::Before { attr, days } => {
                let mut v = s.serialize_struct_variant(NAME, 10, "before", 2)?;
                v.serialize_field("attr", attr)?;
                v.serialize_field("days", days)?;
                v.end()
            }
            Expr::AssignedBefore { tag, days } => {
                let mut v = s.serialize_struct_variant(NAME, 11, "assigned_before", 2)?;
                v.serialize_field("tag", tag)?;
                v.serialize_field("days", days)?;
                v.end()
            }
            Expr::AssignedWithin { tag, days } => {
                let mut v = s.serialize_struct_variant(NAME, 12, "assigned_within", 2)?;
                v.serialize_field("tag", tag)?;
                v.serialize_field("days", days)?;
                v.end()
            }
            Expr::Set(name) => s.serialize_newtype_variant(NAME, 13, "set", name),
        }
    }
}

/// Deserializing the children of `AND`, `OR` and `NOT` with a depth count, so that a
/// format without a nesting limit of its own cannot make the derived code recurse without
/// bound.
#[cfg(feature = "serde")]
mod de {
    use std::cell::Cell;

    use serde::{Deserialize, Deserializer};

    use super::{Expr, MAX_DEPTH, too_deep_text};

    thread_local! {
        /// The level of the expression being deserialized on this thread (0 outside).
        static LEVEL: Cell<usize> = const { Cell::new(0) };
    }

    /// One level down while it lives.
    struct Level;

    impl Level {
        /// Enters the children's level; an error if they would be deeper than
        /// [`MAX_DEPTH`] (the top expression is level 1, so its children are level 2).
        fn enter<E: serde::de::Error>() -> Result<Level, E> {
            LEVEL.with(|level| {
                let children = level.get().saturating_add(2);
                if children > MAX_DEPTH {
                    return Err(E::custom(too_deep_text()));
                }
                level.set(level.get().saturating_add(1));
                Ok(Level)
            })
        }
    }

    impl Drop for Level {
        fn drop(&mut self) {
            LEVEL.with(|level| level.set(level.get().saturating_sub(1)));
        }
    }

    pub(super) fn children<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Expr>, D::Error> {
        let _level = Level::enter::<D::Error>()?;
        Vec::<Expr>::deserialize(d)
    }

    pub(super) fn boxed<'de, D: Deserializer<'de>>(d: D) -> Result<Box<Expr>, D::Error> {
        let _level = Level::enter::<D::Error>()?;
        Box::<Expr>::deserialize(d)
    }
}

// ----------------------------------------------------------------------------------------
// Canonical printing
// ----------------------------------------------------------------------------------------

/// Words with a meaning in the language (compared case-insensitively): a tag with one of
/// these names must be quoted.
pub(crate) const KEYWORDS: &[&str] = &[
    "AND", "OR", "NOT", "EXCLUDE", "IN", "BETWEEN", "WITHIN", "BEFORE", "ASSIGNED", "IS", "NULL",
    "ALL",
];

pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Characters of a bare (unquoted) name: letters and digits of any script, `_ - / .`, and
/// any other non-ASCII character that is not whitespace (so marks of Thai or Arabic, CJK).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '_' | '-' | '/' | '.')
        || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
}

fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if !name.is_empty() && name.chars().all(is_name_char) && !is_keyword(name) {
        f.write_str(name)
    } else {
        write_quoted(f, name)
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for TagRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.dimension {
            write_name(f, d)?;
            f.write_str(":")?;
        }
        write_name(f, &self.name)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Day(d) => write!(f, "{d}"),
            Literal::Decimal(d) => write!(f, "{d}"),
            Literal::Text(t) => write_quoted(f, t),
        }
    }
}

impl Expr {
    /// The binding strength of a node that is not a one-child `AND` or `OR`.
    fn own_prec(&self) -> Prec {
        match self {
            Expr::Or(v) if v.len() >= 2 => Prec::Or,
            Expr::And(v) if v.len() >= 2 => Prec::And,
            Expr::Not(_) => Prec::Unary,
            _ => Prec::Atom,
        }
    }

    /// Writes the canonical text with an explicit stack (no recursion per level).
    ///
    /// A one-child `AND` or `OR` prints as its child, with the parentheses the child's
    /// binding strength needs in the parent's context, once for each such wrapper.
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        enum Task<'a> {
            Node(&'a Expr, Prec),
            Text(&'static str),
            Close(usize),
        }
        let mut tasks = vec![Task::Node(self, Prec::Top)];
        while let Some(task) = tasks.pop() {
            let (mut e, parent) = match task {
                Task::Node(e, parent) => (e, parent),
                Task::Text(t) => {
                    f.write_str(t)?;
                    continue;
                }
                Task::Close(n) => {
                    for _ in 0..n {
                        f.write_str(")")?;
                    }
                    continue;
                }
            };
            let mut wrappers = 1usize;
            while let Expr::And(v) | Expr::Or(v) = e
                && let [one] = v.as_slice()
            {
                e = one;
                wrappers = wrappers.saturating_add(1);
            }
            if e.own_prec() < parent {
                for _ in 0..wrappers {
                    f.write_str("(")?;
                }
                tasks.push(Task::Close(wrappers));
            }
            match e {
                Expr::All => f.write_str("ALL")?,
                Expr::Tag(t) => write!(f, "{t}")?,
                Expr::And(items) | Expr::Or(items) => {
                    let and = matches!(e, Expr::And(_));
                    let (sep, child) = if and {
                        (" AND ", Prec::Unary)
                    } else {
                        (" OR ", Prec::And)
                    };
                    if items.is_empty() {
                        f.write_str(if and { "ALL" } else { "NOT ALL" })?;
                    }
                    for (i, item) in items.iter().enumerate().rev() {
                        tasks.push(Task::Node(item, child));
                        if i > 0 {
                            tasks.push(Task::Text(sep));
                        }
                    }
                }
                Expr::Not(inner) => {
                    f.write_str("NOT ")?;
                    tasks.push(Task::Node(inner, Prec::Unary));
                }
                Expr::Cmp { attr, op, value } => {
                    write_name(f, attr)?;
                    write!(f, " {} {value}", op.as_str())?;
                }
                Expr::Between { attr, lo, hi } => {
                    write_name(f, attr)?;
                    write!(f, " BETWEEN {lo} AND {hi}")?;
                }
                Expr::IsNull { attr } => {
                    write_name(f, attr)?;
                    f.write_str(" IS NULL")?;
                }
                Expr::IsNotNull { attr } => {
                    write_name(f, attr)?;
                    f.write_str(" IS NOT NULL")?;
                }
                Expr::Within { attr, days } => {
                    write_name(f, attr)?;
                    write!(f, " WITHIN {days}")?;
                }
                Expr::Before { attr, days } => {
                    write_name(f, attr)?;
                    write!(f, " BEFORE {days}")?;
                }
                Expr::AssignedBefore { tag, days } => write!(f, "{tag} ASSIGNED BEFORE {days}")?,
                Expr::AssignedWithin { tag, days } => write!(f, "{tag} ASSIGNED WITHIN {days}")?,
                Expr::Set(name) => {
                    f.write_str("@")?;
                    write_name(f, name)?;
                }
            }
        }
        Ok(())
    }
}

/// Binding strength, weakest first. A child binding weaker than its context gets parens;
/// a child of the same n-ary operator also gets them, so nesting survives a round trip.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Top,
    Or,
    And,
    Unary,
    Atom,
}

impl fmt::Display for Expr {
    /// The canonical text: keywords in upper case, names bare where possible and quoted
    /// otherwise, parentheses only where needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_minimal_parens() {
        let e = tag("a").or(tag("b")).and(tag("c").not());
        assert_eq!(e.to_string(), "(a OR b) AND NOT c");
        let e = tag("a").and(tag("b")).or(tag("c"));
        assert_eq!(e.to_string(), "a AND b OR c");
        let e = Expr::And(vec![tag("a"), Expr::And(vec![tag("b"), tag("c")])]);
        assert_eq!(e.to_string(), "a AND (b AND c)");
        let e = tag("a").or(tag("b")).not();
        assert_eq!(e.to_string(), "NOT (a OR b)");
    }

    #[test]
    fn quotes_what_is_not_bare() {
        assert_eq!(tag("VIP клиент").to_string(), "\"VIP клиент\"");
        assert_eq!(tag("ลูกค้าใหม่").to_string(), "ลูกค้าใหม่");
        assert_eq!(tag("and").to_string(), "\"and\"");
        assert_eq!(tag("say \"hi\"").to_string(), "\"say \\\"hi\\\"\"");
        assert_eq!(tag_in("power", "高消費力").to_string(), "power:高消費力");
        assert_eq!(set("capped").to_string(), "@capped");
    }
}
