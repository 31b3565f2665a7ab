//! Text -> [`Expr`]: a lexer and a recursive-descent parser with byte spans.
//!
//! ```text
//! query    := or EOF
//! or       := and ( OR and )*
//! and      := unary ( ( AND | EXCLUDE ) unary )*       a EXCLUDE b  ==  a AND NOT b
//! unary    := NOT unary | primary
//! primary  := '(' or ')'
//!           | IN '[' tagref ( ',' tagref )* ','? ']'    IN [a, b]  ==  a OR b
//!           | ALL
//!           | '@' name                                 a set supplied at evaluation
//!           | tagref [ ASSIGNED ( BEFORE | WITHIN ) duration ]
//!           | name cmp literal
//!           | name BETWEEN literal AND literal
//!           | name IS [ NOT ] NULL
//!           | name ( WITHIN | BEFORE ) duration
//! tagref   := name [ ':' name ]                         dimension:name
//! name     := bare | "quoted \" text"
//! bare     := ( letter | digit | mark | '_' | '-' | '/' | '.' | other non-ASCII )+
//! cmp      := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>='
//! literal  := integer | YYYY-MM-DD | "quoted"
//! duration := <N>d | <N>w | <N>mo | <N>y          days, weeks, calendar months, years
//! ```
//!
//! Keywords are case-insensitive. Parentheses and `NOT` nest at most [`MAX_DEPTH`] levels,
//! and so does the expression parsed ([`Expr::depth`]: `AND` and `OR` count too); a query
//! is at most [`MAX_QUERY_BYTES`] long.

// Query text is untrusted: no operation on it may panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::arithmetic_side_effects
)]

use crate::day::{Day, Period};
use crate::decimal::Decimal;
use crate::error::{QueryError, QueryProblem, Span, quote};

use super::ast::{CmpOp, Expr, Literal, TagRef, is_keyword, is_name_char};

/// The longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// The deepest nesting accepted: of parentheses and `NOT` in query text, and of levels of an
/// expression ([`Expr::depth`]) parsed, bound, serialized or deserialized.
pub const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    Op(CmpOp),
    Word(String),
    Quoted(String),
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

fn lex(src: &str) -> Result<Vec<Token>, (QueryProblem, Span)> {
    let mut out = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = |tok: Tok| Token {
            tok,
            span: Span {
                start,
                end: start.saturating_add(c.len_utf8()),
            },
        };
        match c {
            '(' => {
                chars.next();
                out.push(single(Tok::LParen));
            }
            ')' => {
                chars.next();
                out.push(single(Tok::RParen));
            }
            '[' => {
                chars.next();
                out.push(single(Tok::LBracket));
            }
            ']' => {
                chars.next();
                out.push(single(Tok::RBracket));
            }
            ',' => {
                chars.next();
                out.push(single(Tok::Comma));
            }
            ':' => {
                chars.next();
                out.push(single(Tok::Colon));
            }
            '@' => {
                chars.next();
                out.push(single(Tok::At));
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let next = chars.peek().map(|&(_, n)| n);
                let (op, two) = match (c, next) {
                    ('=', Some('=')) => (CmpOp::Eq, true),
                    ('=', _) => (CmpOp::Eq, false),
                    ('!', Some('=')) => (CmpOp::Ne, true),
                    ('!', _) => {
                        return Err((
                            QueryProblem::BadChar('!'),
                            Span {
                                start,
                                end: start.saturating_add(1),
                            },
                        ));
                    }
                    ('<', Some('=')) => (CmpOp::Le, true),
                    ('<', Some('>')) => (CmpOp::Ne, true),
                    ('<', _) => (CmpOp::Lt, false),
                    ('>', Some('=')) => (CmpOp::Ge, true),
                    _ => (CmpOp::Gt, false),
                };
                if two {
                    chars.next();
                }
                out.push(Token {
                    tok: Tok::Op(op),
                    span: Span {
                        start,
                        end: start.saturating_add(if two { 2 } else { 1 }),
                    },
                });
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                let mut closed = None;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '"' => {
                            closed = Some(i.saturating_add(1));
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('"' | '\\'))) => text.push(e),
                            Some((_, other)) => {
                                text.push('\\');
                                text.push(other);
                            }
                            None => break,
                        },
                        ch => text.push(ch),
                    }
                }
                let Some(end) = closed else {
                    return Err((
                        QueryProblem::UnclosedQuote,
                        Span {
                            start,
                            end: src.len(),
                        },
                    ));
                };
                out.push(Token {
                    tok: Tok::Quoted(text),
                    span: Span { start, end },
                });
            }
            c if is_name_char(c) => {
                let mut end = start;
                while let Some(&(i, ch)) = chars.peek() {
                    if !is_name_char(ch) {
                        break;
                    }
                    end = i.saturating_add(ch.len_utf8());
                    chars.next();
                }
                out.push(Token {
                    tok: Tok::Word(src.get(start..end).unwrap_or_default().to_string()),
                    span: Span { start, end },
                });
            }
            other => {
                return Err((
                    QueryProblem::BadChar(other),
                    Span {
                        start,
                        end: start.saturating_add(other.len_utf8()),
                    },
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span {
            start: src.len(),
            end: src.len(),
        },
    });
    Ok(out)
}

