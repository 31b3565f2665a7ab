//! The query AST, its builder API and its canonical text form.

use std::fmt;

use crate::day::Day;

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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Expr {
    /// Every live customer: `ALL`.
    All,
    /// Customers carrying a tag: `vip`, `"VIP клиент"`, `channel:vip`.
    Tag(TagRef),
    /// Intersection: `a AND b`.
    And(Vec<Expr>),
    /// Union: `a OR b`.
    Or(Vec<Expr>),
    /// Complement within the live customers: `NOT a`.
    Not(Box<Expr>),
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
    /// A day attribute within the last N days: `last_interaction WITHIN 30d` means
    /// `last_interaction >= today - 30`.
    Within {
        /// The day attribute.
        attr: String,
        /// N.
        days: u32,
    },
    /// A day attribute more than N days ago: `last_interaction BEFORE 180d` means
    /// `last_interaction < today - 180`.
    Before {
        /// The day attribute.
        attr: String,
        /// N.
        days: u32,
    },
    /// Members assigned the tag more than N days ago: `vip ASSIGNED BEFORE 60d` (assigned
    /// before `today - 60`).
    AssignedBefore {
        /// The tag.
        tag: TagRef,
        /// N.
        days: u32,
    },
    /// Members assigned the tag within the last N days: `vip ASSIGNED WITHIN 7d` (assigned
    /// on `today - 7` or later).
    AssignedWithin {
        /// The tag.
        tag: TagRef,
        /// N.
        days: u32,
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
        Expr::Within {
            attr: self.attr,
            days,
        }
    }
    /// `attr BEFORE Nd` (more than N days ago)
    pub fn before_days(self, days: u32) -> Expr {
        Expr::Before {
            attr: self.attr,
            days,
        }
    }
}

impl Expr {
    /// `self AND other` (flattening a left-hand AND).
    pub fn and(self, other: Expr) -> Expr {
        match self {
            Expr::And(mut v) => {
                v.push(other);
                Expr::And(v)
            }
            e => Expr::And(vec![e, other]),
        }
    }

    /// `self OR other` (flattening a left-hand OR).
    pub fn or(self, other: Expr) -> Expr {
        match self {
            Expr::Or(mut v) => {
                v.push(other);
                Expr::Or(v)
            }
            e => Expr::Or(vec![e, other]),
        }
    }

    /// `self AND NOT other` (the seeds' EXCLUDE).
    pub fn exclude(self, other: Expr) -> Expr {
        self.and(Expr::Not(Box::new(other)))
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// Members of `tag` assigned more than `days` days ago (`tag ASSIGNED BEFORE Nd`).
    pub fn assigned_before(tag: TagRef, days: u32) -> Expr {
        Expr::AssignedBefore { tag, days }
    }

    /// Members of `tag` assigned within the last `days` days (`tag ASSIGNED WITHIN Nd`).
    pub fn assigned_within(tag: TagRef, days: u32) -> Expr {
        Expr::AssignedWithin { tag, days }
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
            Literal::Text(t) => write_quoted(f, t),
        }
    }
}

impl Expr {
    fn write(&self, f: &mut fmt::Formatter<'_>, parent: Prec) -> fmt::Result {
        let prec = self.prec();
        let parens = prec < parent;
        if parens {
            f.write_str("(")?;
        }
        match self {
            Expr::All => f.write_str("ALL")?,
            Expr::Tag(t) => write!(f, "{t}")?,
            Expr::And(items) | Expr::Or(items) => {
                let (sep, child) = if matches!(self, Expr::And(_)) {
                    (" AND ", Prec::Unary)
                } else {
                    (" OR ", Prec::And)
                };
                match items.as_slice() {
                    [] if matches!(self, Expr::And(_)) => f.write_str("ALL")?,
                    [] => f.write_str("NOT ALL")?,
                    [one] => one.write(f, parent)?,
                    _ => {
                        for (i, e) in items.iter().enumerate() {
                            if i > 0 {
                                f.write_str(sep)?;
                            }
                            e.write(f, child)?;
                        }
                    }
                }
            }
            Expr::Not(e) => {
                f.write_str("NOT ")?;
                e.write(f, Prec::Unary)?;
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
                write!(f, " WITHIN {days}d")?;
            }
            Expr::Before { attr, days } => {
                write_name(f, attr)?;
                write!(f, " BEFORE {days}d")?;
            }
            Expr::AssignedBefore { tag, days } => write!(f, "{tag} ASSIGNED BEFORE {days}d")?,
            Expr::AssignedWithin { tag, days } => write!(f, "{tag} ASSIGNED WITHIN {days}d")?,
            Expr::Set(name) => {
                f.write_str("@")?;
                write_name(f, name)?;
            }
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }

    fn prec(&self) -> Prec {
        match self {
            Expr::Or(v) if v.len() >= 2 => Prec::Or,
            Expr::And(v) if v.len() >= 2 => Prec::And,
            Expr::Or(v) | Expr::And(v) => v.first().map_or(Prec::Atom, Expr::prec),
            Expr::Not(_) => Prec::Unary,
            _ => Prec::Atom,
        }
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
        self.write(f, Prec::Top)
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
