//! Query errors as a user sees them: the caret under the problem at any length, positions
//! in characters (line and column when the query has several lines), never bytes.

use audience::{Day, Edit, ErrorKind, Query, Store, TagSpec};

/// A store with the tags of a Hong Kong cosmetics shop (names in Chinese) and `vip`.
fn shop() -> Store {
    let e = Edit::new("admin", Day::from_ymd(2025, 1, 1).unwrap());
    let mut s = Store::new();
    for name in [
        "化妝品愛好者",
        "護膚品",
        "香水",
        "彩妝",
        "會員",
        "沉睡客戶",
        "新客戶",
        "高消費",
        "回購客戶",
        "投訴客戶",
        "退貨客戶",
        "黑名單",
        "香港",
        "九龍",
        "新界",
        "內部員工",
        "vip",
    ] {
        s.create_tag(&e, TagSpec::new(name)).unwrap();
    }
    s
}

fn count_error(s: &Store, text: &str) -> String {
    s.count(&Query::parse(text).unwrap(), Day::EPOCH)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_long_chinese_query_keeps_its_caret() {
    let s = shop();
    let text = "(化妝品愛好者 OR 護膚品 OR 香水 OR 彩妝) AND 會員 AND NOT 沉睡客戶 AND \
                (新客戶 OR 高消費 OR 回購客戶) AND NOT (投訴客戶 OR 退貨客戶 OR 黑名單) AND \
                (香港 OR 九龍 OR 新界) AND vipp AND NOT 內部員工";
    assert_eq!(text.chars().count(), 145);
    // 145 characters, 245 bytes, about 250 columns: a window of it, the caret under `vipp`
    // (each Chinese character takes two columns).
    assert_eq!(
        count_error(&s, text),
        format!(
            "unknown tag \"vipp\" (did you mean \"vip\"?) at column 129\n  \
             ...客戶) AND NOT (投訴客戶 OR 退貨客戶 OR 黑名單) AND (香港 OR 九龍 OR 新界) AND \
             vipp AND NOT 內部員工\n  {}^^^^",
            " ".repeat(81)
        )
    );
    // The same problem in a short query: the whole line, no column needed.
    assert_eq!(
        count_error(&s, "香港 AND vipp"),
        "unknown tag \"vipp\" (did you mean \"vip\"?)\n  香港 AND vipp\n           ^^^^"
    );
}

#[test]
fn queries_of_several_lines_name_line_and_column() {
    let s = shop();
    let text = "會員 AND\n\t(香港 OR 九龍)\r\n  AND vipp";
    // Line 3, column 7 in characters (the tab and the CRLF count as one character each).
    assert_eq!(
        count_error(&s, text),
        "unknown tag \"vipp\" (did you mean \"vip\"?) at line 3, column 7\n    AND vipp\n        ^^^^"
    );
    // A problem on a line with a tab: the tab is shown as a space, so the caret lines up.
    assert_eq!(
        count_error(&s, "會員 AND\n\t(香港 OR vipp)"),
        "unknown tag \"vipp\" (did you mean \"vip\"?) at line 2, column 9\n   (香港 OR vipp)\n            ^^^^"
    );
}

#[test]
fn deep_queries_keep_their_caret() {
    let text = "(".repeat(200) + "vip" + &")".repeat(200);
    let err = Query::parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "query nests deeper than 128 levels at column 129\n  ...{}{}...\n  {}^",
            "(".repeat(33),
            "(".repeat(67),
            " ".repeat(36)
        )
    );
    let ErrorKind::Query(q) = err.kind() else {
        panic!("{err}")
    };
    assert_eq!(q.line_column(), Some((1, 129)));
    assert_eq!(q.location().as_deref(), Some("at column 129"));
}

/// A store with a tag named like a keyword, a name with spaces, and attributes.
fn hints_store() -> Store {
    let e = Edit::new("admin", Day::from_ymd(2025, 1, 1).unwrap());
    let mut s = Store::new();
    for name in ["Or", "low frequency", "vip"] {
        s.create_tag(&e, TagSpec::new(name)).unwrap();
    }
    s.define_attribute("purchase_count", audience::AttrKind::Int)
        .unwrap();
    s.define_attribute("last_purchase", audience::AttrKind::Day)
        .unwrap();
    s.define_attribute("spend", audience::AttrKind::Decimal { scale: 2 })
        .unwrap();
    s
}

