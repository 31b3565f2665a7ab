//! The `rfm.r`, `rfm.f`, `rfm.m` and `rfm.segment` query terms: [`RfmScores`] is their
//! provider ([`Terms`]), passed to a query in its [`Context`](crate::Context).

use std::borrow::Cow;

use roaring::{MultiOps, RoaringBitmap};

use crate::base::fold::suggest;
use crate::error::QueryProblem;
use crate::query::{CmpOp, Expr, Literal, Term, Terms};

use super::{Measure, RfmScores};

enum Which {
    Score(Measure),
    Segment,
}

fn found(lit: &Literal) -> &'static str {
    match lit {
        Literal::Int(_) => "a number",
        Literal::Day(_) => "a day",
        Literal::Decimal(_) => "a decimal",
        Literal::Text(_) => "text",
    }
}

impl Terms for RfmScores {
    /// `"rfm"`: the terms are `rfm.r`, `rfm.f`, `rfm.m` and `rfm.segment`.
    fn prefix(&self) -> &str {
        "rfm"
    }

    fn bind<'a>(&'a self, attr: &str, expr: &Expr) -> Result<Term<'a>, QueryProblem> {
        bind(self, attr, expr)
    }
}

/// Binds an `rfm.` predicate to the scores.
fn bind<'a>(scores: &'a RfmScores, attr: &str, expr: &Expr) -> Result<Term<'a>, QueryProblem> {
    let rest = attr.get(4..).unwrap_or("");
    let term = match rest.to_ascii_lowercase().as_str() {
        "r" => Which::Score(Measure::Recency),
        "f" => Which::Score(Measure::Frequency),
        "m" => Which::Score(Measure::Monetary),
        "segment" => Which::Segment,
        _ => {
            return Err(QueryProblem::Mismatch(format!(
                "unknown RFM term {attr}: use rfm.r, rfm.f, rfm.m or rfm.segment"
            )));
        }
    };
    if let Expr::Within { .. } | Expr::Before { .. } = expr {
        return Err(QueryProblem::Mismatch(format!(
            "{attr} holds scores; WITHIN and BEFORE need a day attribute"
        )));
    }
    if let Expr::IsNull { .. } = expr {
        return Ok(Term::AllBut(Cow::Borrowed(&scores.scored)));
    }
    if let Expr::IsNotNull { .. } = expr {
        return Ok(Term::Members(Cow::Borrowed(&scores.scored)));
    }
    match term {
        Which::Score(m) => bind_score(scores, m, attr, expr),
        Which::Segment => bind_segment(scores, attr, expr),
    }
}

fn bind_score<'a>(
    scores: &'a RfmScores,
    measure: Measure,
    attr: &str,
    expr: &Expr,
) -> Result<Term<'a>, QueryProblem> {
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
                    return Ok(Term::Members(Cow::Owned(bits)));
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
    Ok(Term::Members(match picked {
        [] => Cow::Owned(RoaringBitmap::new()),
        [one] => Cow::Borrowed(one),
        many => Cow::Owned(many.iter().union()),
    }))
}

fn bind_segment<'a>(
    scores: &'a RfmScores,
    attr: &str,
    expr: &Expr,
) -> Result<Term<'a>, QueryProblem> {
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
        CmpOp::Eq => Ok(Term::Members(Cow::Borrowed(bits))),
        CmpOp::Ne => Ok(Term::Members(Cow::Owned(&scores.scored - bits))),
        _ => Err(QueryProblem::Mismatch(format!(
            "{attr} holds segment names: compare it with = or !="
        ))),
    }
}