/// Parses query text. Returns the expression and the span of every leaf, in the order the
/// leaves appear (the tree's pre-order).
pub(crate) fn parse(src: &str) -> Result<(Expr, Vec<Span>), QueryError> {
    let fail = |problem, span| QueryError {
        problem,
        span: Some(span),
        query: Some(src.to_string()),
    };
    if src.len() > MAX_QUERY_BYTES {
        return Err(QueryError {
            problem: QueryProblem::TooLong {
                len: src.len(),
                limit: MAX_QUERY_BYTES,
            },
            span: None,
            query: None,
        });
    }
    let tokens = lex(src).map_err(|(p, s)| fail(p, s))?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        spans: Vec::new(),
    };
    if p.peek() == &Tok::Eof {
        return Err(fail(QueryProblem::Empty, p.span()));
    }
    let expr = p.or().map_err(|(pr, s)| fail(pr, s))?;
    if p.peek() != &Tok::Eof {
        let problem = if p.peek() == &Tok::RParen {
            QueryProblem::Unexpected {
                expected: "AND, OR or the end of the query",
                found: "\")\" without a matching \"(\"".into(),
            }
        } else {
            QueryProblem::Unexpected {
                expected: "AND, OR or the end of the query",
                found: p.describe() + &p.quote_hint(src),
            }
        };
        return Err(fail(problem, p.span()));
    }
    // Parentheses and NOT nest at most MAX_DEPTH levels, but AND and OR inside parentheses
    // add levels to the AST: refuse here what binding would refuse.
    if let Some(term) = expr.first_term_below(MAX_DEPTH) {
        let span = p.spans.get(term).copied().unwrap_or(Span {
            start: 0,
            end: src.len(),
        });
        return Err(fail(QueryProblem::TooDeep { limit: MAX_DEPTH }, span));
    }
    Ok((expr, p.spans))
}

