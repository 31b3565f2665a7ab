//! Expressions built in code may nest without bound: no operation on one may overflow the
//! stack. Every test runs on a thread with a 256 KiB stack, where a walk that recursed once
//! per level of a million-level expression would overflow (and abort the test binary);
//! tests that also recurse up to the depth limit get 1 MiB in unoptimised builds.
//!
//! The hand-written `Debug`, `Serialize`, `Deserialize`, `Hash`, `Clone` and `PartialEq`
//! of `Expr` must match what `derive` gives: a mirror enum with the derived traits checks
//! that on shallow expressions of every variant.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use audience::query::{CmpOp, Expr, Literal, MAX_DEPTH, TagRef, attr, tag, tag_in};
use audience::{CustomerKey, Day, Edit, Period, Query, QueryProblem, Store, TagSpec};

const DEEP: usize = 1_000_000;
const SMALL_STACK: usize = 256 * 1024;

/// Runs `f` on a thread with a small stack and propagates its panic.
fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    on_stack(SMALL_STACK, f)
}

/// Runs `f`, which also recurses up to the depth limit (the parser, serde formats, the
/// derived code below 128 levels), on a thread with a stack that holds that recursion: the
/// small stack in optimised builds, 1 MiB unoptimised (where frames are several times
/// larger). A walk recursing once per level of a million-level expression overflows both.
fn on_stack_for_the_limit<F: FnOnce() + Send + 'static>(f: F) {
    on_stack(
        if cfg!(debug_assertions) {
            1 << 20
        } else {
            SMALL_STACK
        },
        f,
    )
}

