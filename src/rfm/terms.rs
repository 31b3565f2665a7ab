//! The `rfm.r`, `rfm.f`, `rfm.m` and `rfm.segment` query terms, bound to a store's scores.

use std::borrow::Cow;

use roaring::{MultiOps, RoaringBitmap};

use crate::base::fold::suggest;
use crate::error::QueryProblem;
use crate::query::{CmpOp, Expr, Literal};

use super::{Measure, RfmScores};

/// The attribute of an attribute predicate, when it is an `rfm.` term.
pub(crate) fn rfm_attr(expr: &Expr) -> Option<&str> {
    let attr = match expr {
        Expr::Cmp { attr, .. }
        | Expr::Between { attr, .. }
        | Expr::IsNull { attr }
        | Expr::IsNotNull { attr }
        | Expr::Within { attr, .. }
        | Expr::Before { attr, .. } => attr.as_str(),
        _ => return None,
    };
    attr.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("rfm."))
        .then_some(attr)
}

/// What an `rfm.` term binds to.
pub(crate) enum Bound<'a> {
    /// These customers.
    Bits(Cow<'a, RoaringBitmap>),
    /// Every live customer except these.
    Not(Cow<'a, RoaringBitmap>),
}

enum Term {
    Score(Measure),
    Segment,
}

fn found(lit: &Literal) -> &'static str {
    match lit {
        Literal::Int(_) => "a number",
        Literal::Day(_) => "a day",
        Literal::Text(_) => "text",
    }
}

/// Binds an `rfm.` predicate (see [`rfm_attr`]) to the store's scores.
pub(crate) fn bind<'a>(
    scores: Option<&'a RfmScores>,
    attr: &str,
    expr: &Expr,
) -> Result<Bound<'a>, QueryProblem> {
    let rest = attr.get(4..).unwrap_or("");
    let term = match rest.to_ascii_lowercase().as_str() {
        "r" => Term::Score(Measure::Recency),
        "f" => Term::Score(Measure::Frequency),
        "m" => Term::Score(Measure::Monetary),
        "segment" => Term::Segment,
        _ => {
            return Err(QueryProblem::Mismatch(format!(
                "unknown RFM term {attr}: use rfm.r, rfm.f, rfm.m or rfm.segment"
            )));
        }
    };
    let Some(scores) = scores else {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} needs RFM scores, and this store has none: score customers first"
        )));
    };
    if let Expr::Within { .. } | Expr::Before { .. } = expr {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} holds scores; WITHIN and BEFORE need a day attribute"
        )));
    }
    if let Expr::IsNull { .. } = expr {
        return Ok(Bound::Not(Cow::Borrowed(&scores.scored)));
    }
    if let Expr::IsNotNull { .. } = expr {
        return Ok(Bound::Bits(Cow::Borrowed(&scores.scored)));
    }
    match term {
        Term::Score(m) => bind_score(scores, m, attr, expr),
        Term::Segment => bind_segment(scores, attr, expr),
    }
}

fn bind_score<'a>(
    scores: &'a RfmScores,
    measure: Measure,
    attr: &str,
    expr: &Expr,
) -> Result<Bound<'a>, QueryProblem> {
    let n = scores.bins(measure);
    let score = |lit: &Literal| -> Result<u8, QueryProblem> {
        match lit {
            Literal::Int(v) if (1..=i64::from(n)).contains(v) => Ok(*v as u8),
            Literal::Int(v) => Err(QueryProblem::ScoreOutOfRange {
                term: attr.to_string(),
                bins: n,
                score: *v,
            }),
            other => Err(QueryProblem::Mismatch(format!(
                "{attr} holds scores, compare it with a number, not {}",
                found(other)
            ))),
        }
    };
    let (lo, hi) = match expr {
        Expr::Cmp { op, value, .. } => {
            let v = score(value)?;
            match op {
                CmpOp::Eq => (v, v),
                CmpOp::Lt => (1, v - 1),
                CmpOp::Le => (1, v),
                CmpOp::Gt => (v + 1, n),
                CmpOp::Ge => (v, n),
                CmpOp::Ne => {
                    let bits = scores
                        .customers(measure, v)
                        .map_or_else(|| scores.scored.clone(), |b| &scores.scored - b);
                    return Ok(Bound::Bits(Cow::Owned(bits)));
                }
            }
        }
        Expr::Between { lo, hi, .. } => (score(lo)?, score(hi)?),
        _ => (1, 0),
    };
    let list = &scores.by_score[measure.index()];
    let picked = list
        .get(usize::from(lo.max(1)) - 1..usize::from(hi))
        .unwrap_or(&[]);
    Ok(Bound::Bits(match picked {
        [] => Cow::Owned(RoaringBitmap::new()),
        [one] => Cow::Borrowed(one),
        many => Cow::Owned(many.iter().union()),
    }))
}

fn bind_segment<'a>(
    scores: &'a RfmScores,
    attr: &str,
    expr: &Expr,
) -> Result<Bound<'a>, QueryProblem> {
    if scores.segment_names.is_empty() {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} needs named segments, and these RFM scores have none: score with a segment map"
        )));
    }
    let (op, value) = match expr {
        Expr::Cmp { op, value, .. } => (*op, value),
        _ => {
            return Err(QueryProblem::Mismatch(format!(
                "{attr} holds segment names: compare it with = or !="
            )));
        }
    };
    let name = match value {
        Literal::Text(t) => t,
        other => {
            return Err(QueryProblem::Mismatch(format!(
                "{attr} holds segment names, compare it with quoted text, not {}",
                found(other)
            )));
        }
    };
    let Some(bits) = scores.segment(name) else {
        return Err(QueryProblem::UnknownSegment {
            name: name.clone(),
            suggestion: suggest(name, scores.segment_names.iter().map(String::as_str)),
        });
    };
    match op {
        CmpOp::Eq => Ok(Bound::Bits(Cow::Borrowed(bits))),
        CmpOp::Ne => Ok(Bound::Bits(Cow::Owned(&scores.scored - bits))),
        _ => Err(QueryProblem::Mismatch(format!(
            "{attr} holds segment names: compare it with = or !="
        ))),
    }
}