type PResult<T> = Result<T, (QueryProblem, Span)>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    spans: Vec<Span>,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn span(&self) -> Span {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(Span { start: 0, end: 0 }, |t| t.span)
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens.get(self.pos).cloned().unwrap_or(Token {
            tok: Tok::Eof,
            span: self.span(),
        });
        if self.pos < self.tokens.len() {
            self.pos = self.pos.saturating_add(1);
        }
        t
    }

    fn describe(&self) -> String {
        match self.peek() {
            Tok::Eof => "end of query".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Colon => "\":\"".into(),
            Tok::At => "\"@\"".into(),
            Tok::Op(op) => quote(op.as_str()),
            Tok::Word(w) => quote(w),
            Tok::Quoted(q) => format!("quoted text {}", quote(q)),
        }
    }

    /// After a bare name, a comma or another bare word is most often a name with a comma
    /// or spaces that was not quoted: " (a name with a comma must be quoted: "a, b")" with
    /// the text from that name to the last of the words and commas that follow it.
    fn quote_hint(&self, src: &str) -> String {
        let word = |t: &Token| matches!(&t.tok, Tok::Word(w) if !is_keyword(w));
        let here = self.tokens.get(self.pos);
        let prev = self.pos.checked_sub(1).and_then(|i| self.tokens.get(i));
        let (Some(here), Some(prev)) = (here, prev) else {
            return String::new();
        };
        let number = |t: &Token| {
            matches!(&t.tok, Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_digit())
                && w.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        };
        if number(prev) && here.tok == Tok::Comma {
            return " (write numbers without thousands separators, with a point for decimals: \
                    1234.50)"
                .into();
        }
        if !word(prev) || !(word(here) || here.tok == Tok::Comma) {
            return String::new();
        }
        let mut end = here.span.end;
        for t in self.tokens.iter().skip(self.pos.saturating_add(1)) {
            if !(word(t) || t.tok == Tok::Comma) {
                break;
            }
            end = t.span.end;
        }
        let Some(text) = src.get(prev.span.start..end) else {
            return String::new();
        };
        let what = if text.contains(',') {
            "a comma"
        } else {
            "spaces"
        };
        format!(" (a name with {what} must be quoted: {})", quote(text))
    }

    fn unexpected<T>(&self, expected: &'static str) -> PResult<T> {
        Err((
            QueryProblem::Unexpected {
                expected,
                found: self.describe(),
            },
            self.span(),
        ))
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos = self.pos.saturating_add(1);
            true
        } else {
            false
        }
    }

    /// One level deeper, for the `NOT` or `(` at `at`: that token is the one blamed when
    /// the nesting is too deep.
    fn enter(&mut self, at: Span) -> PResult<()> {
        self.depth = self.depth.saturating_add(1);
        if self.depth > MAX_DEPTH {
            return Err((QueryProblem::TooDeep { limit: MAX_DEPTH }, at));
        }
        Ok(())
    }

    fn or(&mut self) -> PResult<Expr> {
        let first = self.and()?;
        if !self.is_kw("OR") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_kw("OR") {
            items.push(self.and()?);
        }
        Ok(Expr::Or(items))
    }

    fn and(&mut self) -> PResult<Expr> {
        let first = self.unary()?;
        if !self.is_kw("AND") && !self.is_kw("EXCLUDE") {
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            if self.eat_kw("AND") {
                items.push(self.unary()?);
            } else if self.eat_kw("EXCLUDE") {
                items.push(Expr::Not(Box::new(self.unary()?)));
            } else {
                break;
            }
        }
        Ok(Expr::And(items))
    }

    fn unary(&mut self) -> PResult<Expr> {
        let at = self.span();
        if self.eat_kw("NOT") {
            self.enter(at)?;
            let inner = self.unary()?;
            self.depth = self.depth.saturating_sub(1);
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        match self.peek().clone() {
            Tok::LParen => {
                let open = self.bump().span;
                self.enter(open)?;
                let inner = self.or()?;
                self.depth = self.depth.saturating_sub(1);
                match self.peek() {
                    Tok::RParen => {
                        self.bump();
                        Ok(inner)
                    }
                    Tok::Eof => Err((QueryProblem::UnclosedParen, open)),
                    _ => self.unexpected("\")\""),
                }
            }
            Tok::At => {
                let at = self.bump().span;
                let (name, span) = self.name("a set name after \"@\"")?;
                self.spans.push(Span {
                    start: at.start,
                    end: span.end,
                });
                Ok(Expr::Set(name))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("ALL") => {
                let s = self.bump().span;
                self.spans.push(s);
                Ok(Expr::All)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("IN") => self.in_list(),
            Tok::Word(w) if is_keyword(&w) => Err((
                QueryProblem::Unexpected {
                    expected: "a tag, an attribute or \"(\"",
                    found: format!(
                        "the keyword {} (a tag of that name must be quoted: {})",
                        w.to_ascii_uppercase(),
                        quote(&w)
                    ),
                },
                self.span(),
            )),
            Tok::Word(_) | Tok::Quoted(_) => self.term(),
            _ => self.unexpected("a tag, an attribute or \"(\""),
        }
    }

    fn in_list(&mut self) -> PResult<Expr> {
        self.bump();
        let open = self.span();
        if self.peek() != &Tok::LBracket {
            return self.unexpected("\"[\" after IN");
        }
        self.bump();
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Tok::RBracket if !items.is_empty() => {
                    self.bump();
                    break;
                }
                Tok::Eof => return Err((QueryProblem::UnclosedBracket, open)),
                _ => {}
            }
            let (tag, span) = self.tag_ref()?;
            self.spans.push(span);
            items.push(Expr::Tag(tag));
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => {}
                Tok::Eof => return Err((QueryProblem::UnclosedBracket, open)),
                _ => return self.unexpected("\",\" or \"]\""),
            }
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::All)
        } else {
            Expr::Or(items)
        })
    }

    fn name(&mut self, expected: &'static str) -> PResult<(String, Span)> {
        match self.peek().clone() {
            Tok::Word(w) if !is_keyword(&w) => Ok((w, self.bump().span)),
            Tok::Quoted(q) => Ok((q, self.bump().span)),
            _ => self.unexpected(expected),
        }
    }

    fn tag_ref(&mut self) -> PResult<(TagRef, Span)> {
        let (first, span) = self.name("a tag name")?;
        if self.peek() == &Tok::Colon {
            self.bump();
            let (name, s2) = self.name("a tag name after \":\"")?;
            return Ok((
                TagRef {
                    dimension: Some(first),
                    name,
                },
                Span {
                    start: span.start,
                    end: s2.end,
                },
            ));
        }
        Ok((
            TagRef {
                dimension: None,
                name: first,
            },
            span,
        ))
    }

    fn term(&mut self) -> PResult<Expr> {
        let (tag, span) = self.tag_ref()?;
        let attr_pred = matches!(self.peek(), Tok::Op(_))
            || ["BETWEEN", "IS", "WITHIN", "BEFORE"]
                .iter()
                .any(|k| self.is_kw(k));
        if attr_pred {
            if tag.dimension.is_some() {
                return Err((
                    QueryProblem::Unexpected {
                        expected: "an attribute name without \":\"",
                        found: quote(&tag.to_string()),
                    },
                    span,
                ));
            }
            let attr = tag.name;
            let (expr, end) = self.attr_predicate(attr)?;
            self.spans.push(Span {
                start: span.start,
                end,
            });
            return Ok(expr);
        }
        if self.eat_kw("ASSIGNED") {
            let before = if self.eat_kw("BEFORE") {
                true
            } else if self.eat_kw("WITHIN") {
                false
            } else {
                return self.unexpected("BEFORE or WITHIN after ASSIGNED");
            };
            let (days, end) = self.duration()?;
            self.spans.push(Span {
                start: span.start,
                end,
            });
            return Ok(if before {
                Expr::AssignedBefore { tag, days }
            } else {
                Expr::AssignedWithin { tag, days }
            });
        }
        self.spans.push(span);
        Ok(Expr::Tag(tag))
    }

    fn attr_predicate(&mut self, attr: String) -> PResult<(Expr, usize)> {
        if let Tok::Op(op) = *self.peek() {
            self.bump();
            let (value, s) = self.literal()?;
            return Ok((Expr::Cmp { attr, op, value }, s.end));
        }
        if self.eat_kw("BETWEEN") {
            let (lo, from) = self.literal()?;
            if !self.eat_kw("AND") {
                return self.unexpected("AND in BETWEEN ... AND ...");
            }
            let (hi, s) = self.literal()?;
            if reversed(&lo, &hi) {
                return Err((
                    QueryProblem::ReversedBounds {
                        lo: lo.to_string(),
                        hi: hi.to_string(),
                    },
                    Span {
                        start: from.start,
                        end: s.end,
                    },
                ));
            }
            return Ok((Expr::Between { attr, lo, hi }, s.end));
        }
        if self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            let s = self.span();
            if !self.eat_kw("NULL") {
                return self.unexpected("NULL after IS");
            }
            let e = if not {
                Expr::IsNotNull { attr }
            } else {
                Expr::IsNull { attr }
            };
            return Ok((e, s.end));
        }
        let within = self.eat_kw("WITHIN");
        if !within && !self.eat_kw("BEFORE") {
            return self.unexpected("a comparison");
        }
        let (days, end) = self.duration()?;
        Ok((
            if within {
                Expr::Within { attr, days }
            } else {
                Expr::Before { attr, days }
            },
            end,
        ))
    }

    fn literal(&mut self) -> PResult<(Literal, Span)> {
        match self.peek().clone() {
            Tok::Quoted(q) => Ok((Literal::Text(q), self.bump().span)),
            Tok::Word(w) => {
                let span = self.bump().span;
                let b = w.as_bytes();
                if b.len() == 10
                    && b.get(4) == Some(&b'-')
                    && b.get(7) == Some(&b'-')
                    && b.first().is_some_and(u8::is_ascii_digit)
                {
                    return w
                        .parse::<Day>()
                        .map(|d| (Literal::Day(d), span))
                        .map_err(|_| (QueryProblem::BadDay(w.clone()), span));
                }
                if w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
                    if let Ok(v) = w.parse::<i64>() {
                        return Ok((Literal::Int(v), span));
                    }
                    // `35.50`: the attribute decides whether it takes decimals and how many.
                    if w.contains('.')
                        && let Ok(d) = w.parse::<Decimal>()
                    {
                        return Ok((Literal::Decimal(d), span));
                    }
                    return Err((QueryProblem::BadNumber(w.clone()), span));
                }
                Err((
                    QueryProblem::Unexpected {
                        expected: "a number, a day (YYYY-MM-DD) or quoted text",
                        found: quote(&w),
                    },
                    span,
                ))
            }
            _ => self.unexpected("a number, a day (YYYY-MM-DD) or quoted text"),
        }
    }

    fn duration(&mut self) -> PResult<(Period, usize)> {
        let Tok::Word(w) = self.peek().clone() else {
            return self.unexpected("a duration like 30d, 2w, 3mo or 1y");
        };
        let span = self.bump().span;
        let period = Period::parse_text(&w).ok_or((QueryProblem::BadDuration(w), span))?;
        Ok((period, span.end))
    }
}