fn on_stack<F: FnOnce() + Send + 'static>(bytes: usize, f: F) {
    let handle = std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("spawning a thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

fn nots(levels: usize) -> Expr {
    let mut e = tag("a");
    for _ in 0..levels {
        e = e.not();
    }
    e
}

/// `x AND (x OR (x AND (...)))`: AND and OR alternating, nested on the right.
fn and_or(levels: usize) -> Expr {
    let mut e = tag("a");
    for i in 0..levels {
        e = if i % 2 == 0 {
            tag("x").and(e)
        } else {
            tag("x").or(e)
        };
    }
    e
}

/// One-child ANDs and ORs, which print as their child.
fn wrappers(levels: usize) -> Expr {
    let mut e = tag("a").or(tag("b"));
    for i in 0..levels {
        e = if i % 2 == 0 {
            Expr::And(vec![e])
        } else {
            Expr::Or(vec![e])
        };
    }
    e
}

fn hash_of(e: &Expr) -> u64 {
    let mut h = DefaultHasher::new();
    e.hash(&mut h);
    h.finish()
}

#[test]
fn drop_clone_eq_hash_of_a_million_levels() {
    on_small_stack(|| {
        type Build = fn(usize) -> Expr;
        let builds: [(Build, usize); 3] = [(nots, 1), (and_or, 1), (wrappers, 2)];
        for (build, below) in builds {
            let e = build(DEEP);
            assert_eq!(e.depth(), DEEP + below);
            let copy = e.clone();
            assert!(copy == e);
            assert_eq!(hash_of(&copy), hash_of(&e));
            let other = build(DEEP - 1);
            assert!(other != e);
            assert_ne!(hash_of(&other), hash_of(&e));
            drop(copy);
            drop(other);
            let q = Query::new(e);
            let q2 = q.clone();
            assert_eq!(q, q2);
        }
    });
}

#[test]
fn display_and_debug_of_a_million_levels() {
    on_small_stack(|| {
        let text = nots(DEEP).to_string();
        assert_eq!(text.len(), 4 * DEEP + 1);
        assert!(text.starts_with("NOT NOT ") && text.ends_with("NOT a"));

        // An OR inside an AND needs parentheses, an AND inside an OR does not.
        let pairs = DEEP / 2 - 1;
        let want = "x OR x AND (".repeat(pairs) + "x OR x AND a" + &")".repeat(pairs);
        assert!(and_or(DEEP).to_string() == want);

        // A one-child AND or OR prints as its child, parenthesised once per wrapper where
        // the context needs it (as before the printer lost its recursion).
        let text = wrappers(DEEP).to_string();
        assert_eq!(text, "a OR b");
        let inside = tag("c").and(wrappers(DEEP)).to_string();
        let want = "c AND ".to_string() + &"(".repeat(DEEP + 1) + "a OR b" + &")".repeat(DEEP + 1);
        assert!(inside == want);

        let debug = format!("{:?}", nots(DEEP));
        assert!(
            debug.starts_with("Expr { depth: 1000001, text: \"NOT NOT "),
            "{}",
            &debug[..60]
        );
        assert!(debug.ends_with("NOT a\" }"));
    });
}

#[test]
fn debug_switches_to_text_above_the_depth_limit() {
    assert_eq!(
        format!("{:?}", nots(2)),
        "Not(Not(Tag(TagRef { dimension: None, name: \"a\" })))"
    );
    let at_limit = format!("{:?}", nots(MAX_DEPTH - 1));
    assert!(at_limit.starts_with("Not(Not("));
    assert_eq!(
        format!("{:?}", nots(MAX_DEPTH)),
        format!(
            "Expr {{ depth: 129, text: \"{}a\" }}",
            "NOT ".repeat(MAX_DEPTH)
        )
    );
}

#[test]
fn binding_refuses_a_million_levels() {
    on_small_stack(|| {
        let today = Day::from_ymd(2025, 1, 6).unwrap();
        let mut store = Store::new();
        store
            .create_tag(&Edit::new("admin", today), TagSpec::new("a"))
            .unwrap();
        for name in ["b", "x"] {
            store
                .create_tag(&Edit::new("admin", today), TagSpec::new(name))
                .unwrap();
        }
        store
            .add_customer(CustomerKey::member("m1").unwrap())
            .unwrap();
        for e in [nots(DEEP), and_or(DEEP), wrappers(DEEP)] {
            let err = store.count(&Query::new(e), today).unwrap_err();
            assert_eq!(err.to_string(), "query nests deeper than 128 levels");
        }
        // At the limit it binds.
        assert_eq!(
            store
                .count(&Query::new(nots(MAX_DEPTH - 1)), today)
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .count(&Query::new(nots(MAX_DEPTH - 2)), today)
                .unwrap(),
            0
        );
    });
}

#[test]
fn parsing_refuses_what_binding_would() {
    // 128 NOTs are 128 levels of NOT over the tag: 129 levels in all.
    let text = "NOT ".repeat(MAX_DEPTH) + "vip";
    let err = Query::parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        // A window of the last 100 columns, the caret under "vip".
        format!(
            "query nests deeper than 128 levels at column {}\n  ... {}vip\n  {}^^^",
            4 * MAX_DEPTH + 1,
            "NOT ".repeat(24),
            " ".repeat(100)
        )
    );
    assert!(Query::parse(&("NOT ".repeat(MAX_DEPTH - 1) + "vip")).is_ok());

    // Parentheses are within their limit (two per round), but each round adds an AND, an OR
    // and an AND to the AST.
    let mut text = String::from("z");
    for _ in 0..50 {
        text = format!("a AND (b OR c AND ({text}))");
    }
    let err = Query::parse(&text).unwrap_err();
    match err.kind() {
        audience::ErrorKind::Query(e) => {
            assert_eq!(e.problem, QueryProblem::TooDeep { limit: MAX_DEPTH })
        }
        other => panic!("{other}"),
    }
    let mut text = String::from("z");
    for _ in 0..40 {
        text = format!("a AND (b OR c AND ({text}))");
    }
    let q = Query::parse(&text).unwrap();
    assert!(q.expr().depth() <= MAX_DEPTH);

    let short = "NOT NOT ".repeat(MAX_DEPTH / 2) + "x";
    assert_eq!(
        Query::parse(&short).unwrap_err().to_string(),
        format!(
            "query nests deeper than 128 levels at column {}\n  ...OT {}x\n  {}^",
            4 * MAX_DEPTH + 1,
            "NOT ".repeat(24),
            " ".repeat(102)
        )
    );
}

#[test]
fn serde_refuses_a_million_levels() {
    on_stack_for_the_limit(|| {
        for e in [nots(DEEP), and_or(DEEP), wrappers(DEEP)] {
            let err = serde_json::to_string(&e).unwrap_err();
            assert_eq!(err.to_string(), "query nests deeper than 128 levels");
            let err = serde_json::to_string(&Query::new(e)).unwrap_err();
            assert_eq!(err.to_string(), "query nests deeper than 128 levels");
        }
        // At the limit it round-trips.
        let e = nots(MAX_DEPTH - 1);
        let json = serde_json::to_string(&e).unwrap();
        let mut de = serde_json::Deserializer::from_str(&json);
        de.disable_recursion_limit();
        let back: Expr = serde::Deserialize::deserialize(&mut de).unwrap();
        assert!(back == e);
    });
}