fn parse_error(text: &str) -> String {
    Query::parse(text).unwrap_err().to_string()
}

#[test]
fn hints_say_how_to_write_it() {
    let s = hints_store();
    // A tag named like a keyword: quote it.
    assert_eq!(
        parse_error("vip AND Or"),
        "expected a tag, an attribute or \"(\", found the keyword OR (a tag of that name must \
         be quoted: \"Or\")\n  vip AND Or\n          ^^"
    );
    assert_eq!(
        s.count(&Query::parse("vip AND \"Or\"").unwrap(), Day::EPOCH)
            .unwrap(),
        0
    );
    // Names with commas or spaces: quote them, the whole name.
    assert_eq!(
        parse_error("vip OR growth, low frequency"),
        "expected AND, OR or the end of the query, found \",\" (a name with a comma must be \
         quoted: \"growth, low frequency\")\n  vip OR growth, low frequency\n               ^"
    );
    assert_eq!(
        parse_error("low frequency AND vip"),
        "expected AND, OR or the end of the query, found \"frequency\" (a name with spaces \
         must be quoted: \"low frequency\")\n  low frequency AND vip\n      ^^^^^^^^^"
    );
    // Whole-number attributes refuse decimals and name the attributes that take them.
    assert_eq!(
        s.count(&Query::parse("purchase_count > 3.5").unwrap(), Day::EPOCH)
            .unwrap_err()
            .to_string(),
        "purchase_count holds whole numbers, not decimals like 3.5 (attributes with \
         decimals: spend)\n  purchase_count > 3.5\n  ^^^^^^^^^^^^^^^^^^^^"
    );
    assert_eq!(
        parse_error("purchase_count > 99999999999999999999"),
        "bad number \"99999999999999999999\": past the largest number an attribute \
         holds\n  purchase_count > 99999999999999999999\n                   ^^^^^^^^^^^^^^^^^^^^"
    );
    assert_eq!(
        parse_error("purchase_count > 1,5"),
        "expected AND, OR or the end of the query, found \",\" (write numbers without thousands \
         separators, with a point for decimals: 1234.50)\n  purchase_count > 1,5\n                    ^"
    );
    assert_eq!(
        s.count(
            &Query::parse("purchase_count BETWEEN 1 AND 1").unwrap(),
            Day::EPOCH
        )
        .unwrap(),
        0
    );
    // Reversed bounds match no one: refused, the caret under the bounds.
    assert_eq!(
        parse_error("purchase_count BETWEEN 5 AND 1"),
        "BETWEEN 5 AND 1 matches nothing: the lower bound comes first (write BETWEEN 1 AND \
         5)\n  purchase_count BETWEEN 5 AND 1\n                         ^^^^^^^"
    );
    // Built in code, the same refusal when it is counted.
    let built = Query::new(audience::query::attr("purchase_count").between(5, 1));
    assert_eq!(
        s.count(&built, Day::EPOCH).unwrap_err().to_string(),
        "BETWEEN 5 AND 1 matches nothing: the lower bound comes first (write BETWEEN 1 AND 5)"
    );
}

#[test]
fn a_qualified_miss_suggests_the_qualified_name() {
    let e = Edit::new("admin", Day::from_ymd(2025, 1, 1).unwrap());
    let mut s = Store::new();
    for name in ["S", "A", "B"] {
        s.create_tag(&e, TagSpec::new(name).dimension("tier"))
            .unwrap();
    }
    s.create_tag(&e, TagSpec::new("high spender").dimension("power level"))
        .unwrap();
    assert_eq!(
        count_error(&s, "tier:Z"),
        "unknown tag \"tier:Z\" (did you mean \"tier:S\"?)\n  tier:Z\n  ^^^^^^"
    );
    assert_eq!(
        count_error(&s, "\"power level\":\"high spendr\""),
        "unknown tag \"power level:high spendr\" (did you mean \"power level:high \
         spender\"?)\n  \"power level\":\"high spendr\"\n  ^^^^^^^^^^^^^^^^^^^^^^^^^^^"
    );
    // The suggestion works as typed.
    assert_eq!(
        s.count(&Query::parse("\"tier:S\"").unwrap(), Day::EPOCH)
            .unwrap(),
        0
    );
    assert_eq!(
        s.count(
            &Query::parse("\"power level:high spender\"").unwrap(),
            Day::EPOCH
        )
        .unwrap(),
        0
    );
}