/// A whole number as a decimal of no places, to compare with decimals.
fn decimal(v: i64) -> Decimal {
    Decimal::from_parts(v, 0)
}

/// Whether `BETWEEN lo AND hi` has its bounds the wrong way round (two numbers or two days,
/// the first above the second).
pub(crate) fn reversed(lo: &Literal, hi: &Literal) -> bool {
    match (lo, hi) {
        (Literal::Int(a), Literal::Int(b)) => a > b,
        (Literal::Day(a), Literal::Day(b)) => a > b,
        (Literal::Decimal(a), Literal::Decimal(b)) => a > b,
        (Literal::Int(a), Literal::Decimal(b)) => decimal(*a) > *b,
        (Literal::Decimal(a), Literal::Int(b)) => *a > decimal(*b),
        _ => false,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::query::ast::{attr, set, tag, tag_in};

    fn p(s: &str) -> Expr {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).0
    }

    fn perr(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn precedence() {
        assert_eq!(
            p("a OR b AND NOT c"),
            Expr::Or(vec![tag("a"), Expr::And(vec![tag("b"), tag("c").not()])])
        );
        assert_eq!(
            p("a and b exclude c"),
            Expr::And(vec![tag("a"), tag("b"), tag("c").not()])
        );
        assert_eq!(
            p("(a OR b) AND c"),
            Expr::And(vec![tag("a").or(tag("b")), tag("c")])
        );
        assert_eq!(p("NOT NOT a"), tag("a").not().not());
    }

    #[test]
    fn names_in_any_script() {
        assert_eq!(p("高消費力"), tag("高消費力"));
        assert_eq!(
            p("ลูกค้าใหม่ AND عميل_جديد"),
            tag("ลูกค้าใหม่").and(tag("عميل_جديد"))
        );
        assert_eq!(p("\"VIP клиент\""), tag("VIP клиент"));
        assert_eq!(p("\"purchased 2024-06-18\""), tag("purchased 2024-06-18"));
        assert_eq!(p("power:\"high spender\""), tag_in("power", "high spender"));
        assert_eq!(p("interest/cosmetics"), tag("interest/cosmetics"));
        assert_eq!(p("IN [a, b, c]"), tag("a").or(tag("b")).or(tag("c")));
        assert_eq!(p("IN [a]"), tag("a"));
        assert_eq!(p("@capped"), set("capped"));
    }

    #[test]
    fn attribute_predicates() {
        assert_eq!(p("purchase_count > 3"), attr("purchase_count").gt(3));
        assert_eq!(p("x == -4"), attr("x").eq(-4));
        assert_eq!(p("x <> 4"), attr("x").ne(4));
        assert_eq!(
            p("last_interaction >= 2024-12-02"),
            attr("last_interaction").ge(Day::from_ymd(2024, 12, 2).unwrap())
        );
        assert_eq!(
            p("m BETWEEN 10000 AND 49999"),
            attr("m").between(10000, 49999)
        );
        assert_eq!(
            p("m BETWEEN 1 AND 2 AND vip"),
            attr("m").between(1, 2).and(tag("vip"))
        );
        assert_eq!(p("last_purchase IS NULL"), attr("last_purchase").is_null());
        assert_eq!(
            p("last_purchase is not null"),
            attr("last_purchase").is_not_null()
        );
        assert_eq!(p("seen WITHIN 30d"), attr("seen").within_days(30));
        assert_eq!(p("seen BEFORE 2w"), attr("seen").before(Period::weeks(2)));
        assert_eq!(p("seen WITHIN 3MO"), attr("seen").within(Period::months(3)));
        assert_eq!(p("seen BEFORE 1y"), attr("seen").before(Period::years(1)));
        assert_eq!(
            p("rfm.segment = \"At risk\""),
            attr("rfm.segment").eq("At risk")
        );
        assert_eq!(
            p("vip ASSIGNED BEFORE 60d"),
            Expr::AssignedBefore {
                tag: crate::query::ast::tag_ref("vip"),
                days: Period::days(60)
            }
        );
    }

    #[test]
    fn leaf_spans_in_order() {
        let (_, spans) = parse("a AND (bb OR c > 3) EXCLUDE @s").unwrap();
        let got: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(got, vec![(0, 1), (7, 9), (13, 18), (28, 30)]);
    }

    #[test]
    fn error_messages_with_carets() {
        assert_eq!(perr(""), "empty query\n  \n  ^");
        assert_eq!(
            perr("a AND (b OR c"),
            "unclosed parenthesis\n  a AND (b OR c\n        ^"
        );
        assert_eq!(
            perr("a AND b)"),
            "expected AND, OR or the end of the query, found \")\" without a matching \"(\"\n  a AND b)\n         ^"
        );
        assert_eq!(
            perr("a b"),
            "expected AND, OR or the end of the query, found \"b\" (a name with spaces must be \
             quoted: \"a b\")\n  a b\n    ^"
        );
        assert_eq!(
            perr("a AND"),
            "expected a tag, an attribute or \"(\", found end of query\n  a AND\n       ^"
        );
        assert_eq!(
            perr("x > 12abc"),
            "bad number \"12abc\"\n  x > 12abc\n      ^^^^^"
        );
        assert_eq!(
            perr("x > 2023-02-30"),
            "bad day \"2023-02-30\": expected YYYY-MM-DD\n  x > 2023-02-30\n      ^^^^^^^^^^"
        );
        assert_eq!(
            perr("x WITHIN 30"),
            "bad duration \"30\": expected a whole number and a unit: 30d (days), 2w (weeks), \
             3mo (months) or 1y (years)\n  x WITHIN 30\n           ^^"
        );
        assert_eq!(perr("\"abc"), "unclosed quote\n  \"abc\n  ^^^^");
        assert_eq!(perr("a & b"), "unexpected character '&'\n  a & b\n    ^");
        assert_eq!(perr("IN [a, b"), "unclosed bracket\n  IN [a, b\n     ^");
        assert_eq!(
            perr("高消費力 高"),
            "expected AND, OR or the end of the query, found \"高\" (a name with spaces must be \
             quoted: \"高消費力 高\")\n  高消費力 高\n           ^^"
        );
        assert_eq!(
            perr("purchase_count BETWEEN 5 AND 1"),
            "BETWEEN 5 AND 1 matches nothing: the lower bound comes first (write BETWEEN 1 AND \
             5)\n  purchase_count BETWEEN 5 AND 1\n                         ^^^^^^^"
        );
        assert_eq!(
            perr("seen BETWEEN 2024-06-30 AND 2024-06-01"),
            "BETWEEN 2024-06-30 AND 2024-06-01 matches nothing: the lower bound comes first \
             (write BETWEEN 2024-06-01 AND 2024-06-30)\n  seen BETWEEN 2024-06-30 AND \
             2024-06-01\n               ^^^^^^^^^^^^^^^^^^^^^^^^^"
        );
        assert_eq!(
            perr("x IS 3"),
            "expected NULL after IS, found \"3\"\n  x IS 3\n       ^"
        );
        assert_eq!(
            perr("AND"),
            "expected a tag, an attribute or \"(\", found the keyword AND (a tag of that name \
             must be quoted: \"AND\")\n  AND\n  ^^^"
        );
    }

    #[test]
    fn limits() {
        let deep = "(".repeat(100_000) + "a" + &")".repeat(100_000);
        let e = parse(&deep).unwrap_err();
        assert!(matches!(e.problem, QueryProblem::TooLong { .. }), "{e}");
        let deep = "(".repeat(20_000) + "a" + &")".repeat(20_000);
        let e = parse(&deep).unwrap_err();
        assert_eq!(e.problem, QueryProblem::TooDeep { limit: MAX_DEPTH });
        assert_eq!(
            e.span,
            Some(Span {
                start: 128,
                end: 129
            }),
            "the 129th parenthesis"
        );
        let nots = "NOT ".repeat(10_000) + "a";
        let e = parse(&nots).unwrap_err();
        assert_eq!(e.problem, QueryProblem::TooDeep { limit: MAX_DEPTH });
        assert_eq!(
            e.span,
            Some(Span {
                start: 512,
                end: 515
            }),
            "the 129th NOT"
        );
        let ok = "(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        let long = "a OR ".repeat(20_000) + "a";
        assert_eq!(
            parse(&long).unwrap_err().to_string(),
            format!("query is {} bytes long, the limit is 65536", long.len())
        );
    }
}
