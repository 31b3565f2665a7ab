//! The 13 segment queries of `../shared/peers/queries.json`, in a neutral form, and their
//! rendering in the library's query text.

use std::fmt::Write as _;

use super::workload::REFERENCE_DAY;

/// Comparison operator of an attribute predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` in `queries.json`, `=` in the query text.
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// `stored op value`.
    pub fn holds(self, stored: i64, value: i64) -> bool {
        match self {
            CmpOp::Lt => stored < value,
            CmpOp::Le => stored <= value,
            CmpOp::Gt => stored > value,
            CmpOp::Ge => stored >= value,
            CmpOp::Eq => stored == value,
            CmpOp::Ne => stored != value,
        }
    }

    /// The operator in the library's query text.
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
        }
    }
}

/// A segment query as in `queries.json`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QExpr {
    /// Intersection of one or more children.
    And(Vec<QExpr>),
    /// Union of one or more children.
    Or(Vec<QExpr>),
    /// Complement relative to all customers `0..n`.
    Not(Box<QExpr>),
    /// Customers carrying the tag.
    Tag(&'static str),
    /// Plain integer comparison of the stored column value, the -1 "never purchased"
    /// sentinel of the purchase-day columns included.
    Attr {
        /// `last_interaction_day`, `first_purchase_day`, `last_purchase_day`,
        /// `purchase_count` or `monetary_cents`.
        column: &'static str,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side.
        value: i64,
    },
}

/// One query of `queries.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerQuery {
    /// E.g. `q01_seed_example`.
    pub id: &'static str,
    /// What it selects.
    pub description: &'static str,
    /// The expression.
    pub expr: QExpr,
}

/// The day columns: values are days since 2020-01-01, -1 for "never purchased".
pub const DAY_COLUMNS: [&str; 3] = [
    "last_interaction_day",
    "first_purchase_day",
    "last_purchase_day",
];

/// 2020-01-01, day 0 of the workload, as days since 1970-01-01: the `day_epoch_offset` to
/// pass to [`to_query_text`] for the library's calendar.
pub const WORKLOAD_EPOCH_DAYS: i32 = 18_262;

fn and(children: Vec<QExpr>) -> QExpr {
    QExpr::And(children)
}

fn or(children: Vec<QExpr>) -> QExpr {
    QExpr::Or(children)
}

fn not(child: QExpr) -> QExpr {
    QExpr::Not(Box::new(child))
}

fn tag(name: &'static str) -> QExpr {
    QExpr::Tag(name)
}

fn attr(column: &'static str, op: CmpOp, value: i64) -> QExpr {
    QExpr::Attr { column, op, value }
}

/// The 13 queries of `queries.json`, in its order.
pub fn peer_queries() -> Vec<PeerQuery> {
    use CmpOp::{Ge, Gt, Lt};
    let r = i64::from(REFERENCE_DAY);
    let q = |id, description, expr| PeerQuery {
        id,
        description,
        expr,
    };
    vec![
        q(
            "q01_seed_example",
            "seed example: interest/cosmetics AND stage/purchased AND NOT product/lipstick",
            and(vec![
                tag("interest/cosmetics"),
                tag("stage/purchased"),
                not(tag("product/lipstick")),
            ]),
        ),
        q(
            "q02_or10_social_paid",
            "10-way OR of acquisition-channel tags (mostly 0.1%-10% each)",
            or(vec![
                tag("channel/tiktok"),
                tag("channel/instagram"),
                tag("channel/youtube"),
                tag("channel/xiaohongshu"),
                tag("channel/weibo"),
                tag("channel/douyin"),
                tag("channel/facebook_ads"),
                tag("channel/google_ads"),
                tag("channel/influencer"),
                tag("channel/affiliate"),
            ]),
        ),
        q(
            "q03_nested_mix",
            "nested AND/OR/NOT, 4 levels deep (and > or > and > not > tag)",
            and(vec![
                or(vec![
                    and(vec![tag("interest/skincare"), tag("power/tier_premium")]),
                    and(vec![
                        tag("interest/fragrance"),
                        not(tag("power/coupon_sensitive")),
                    ]),
                    tag("product/perfume"),
                ]),
                not(or(vec![
                    tag("stage/refund_requested"),
                    tag("activity/unsubscribed_email"),
                ])),
                or(vec![
                    tag("channel/app"),
                    and(vec![tag("channel/web"), tag("activity/email_subscribed")]),
                ]),
            ]),
        ),
        q(
            "q04_tag_and_recent_30d",
            "interest/electronics AND last_interaction_day >= reference_day - 30",
            and(vec![
                tag("interest/electronics"),
                attr("last_interaction_day", Ge, r - 30),
            ]),
        ),
        q(
            "q05_purchase_count_gt3",
            "purchase_count > 3 (attribute only)",
            attr("purchase_count", Gt, 3),
        ),
        q(
            "q06_empty_exclusive_tiers",
            "two mutually exclusive purchasing-power tiers: always empty",
            and(vec![tag("power/tier_budget"), tag("power/tier_luxury")]),
        ),
        q(
            "q07_oversized_tag",
            "single oversized tag (~92% of customers)",
            tag("stage/registered"),
        ),
        q(
            "q08_oversized_combo",
            "oversized tags combined: browsed AND email_subscribed AND NOT channel/web",
            and(vec![
                tag("stage/browsed"),
                tag("activity/email_subscribed"),
                not(tag("channel/web")),
            ]),
        ),
        q(
            "q09_not_single_tag",
            "NOT stage/purchased (relative to all customers)",
            not(tag("stage/purchased")),
        ),
        q(
            "q10_tiny_tags",
            "OR of tiny tags (7, 10 and 0 members regardless of N)",
            or(vec![
                tag("power/whale_manual_list"),
                tag("stage/manual_review"),
                tag("channel/smart_mirror_beta"),
            ]),
        ),
        q(
            "q11_tier_and_monetary_range",
            "power/tier_mid AND 10000 <= monetary_cents < 50000",
            and(vec![
                tag("power/tier_mid"),
                attr("monetary_cents", Ge, 10_000),
                attr("monetary_cents", Lt, 50_000),
            ]),
        ),
        q(
            "q12_lapsed_buyers_active_again",
            "purchased (last_purchase_day >= 0, i.e. not the -1 sentinel) but not in the last \
             365 days, AND active in the last 30 days",
            and(vec![
                attr("last_purchase_day", Ge, 0),
                attr("last_purchase_day", Lt, r - 365),
                tag("activity/active_30d"),
            ]),
        ),
        q(
            "q13_campaign",
            "beauty interest, carted, no purchase in 30d, interacted in 90d, reachable on a \
             messaging channel",
            and(vec![
                or(vec![
                    tag("interest/cosmetics"),
                    tag("interest/skincare"),
                    tag("interest/fragrance"),
                ]),
                tag("stage/carted"),
                not(tag("stage/purchased_30d")),
                attr("last_interaction_day", Ge, r - 90),
                or(vec![
                    tag("channel/line"),
                    tag("channel/whatsapp"),
                    tag("channel/wechat"),
                ]),
            ]),
        ),
    ]
}