/// `{"not":` `levels` times around `"all"`.
fn nested_json(levels: usize) -> String {
    "{\"not\":".repeat(levels) + "\"all\"" + &"}".repeat(levels)
}

#[test]
fn json_nesting_is_limited_by_serde_json_and_by_the_query() {
    on_stack_for_the_limit(|| {
        // serde_json reads at most 127 nested objects or arrays: 127 NOTs around "all" are
        // 127 objects and parse (128 levels); the 128th object is refused.
        let q: Query = serde_json::from_str(&nested_json(MAX_DEPTH - 1)).unwrap();
        assert_eq!(q.expr().depth(), MAX_DEPTH);
        let err = serde_json::from_str::<Query>(&nested_json(MAX_DEPTH)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("recursion limit exceeded at line 1 column {}", 7 * 127 + 1)
        );
        let err = serde_json::from_str::<Query>(&nested_json(DEEP)).unwrap_err();
        assert!(
            err.to_string().starts_with("recursion limit exceeded"),
            "{err}"
        );

        // A format without a limit of its own (serde_json with the limit off) meets the
        // query's: the derived code never recurses past 128 levels.
        for levels in [MAX_DEPTH, DEEP] {
            let json = nested_json(levels);
            let mut de = serde_json::Deserializer::from_str(&json);
            de.disable_recursion_limit();
            let err = <Query as serde::Deserialize>::deserialize(&mut de).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("query nests deeper than 128 levels"),
                "{err}"
            );
        }
        let json = "{\"and\":[".repeat(DEEP) + "\"all\"" + &"]}".repeat(DEEP);
        let mut de = serde_json::Deserializer::from_str(&json);
        de.disable_recursion_limit();
        let err = <Expr as serde::Deserialize>::deserialize(&mut de).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("query nests deeper than 128 levels"),
            "{err}"
        );
        // The depth count is back to zero after an error: a shallow query still reads.
        let ok: Expr = serde_json::from_str(&nested_json(3)).unwrap();
        assert_eq!(ok.depth(), 4);
    });
}

// ----------------------------------------------------------------------------------------
// The hand-written traits against derived ones
// ----------------------------------------------------------------------------------------

/// `Expr` as it was declared with `#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize,
/// Deserialize)]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Derived {
    All,
    Tag(TagRef),
    And(Vec<Derived>),
    Or(Vec<Derived>),
    Not(Box<Derived>),
    Cmp {
        attr: String,
        op: CmpOp,
        value: Literal,
    },
    Between {
        attr: String,
        lo: Literal,
        hi: Literal,
    },
    IsNull {
        attr: String,
    },
    IsNotNull {
        attr: String,
    },
    Within {
        attr: String,
        days: Period,
    },
    Before {
        attr: String,
        days: Period,
    },
    AssignedBefore {
        tag: TagRef,
        days: Period,
    },
    AssignedWithin {
        tag: TagRef,
        days: Period,
    },
    Set(String),
}

fn derived(e: &Expr) -> Derived {
    match e {
        Expr::All => Derived::All,
        Expr::Tag(t) => Derived::Tag(t.clone()),
        Expr::And(v) => Derived::And(v.iter().map(derived).collect()),
        Expr::Or(v) => Derived::Or(v.iter().map(derived).collect()),
        Expr::Not(e) => Derived::Not(Box::new(derived(e))),
        Expr::Cmp { attr, op, value } => Derived::Cmp {
            attr: attr.clone(),
            op: *op,
            value: value.clone(),
        },
        Expr::Between { attr, lo, hi } => Derived::Between {
            attr: attr.clone(),
            lo: lo.clone(),
            hi: hi.clone(),
        },
        Expr::IsNull { attr } => Derived::IsNull { attr: attr.clone() },
        Expr::IsNotNull { attr } => Derived::IsNotNull { attr: attr.clone() },
        Expr::Within { attr, days } => Derived::Within {
            attr: attr.clone(),
            days: *days,
        },
        Expr::Before { attr, days } => Derived::Before {
            attr: attr.clone(),
            days: *days,
        },
        Expr::AssignedBefore { tag, days } => Derived::AssignedBefore {
            tag: tag.clone(),
            days: *days,
        },
        Expr::AssignedWithin { tag, days } => Derived::AssignedWithin {
            tag: tag.clone(),
            days: *days,
        },
        Expr::Set(s) => Derived::Set(s.clone()),
    }
}

