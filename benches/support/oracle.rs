//! The dense-bitset evaluator: the correctness oracle for the engine and the "dense" baseline
//! of the reference table in `../shared/peers/README.md`.
//!
//! One packed bitset per tag (one `u64` word per 64 customers, bit `i % 64` of word `i / 64`
//! for customer `i`); queries are evaluated word by word, comparisons by a scan of the
//! attribute column that packs 64 results per word. It is what a user might write by hand
//! instead of using a library, written with tight loops and no branch per bit.

use std::collections::HashMap;

use super::queries::{CmpOp, QExpr};
use super::workload::Workload;

/// Tag bitsets of a [`Workload`], with its attribute columns borrowed for comparisons.
#[derive(Clone, Debug)]
pub struct DenseIndex<'w> {
    workload: &'w Workload,
    words: usize,
    /// Mask of the valid bits of the last word (all ones when `n % 64 == 0`).
    tail: u64,
    tags: Vec<Vec<u64>>,
    by_name: HashMap<&'w str, usize>,
}

/// How a freshly computed word joins the accumulator.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Set,
    And,
    Or,
}

impl Mode {
    #[inline(always)]
    fn apply(self, acc: &mut u64, bits: u64) {
        match self {
            Mode::Set => *acc = bits,
            Mode::And => *acc &= bits,
            Mode::Or => *acc |= bits,
        }
    }
}

impl<'w> DenseIndex<'w> {
    /// One bitset per tag of `workload`.
    pub fn build(workload: &'w Workload) -> DenseIndex<'w> {
        let n = workload.n as usize;
        let words = n.div_ceil(64);
        let tail = match n % 64 {
            0 => u64::MAX,
            r => (1u64 << r) - 1,
        };
        let tags = workload
            .tags
            .iter()
            .map(|t| {
                let mut bits = vec![0u64; words];
                for &m in &t.members {
                    bits[m as usize / 64] |= 1 << (m % 64);
                }
                bits
            })
            .collect();
        let by_name = workload
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        DenseIndex {
            workload,
            words,
            tail,
            tags,
            by_name,
        }
    }

    /// Number of customers.
    pub fn n(&self) -> u32 {
        self.workload.n
    }

    /// The bitset of tag `name`; panics for an unknown name.
    pub fn tag_bits(&self, name: &str) -> &[u64] {
        let id = self
            .by_name
            .get(name)
            .unwrap_or_else(|| panic!("unknown tag {name:?}"));
        &self.tags[*id]
    }

    /// Number of customers selected by `expr`.
    pub fn count(&self, expr: &QExpr) -> u64 {
        match expr {
            QExpr::Tag(name) => popcount(self.tag_bits(name)),
            QExpr::Not(child) if matches!(**child, QExpr::Tag(_)) => {
                u64::from(self.n()) - self.count(child)
            }
            _ => popcount(&self.eval(expr)),
        }
    }

    /// The customers selected by `expr` as a bitset of `n.div_ceil(64)` words, bits past
    /// `n` clear.
    pub fn eval(&self, expr: &QExpr) -> Vec<u64> {
        let mut out = vec![0u64; self.words];
        self.eval_into(expr, &mut out);
        out
    }

    /// The customers selected by `expr`, ascending.
    pub fn ids(&self, expr: &QExpr) -> Vec<u32> {
        bits_to_ids(&self.eval(expr))
    }

    /// `out = expr`.
    fn eval_into(&self, expr: &QExpr, out: &mut [u64]) {
        match expr {
            QExpr::Tag(name) => out.copy_from_slice(self.tag_bits(name)),
            QExpr::Attr { column, op, value } => {
                scan(self.column(column), Range::of(*op, *value), out, Mode::Set);
            }
            QExpr::Not(child) => {
                self.eval_into(child, out);
                for w in out.iter_mut() {
                    *w = !*w;
                }
                self.clear_tail(out);
            }
            QExpr::And(children) => {
                assert!(!children.is_empty(), "AND of at least one child");
                let (ranges, others) = split_ranges(children);
                let mut mode = Mode::Set;
                for child in others {
                    match mode {
                        Mode::Set => self.eval_into(child, out),
                        _ => self.and_into(child, out),
                    }
                    mode = Mode::And;
                }
                for (column, r) in ranges {
                    scan(self.column(column), r, out, mode);
                    mode = Mode::And;
                }
            }
            QExpr::Or(children) => {
                let (first, rest) = children.split_first().expect("OR of at least one child");
                self.eval_into(first, out);
                for child in rest {
                    self.or_into(child, out);
                }
            }
        }
    }

    /// `acc &= expr`, without a temporary for tags, negated tags, comparisons and ANDs.
    fn and_into(&self, expr: &QExpr, acc: &mut [u64]) {
        match expr {
            QExpr::Tag(name) => {
                for (a, t) in acc.iter_mut().zip(self.tag_bits(name)) {
                    *a &= t;
                }
            }
            QExpr::Not(child) if matches!(**child, QExpr::Tag(_)) => {
                let QExpr::Tag(name) = **child else {
                    unreachable!()
                };
                for (a, t) in acc.iter_mut().zip(self.tag_bits(name)) {
                    *a &= !t;
                }
            }
            QExpr::Attr { column, op, value } => {
                scan(self.column(column), Range::of(*op, *value), acc, Mode::And);
            }
            QExpr::And(children) => {
                let (ranges, others) = split_ranges(children);
                for child in others {
                    self.and_into(child, acc);
                }
                for (column, r) in ranges {
                    scan(self.column(column), r, acc, Mode::And);
                }
            }
            _ => {
                let tmp = self.eval(expr);
                for (a, t) in acc.iter_mut().zip(&tmp) {
                    *a &= t;
                }
            }
        }
    }

    /// `acc |= expr`, without a temporary for tags, comparisons and ORs.
    fn or_into(&self, expr: &QExpr, acc: &mut [u64]) {
        match expr {
            QExpr::Tag(name) => {
                for (a, t) in acc.iter_mut().zip(self.tag_bits(name)) {
                    *a |= t;
                }
            }
            QExpr::Attr { column, op, value } => {
                scan(self.column(column), Range::of(*op, *value), acc, Mode::Or);
            }
            QExpr::Or(children) => {
                for child in children {
                    self.or_into(child, acc);
                }
            }
            _ => {
                let tmp = self.eval(expr);
                for (a, t) in acc.iter_mut().zip(&tmp) {
                    *a |= t;
                }
            }
        }
    }

    fn clear_tail(&self, bits: &mut [u64]) {
        if let Some(last) = bits.last_mut() {
            *last &= self.tail;
        }
    }

    /// The attribute column `name`; panics for an unknown name.
    fn column(&self, name: &str) -> Column<'w> {
        let w = self.workload;
        match name {
            "last_interaction_day" => Column::I32(&w.last_interaction_day),
            "first_purchase_day" => Column::I32(&w.first_purchase_day),
            "last_purchase_day" => Column::I32(&w.last_purchase_day),
            "purchase_count" => Column::U32(&w.purchase_count),
            "monetary_cents" => Column::U64(&w.monetary_cents),
            other => panic!("unknown attribute column {other:?}"),
        }
    }
}