/// (year, month, day) of `days` since 1970-01-01 in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    (yoe + era * 400 + i64::from(m <= 2), m as u32, d as u32)
}

/// Renders `expr` in the library's query text: tags as bare names, `AND` / `OR` / `NOT`,
/// parentheses around every nested `AND` / `OR` (and around a comparison under `NOT`),
/// comparisons as `column op value` with `=` for `==`.
///
/// Values of the day columns become `YYYY-MM-DD` dates, day `d` being the calendar day
/// `day_epoch_offset + d` counted from 1970-01-01 (pass [`WORKLOAD_EPOCH_DAYS`]: day 0 is
/// 2020-01-01).
///
/// The library stores "never purchased" as no value rather than as the -1 sentinel, so a
/// day comparison that, on the stored integers, separates exactly the sentinel from every
/// real day is written as a null test: `last_purchase_day >= 0` (or `> -1`, `!= -1`) becomes
/// `last_purchase_day IS NOT NULL`, and `< 0` (or `<= -1`, `= -1`) becomes `IS NULL`. Other
/// comparisons keep their value, and a missing value fails them, whereas the sentinel -1
/// passes `<`, `<=` and `!=` on the stored integers. For the 13 peer queries the two readings
/// select the same customers: the only comparisons on a column holding the sentinel are
/// q12's `last_purchase_day >= 0` (the null test itself) and `last_purchase_day < 1462`,
/// which q12 intersects with that null test; `last_interaction_day` always has a value.
/// Panics for a negative day value that is not one of those null tests.
pub fn to_query_text(expr: &QExpr, day_epoch_offset: i32) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr, day_epoch_offset, false);
    out
}

fn write_expr(out: &mut String, expr: &QExpr, offset: i32, nested: bool) {
    match expr {
        QExpr::And(children) | QExpr::Or(children) => {
            let word = if matches!(expr, QExpr::And(_)) {
                " AND "
            } else {
                " OR "
            };
            if let [only] = children.as_slice() {
                return write_expr(out, only, offset, nested);
            }
            if nested {
                out.push('(');
            }
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    out.push_str(word);
                }
                write_expr(out, child, offset, true);
            }
            if nested {
                out.push(')');
            }
        }
        QExpr::Not(child) => {
            out.push_str("NOT ");
            if let QExpr::Attr { .. } = **child {
                out.push('(');
                write_expr(out, child, offset, true);
                out.push(')');
            } else {
                write_expr(out, child, offset, true);
            }
        }
        QExpr::Tag(name) => out.push_str(name),
        QExpr::Attr { column, op, value } => write_attr(out, column, *op, *value, offset),
    }
}

fn write_attr(out: &mut String, column: &str, op: CmpOp, value: i64, offset: i32) {
    if !DAY_COLUMNS.contains(&column) {
        write!(out, "{column} {} {value}", op.text()).expect("writing to a String");
        return;
    }
    // On the stored integers a day column holds -1 (never purchased) or a real day >= 0.
    let sentinel_passes = op.holds(-1, value);
    let real_days_pass = |all: bool| {
        let mut days = [0, 1, value - 1, value, value + 1]
            .into_iter()
            .filter(|&d| d >= 0);
        if all {
            days.all(|d| op.holds(d, value))
        } else {
            days.any(|d| op.holds(d, value))
        }
    };
    if value < 1 && !sentinel_passes && real_days_pass(true) {
        write!(out, "{column} IS NOT NULL").expect("writing to a String");
    } else if value < 1 && sentinel_passes && !real_days_pass(false) {
        write!(out, "{column} IS NULL").expect("writing to a String");
    } else {
        assert!(
            value >= 0,
            "{column} {} {value}: no date for a negative day",
            op.text()
        );
        let (y, m, d) = civil_from_days(i64::from(offset) + value);
        write!(out, "{column} {} {y:04}-{m:02}-{d:02}", op.text()).expect("writing to a String");
    }
}