fn samples() -> Vec<Expr> {
    let day = Day::from_ymd(2024, 6, 18).unwrap();
    let terms = vec![
        Expr::All,
        tag("vip"),
        tag_in("power", "高消費力"),
        attr("n").eq(3),
        attr("n").ne(-4),
        attr("n").lt(i64::MIN),
        attr("seen").le(day),
        attr("n").gt(7),
        attr("seg").ge("At risk"),
        attr("m").between(10, 20),
        attr("seen").between(day, day),
        attr("x").is_null(),
        attr("x").is_not_null(),
        attr("seen").within_days(30),
        attr("seen").before_days(180),
        Expr::assigned_before(audience::query::tag_ref("vip"), 60),
        Expr::assigned_within(audience::query::tag_ref("vip"), 7),
        audience::query::set("capped"),
        Expr::And(vec![]),
        Expr::Or(vec![]),
        Expr::And(vec![tag("one")]),
    ];
    let mut out = terms.clone();
    out.push(Expr::And(terms.clone()));
    out.push(Expr::Or(terms.iter().rev().cloned().collect()));
    for t in &terms {
        out.push(t.clone().not());
        out.push(t.clone().and(tag("b").or(t.clone().not())));
    }
    out.push(nots(5).or(and_or(9)).and(wrappers(3)));
    out
}

#[test]
fn hand_written_traits_match_the_derived_ones() {
    for e in samples() {
        let d = derived(&e);
        assert_eq!(format!("{e:?}"), format!("{d:?}"));
        assert_eq!(format!("{e:#?}"), format!("{d:#?}"));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, serde_json::to_string(&d).unwrap());
        let back: Expr = serde_json::from_str(&json).unwrap();
        assert!(back == e, "{json}");
        let clone = e.clone();
        assert_eq!(derived(&clone), d);
        assert!(clone == e);
        assert_eq!(hash_of(&clone), hash_of(&e));
    }
    let all = samples();
    for (i, a) in all.iter().enumerate() {
        for (j, b) in all.iter().enumerate() {
            assert_eq!(a == b, derived(a) == derived(b), "{a} vs {b}");
            if i != j && derived(a) != derived(b) {
                assert!(a != b);
            }
        }
    }
}

/// The limits bound the recursion that remains (the parser, binding, evaluation, serde and
/// `Debug` of queries up to 128 levels): the deepest query they accept needs under 256 KiB
/// of stack in optimised builds (about 170 KiB, to parse 128 parentheses), and under 1 MiB
/// unoptimised (about 700 KiB).
#[test]
fn the_deepest_accepted_queries_fit_a_small_stack() {
    on_stack_for_the_limit(|| {
        let today = Day::from_ymd(2025, 1, 6).unwrap();
        let mut store = Store::new();
        for name in ["a", "b"] {
            store
                .create_tag(&Edit::new("admin", today), TagSpec::new(name))
                .unwrap();
        }
        store
            .add_customer(CustomerKey::member("m1").unwrap())
            .unwrap();
        // Parentheses and NOTs at their limit, and an AST at its limit.
        let parens = "(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
        let nots = "NOT ".repeat(MAX_DEPTH - 1) + "a";
        let mut mixed = String::from("a");
        for _ in 0..(MAX_DEPTH - 1) / 2 {
            mixed = format!("b OR (a AND {mixed})");
        }
        for text in [parens, nots, mixed] {
            let q = Query::parse(&text).unwrap();
            assert!(q.expr().depth() <= MAX_DEPTH);
            let count = store.count(&q, today).unwrap();
            let again = Query::parse(&q.to_string()).unwrap();
            assert_eq!(store.count(&again, today).unwrap(), count);
            let json = serde_json::to_string(&q).unwrap();
            let mut de = serde_json::Deserializer::from_str(&json);
            de.disable_recursion_limit();
            let back: Query = serde::Deserialize::deserialize(&mut de).unwrap();
            assert_eq!(back, q);
            let _ = format!("{q:?}");
        }
    });
}