/// The comparisons among `children` as one range per column (several comparisons on one
/// column, like `10000 <= monetary_cents < 50000`, take a single scan), and the other children.
fn split_ranges(children: &[QExpr]) -> (Vec<(&'static str, Range)>, Vec<&QExpr>) {
    let mut ranges: Vec<(&'static str, Range)> = Vec::new();
    let mut others = Vec::new();
    for child in children {
        let QExpr::Attr { column, op, value } = child else {
            others.push(child);
            continue;
        };
        let r = Range::of(*op, *value);
        match ranges
            .iter_mut()
            .find(|(c, q)| c == column && !q.negate && !r.negate)
        {
            Some((_, q)) => *q = q.intersect(r),
            None => ranges.push((column, r)),
        }
    }
    (ranges, others)
}

/// A borrowed attribute column.
#[derive(Clone, Copy, Debug)]
enum Column<'a> {
    I32(&'a [i32]),
    U32(&'a [u32]),
    U64(&'a [u64]),
}

/// `lo <= v <= hi` on the stored integers (`!=` is the negated `==`).
#[derive(Clone, Copy, Debug)]
struct Range {
    lo: i128,
    hi: i128,
    negate: bool,
}

impl Range {
    fn of(op: CmpOp, value: i64) -> Range {
        let (c, min, max) = (i128::from(value), i128::MIN, i128::MAX);
        let (lo, hi, negate) = match op {
            CmpOp::Lt => (min, c - 1, false),
            CmpOp::Le => (min, c, false),
            CmpOp::Gt => (c + 1, max, false),
            CmpOp::Ge => (c, max, false),
            CmpOp::Eq => (c, c, false),
            CmpOp::Ne => (c, c, true),
        };
        Range { lo, hi, negate }
    }

    /// Both ranges (neither negated).
    fn intersect(self, other: Range) -> Range {
        Range {
            lo: self.lo.max(other.lo),
            hi: self.hi.min(other.hi),
            negate: false,
        }
    }

    /// `(lo, span, negate)` within the values `min..=max` of a column type: `v` passes when
    /// `(v - lo) <= span` in wrapping unsigned arithmetic differs from `negate`. An empty
    /// range is the negated full one.
    fn within(self, min: i128, max: i128) -> (i128, i128, bool) {
        let (lo, hi) = (self.lo.max(min), self.hi.min(max));
        if lo > hi {
            (min, max - min, !self.negate)
        } else {
            (lo, hi - lo, self.negate)
        }
    }
}

/// Combines `r` on `column` into `out` by `mode`: one wrapping subtraction and one unsigned
/// comparison per value.
fn scan(column: Column<'_>, r: Range, out: &mut [u64], mode: Mode) {
    match column {
        Column::I32(col) => {
            let (lo, span, neg) = r.within(i128::from(i32::MIN), i128::from(i32::MAX));
            let (lo, span) = (lo as i32 as u32, span as u32);
            pack(col, out, mode, |v| {
                ((v as u32).wrapping_sub(lo) <= span) != neg
            });
        }
        Column::U32(col) => {
            let (lo, span, neg) = r.within(0, i128::from(u32::MAX));
            let (lo, span) = (lo as u32, span as u32);
            pack(col, out, mode, |v| (v.wrapping_sub(lo) <= span) != neg);
        }
        Column::U64(col) => {
            let (lo, span, neg) = r.within(0, i128::from(u64::MAX));
            let (lo, span) = (lo as u64, span as u64);
            pack(col, out, mode, |v| (v.wrapping_sub(lo) <= span) != neg);
        }
    }
}

/// Packs `pred(v)` for each value, 64 to a word, into `out` by `mode`.
///
/// The predicate is evaluated into 64 bytes first (a loop the compiler turns into SIMD
/// compares even for baseline x86-64), then every 8 bytes of 0/1 are gathered into 8 bits
/// with one multiplication.
#[inline(always)]
fn pack<T: Copy>(col: &[T], out: &mut [u64], mode: Mode, pred: impl Fn(T) -> bool) {
    let full = col.len() / 64;
    let (body, rest) = col.split_at(full * 64);
    for (acc, chunk) in out.iter_mut().zip(body.chunks_exact(64)) {
        let mut bytes = [0u8; 64];
        for (b, &v) in bytes.iter_mut().zip(chunk) {
            *b = u8::from(pred(v));
        }
        mode.apply(acc, gather_bits(&bytes));
    }
    if !rest.is_empty() {
        let mut bytes = [0u8; 64];
        for (b, &v) in bytes.iter_mut().zip(rest) {
            *b = u8::from(pred(v));
        }
        mode.apply(&mut out[full], gather_bits(&bytes));
    }
}

/// Bit `j` set iff `bytes[j] == 1` (every byte 0 or 1).
#[inline(always)]
fn gather_bits(bytes: &[u8; 64]) -> u64 {
    let mut word = 0u64;
    for (g, group) in bytes.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(group.try_into().expect("8 bytes"));
        // byte k (0 or 1) lands on bit 56 + k; the partial products never carry into it
        word |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * g);
    }
    word
}

/// Number of set bits.
pub fn popcount(bits: &[u64]) -> u64 {
    bits.iter().map(|w| u64::from(w.count_ones())).sum()
}

/// The positions of the set bits, ascending.
pub fn bits_to_ids(bits: &[u64]) -> Vec<u32> {
    let mut ids = Vec::with_capacity(popcount(bits) as usize);
    for (i, &word) in bits.iter().enumerate() {
        let mut w = word;
        while w != 0 {
            ids.push((i * 64) as u32 + w.trailing_zeros());
            w &= w - 1;
        }
    }
    ids
}
