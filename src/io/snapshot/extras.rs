//! The sections of an app's state that lives outside the store: rule sets (kind 6), send
//! logs (kind 7), RFM configurations (kind 8) and tier definitions (kind 9), one section
//! per named entry of an [`Extras`]. Layouts and checks: `SNAPSHOT.md`.
//!
//! Writer and reader share one set of checks per entry (`check_*`): the writer runs them
//! before it writes the first byte, the reader after decoding each entry, so a snapshot
//! that was written can always be read back.

// Parses untrusted bytes: no construct that can panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]

use roaring::RoaringBitmap;

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::RangeInclusive;

use super::{
    Cursor, KIND_END, Raw, Res, Writer, put_bitmap, put_i64, put_len, put_opt_str, put_opt_u32,
    put_str, put_u8, put_u32,
};
use crate::base::fold::MAX_NAME_CHARS;
use crate::base::text::counted;
use crate::campaign::{Bucket, Hour, SendLog, SendLogData};
use crate::error::{Error, ErrorKind, quote};
use crate::query::{Query, TagRef};
use crate::rfm::{
    Binning, FirstMatchMap, Measure, MeasureSpec, RfmConfig, SegmentMap, SegmentRule,
};
use crate::rules::{Rule, RuleSet, TagSelector, TagTarget, TagTemplate};
use crate::store::Store;
use crate::store::taxonomy::MAX_TAGS;
use crate::tiers::{Tier, Tiers};

pub(super) const KIND_RULE_SET: u32 = 6;
pub(super) const KIND_SEND_LOG: u32 = 7;
pub(super) const KIND_RFM: u32 = 8;
pub(super) const KIND_TIERS: u32 = 9;

/// The most items of one list in these sections (groups and rules of a set, tags of a
/// group, tags a rule adds or removes, buckets of a send log): the tag limit, 2^20.
const MAX_ITEMS: usize = MAX_TAGS;

/// An app's state that lives outside the [`Store`](crate::Store), for
/// [`snapshot::write_with`](crate::snapshot::write_with) and
/// [`snapshot::read_with`](crate::snapshot::read_with): rule sets, campaign send
/// logs, RFM configurations and tier definitions, each under the app's own name for it
/// ("weekly", "whatsapp", "bangkok branch"...).
///
/// Plain data: fill the maps, write them with the store, get them back with it. Names and
/// references inside the entries (tags, attributes, dimensions) are not resolved against
/// the store, as in memory: a rule naming a tag deleted since is still saved and loaded,
/// and fails when it runs. RFM scores are not part of it: they are derived data, score
/// again after a load.
///
/// `#[non_exhaustive]`: later versions may add kinds of entries; build one with
/// [`Extras::new`] (or `Default`) and insert into its maps.
///
/// ```
/// use audience::campaign::{Hour, SendLog};
/// use audience::snapshot::Extras;
/// use audience::{CustomerKey, Day, Query, RfmConfig, Rule, RuleSet, Store, Tiers};
///
/// let mut store = Store::new();
/// let c = store.add_customer(CustomerKey::phone("85291234567")?)?;
/// let mut extras = Extras::new();
/// assert!(extras.is_empty());
/// let high_value = Rule::new("high value", Query::parse("purchase_count > 3")?).add("vip");
/// extras.rule_sets.insert("weekly".into(), RuleSet::new().rule(high_value));
/// extras.rfm.insert("all customers".into(), RfmConfig::default());
/// let leads = Tiers::new("lead_score", "tier").tier("S", 80)?.rest("C")?;
/// extras.tiers.insert("leads".into(), leads);
/// let mut log = SendLog::new();
/// let nine = Hour::new(Day::from_ymd(2025, 1, 6)?, 9)?;
/// log.record(&store, nine, "whatsapp", &[c].into_iter().collect())?;
/// extras.send_logs.insert("automations".into(), log);
/// assert!(!extras.is_empty());
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Extras {
    /// Rule sets ([`RuleSet`]) by name.
    pub rule_sets: BTreeMap<String, RuleSet>,
    /// Campaign send records ([`SendLog`], for frequency caps) by name.
    pub send_logs: BTreeMap<String, SendLog>,
    /// RFM configurations ([`RfmConfig`], with their segment maps) by name.
    pub rfm: BTreeMap<String, RfmConfig>,
    /// Tier definitions ([`Tiers`]) by name.
    pub tiers: BTreeMap<String, Tiers>,
}

impl Extras {
    /// No entries.
    pub fn new() -> Extras {
        Extras::default()
    }

    /// Forgets `customers` in every entry that holds customer ids (the send logs), as
    /// "forget me" requires: call it with the ids given to
    /// [`Store::erase_customer`](crate::Store::erase_customer). Snapshots leave erased
    /// customers out of the extras whether or not this was called
    /// ([`write_with`](super::write_with)); this erases them from the app's memory too.
    ///
    /// ```
    /// use audience::campaign::{Hour, SendLog};
    /// use audience::{CustomerKey, Day, Extras, RoaringBitmap, Store};
    ///
    /// let mut store = Store::new();
    /// let c = store.add_customer(CustomerKey::phone("66812345678")?)?;
    /// let mut log = SendLog::new();
    /// log.record(&store, Hour::start_of(Day::from_ymd(2025, 6, 18)?), "line", &RoaringBitmap::from([c]))?;
    /// let mut extras = Extras::new();
    /// extras.send_logs.insert("broadcasts".into(), log);
    ///
    /// store.erase_customer(c)?;
    /// extras.forget(&RoaringBitmap::from([c]));
    /// let now = Hour::start_of(Day::from_ymd(2025, 6, 18)?);
    /// assert!(extras.send_logs["broadcasts"].received(now, 0, None, 1)?.is_empty());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn forget(&mut self, customers: &RoaringBitmap) {
        for log in self.send_logs.values_mut() {
            log.erase(customers);
        }
    }

    /// These extras without customers the store no longer has (erased ones), or `None`
    /// when they hold none: what a snapshot writes.
    pub(super) fn without_erased(&self, store: &Store) -> Option<Extras> {
        let live = store.customers();
        let holds_erased = |log: &SendLog| {
            log.buckets()
                .iter()
                .any(|b| b.layers.iter().any(|l| !l.is_subset(live)))
        };
        if !self.send_logs.values().any(holds_erased) {
            return None;
        }
        let mut erased = RoaringBitmap::new();
        let end = u32::try_from(store.id_space()).unwrap_or(u32::MAX);
        erased.insert_range(0..end);
        erased -= live;
        let mut scrubbed = self.clone();
        scrubbed.forget(&erased);
        Some(scrubbed)
    }

    /// Whether every map is empty (a snapshot of the store alone).
    pub fn is_empty(&self) -> bool {
        self.rule_sets.is_empty()
            && self.send_logs.is_empty()
            && self.rfm.is_empty()
            && self.tiers.is_empty()
    }
}

/// Whether a section kind is one of these.
pub(super) fn is_kind(kind: u32) -> bool {
    (KIND_RULE_SET..=KIND_TIERS).contains(&kind)
}

/// What an entry of a kind is called in messages.
fn what(kind: u32) -> &'static str {
    match kind {
        KIND_RULE_SET => "rule set",
        KIND_SEND_LOG => "send log",
        KIND_RFM => "RFM configuration",
        _ => "tiers",
    }
}

// ----------------------------------------------------------------------------------------
// Checks shared by the writer and the reader
// ----------------------------------------------------------------------------------------

/// A name or text for a message: quoted, at most 64 characters of it.
fn quote_short(s: &str) -> String {
    let head: String = s.chars().take(64).collect();
    if head.len() < s.len() {
        format!("{}...", quote(&head))
    } else {
        quote(&head)
    }
}

/// A query error on one line (the caret rendering takes three).
fn one_line(e: &Error) -> String {
    match e.kind() {
        ErrorKind::Query(q) => match q.location() {
            Some(at) => format!("{} {at}", q.problem),
            None => q.problem.to_string(),
        },
        other => other.to_string(),
    }
}

fn name_len(what: &str, s: &str) -> Res<()> {
    let n = s.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(format!(
            "{what} {} has {n} characters, more than {MAX_NAME_CHARS}",
            quote_short(s)
        ));
    }
    Ok(())
}

fn items(what: &str, n: usize) -> Res<()> {
    if n > MAX_ITEMS {
        return Err(format!("{n} {what}, more than {MAX_ITEMS}"));
    }
    Ok(())
}

fn tag_ref_len(t: &TagRef) -> Res<()> {
    if let Some(d) = &t.dimension {
        name_len("tag dimension", d)?;
    }
    name_len("tag name", &t.name)
}

/// A query is stored as its canonical text, so that text must read back as the query.
fn check_query(q: &Query) -> Res<()> {
    let text = q.to_string();
    match Query::parse(&text) {
        Ok(back) if back == *q => Ok(()),
        Ok(_) => Err(format!(
            "the query's canonical text {} reads back as a different query",
            quote_short(&text)
        )),
        Err(e) => Err(format!(
            "the query's canonical text {} does not parse: {}",
            quote_short(&text),
            one_line(&e)
        )),
    }
}

fn check_rule_set(set: &RuleSet) -> Res<()> {
    set.check_stored_names().map_err(|e| e.to_string())?;
    items("groups", set.groups.len())?;
    for (group, tags) in &set.groups {
        name_len("group name", group)?;
        items("tags in a group", tags.len())?;
        for t in tags {
            tag_ref_len(t).map_err(|e| format!("group {}: {e}", quote_short(group)))?;
        }
    }
    items("rules", set.rules.len())?;
    for rule in &set.rules {
        name_len("rule name", &rule.name)?;
        check_rule(rule).map_err(|e| format!("rule {}: {e}", quote_short(&rule.name)))?;
    }
    Ok(())
}

fn check_rule(rule: &Rule) -> Res<()> {
    check_query(&rule.when)?;
    items("tags to add", rule.add.len())?;
    for target in &rule.add {
        match target {
            TagTarget::Tag(t) => tag_ref_len(t)?,
            TagTarget::Template(tpl) => {
                name_len("template", &tpl.pattern)?;
                name_len("template dimension", &tpl.dimension)?;
            }
        }
    }
    items("tags to remove", rule.remove.len())?;
    for selector in &rule.remove {
        match selector {
            TagSelector::Tag(t) => tag_ref_len(t)?,
            TagSelector::Dimension(d) => name_len("dimension", d)?,
            TagSelector::Group(g) => name_len("group name", g)?,
        }
    }
    Ok(())
}

/// The send log's own checks ran when it was built (by its methods or through
/// `TryFrom<SendLogData>`); this adds the snapshot's: the bucket count, and customer ids
/// the store handed out (`SendLog::record` checks them, but a log deserialised, read
/// from an older snapshot, or recorded against another store was not checked against
/// this store).
fn check_send_log(log: &SendLog, id_space: u64) -> Res<()> {
    items("buckets", log.buckets().len())?;
    for (i, b) in log.buckets().iter().enumerate() {
        if let Some(id) = b.layers.iter().filter_map(|l| l.max()).max()
            && u64::from(id) >= id_space
        {
            let channel = log
                .channels()
                .get(b.channel as usize)
                .map_or_else(String::new, |c| quote_short(c));
            return Err(format!(
                "bucket {i} ({}, channel {channel}) holds customer id {id}, but the store handed out only {}",
                b.hour,
                counted(id_space, "id", "ids")
            ));
        }
    }
    Ok(())
}

fn check_rfm(cfg: &RfmConfig) -> Res<()> {
    cfg.validate().map_err(|e| e.to_string())?;
    for m in Measure::ALL {
        name_len("attribute", &cfg.spec(m).attribute)?;
    }
    if let Some(map) = cfg.segment_map() {
        for rule in &map.rules {
            name_len("segment name", &rule.name)?;
        }
    }
    if let Some(table) = cfg.first_match_table() {
        for rule in table.rules() {
            name_len("segment name", &rule.name)?;
        }
        name_len("segment name", table.otherwise())?;
    }
    if let Some(q) = cfg.scope_query() {
        check_query(q).map_err(|e| format!("scope: {e}"))?;
    }
    Ok(())
}

fn check_tiers(tiers: &Tiers) -> Res<()> {
    tiers.validate_stored().map_err(|e| e.to_string())?;
    name_len("attribute", &tiers.attribute)?;
    name_len("dimension", &tiers.dimension)?;
    for t in &tiers.tiers {
        name_len("tier name", &t.name)?;
    }
    Ok(())
}

/// Every check the reader will make, before anything is written: on error the writer
/// writes nothing.
pub(super) fn check(extras: &Extras, store: &Store) -> Result<(), Error> {
    let id_space = store.id_space();
    fn run<T>(
        kind: u32,
        entries: &BTreeMap<String, T>,
        check: impl Fn(&T) -> Res<()>,
    ) -> Result<(), Error> {
        for (name, entry) in entries {
            name_len("the name", name)
                .and_then(|()| check(entry))
                .map_err(|reason| ErrorKind::SnapshotExtra {
                    what: what(kind),
                    name: name.chars().take(64).collect(),
                    reason,
                })?;
        }
        Ok(())
    }
    run(KIND_RULE_SET, &extras.rule_sets, check_rule_set)?;
    run(KIND_SEND_LOG, &extras.send_logs, |log| {
        check_send_log(log, id_space)
    })?;
    run(KIND_RFM, &extras.rfm, check_rfm)?;
    run(KIND_TIERS, &extras.tiers, check_tiers)
}

// ----------------------------------------------------------------------------------------
// Writing
// ----------------------------------------------------------------------------------------

/// Writes one section per entry, by kind, then by name. `check` passed.
pub(super) fn write<W: Write>(wr: &mut Writer<W>, extras: &Extras) -> Result<(), Error> {
    for (name, set) in &extras.rule_sets {
        let b = wr.begin(KIND_RULE_SET);
        put_str(b, name);
        write_rule_set(b, set);
        wr.finish()?;
    }
    for (name, log) in &extras.send_logs {
        let b = wr.begin(KIND_SEND_LOG);
        put_str(b, name);
        write_send_log(b, log);
        wr.finish()?;
    }
    for (name, cfg) in &extras.rfm {
        let b = wr.begin(KIND_RFM);
        put_str(b, name);
        write_rfm(b, cfg);
        wr.finish()?;
    }
    for (name, tiers) in &extras.tiers {
        let b = wr.begin(KIND_TIERS);
        put_str(b, name);
        write_tiers(b, tiers);
        wr.finish()?;
    }
    Ok(())
}

fn put_opt_i64(b: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            put_u8(b, 1);
            put_i64(b, v);
        }
        None => put_u8(b, 0),
    }
}

fn put_tag_ref(b: &mut Vec<u8>, t: &TagRef) {
    put_opt_str(b, t.dimension.as_deref());
    put_str(b, &t.name);
}

fn write_rule_set(b: &mut Vec<u8>, set: &RuleSet) {
    put_len(b, set.groups.len());
    for (group, tags) in &set.groups {
        put_str(b, group);
        put_len(b, tags.len());
        for t in tags {
            put_tag_ref(b, t);
        }
    }
    put_len(b, set.rules.len());
    for rule in &set.rules {
        put_str(b, &rule.name);
        put_str(b, &rule.when.to_string());
        put_len(b, rule.add.len());
        for target in &rule.add {
            match target {
                TagTarget::Tag(t) => {
                    put_u8(b, 0);
                    put_tag_ref(b, t);
                }
                TagTarget::Template(tpl) => {
                    put_u8(b, 1);
                    put_str(b, &tpl.pattern);
                    put_str(b, &tpl.dimension);
                    put_opt_u32(b, tpl.ttl_days);
                }
            }
        }
        put_len(b, rule.remove.len());
        for selector in &rule.remove {
            match selector {
                TagSelector::Tag(t) => {
                    put_u8(b, 0);
                    put_tag_ref(b, t);
                }
                TagSelector::Dimension(d) => {
                    put_u8(b, 1);
                    put_str(b, d);
                }
                TagSelector::Group(g) => {
                    put_u8(b, 2);
                    put_str(b, g);
                }
            }
        }
    }
}

fn write_send_log(b: &mut Vec<u8>, log: &SendLog) {
    put_u32(b, log.retention_hours());
    put_len(b, log.channels().len());
    for c in log.channels() {
        put_str(b, c);
    }
    put_opt_i64(b, log.newest().map(|h| h.0));
    put_opt_i64(b, log.horizon().map(|h| h.0));
    put_len(b, log.buckets().len());
    for bucket in log.buckets() {
        put_i64(b, bucket.hour.0);
        put_u32(b, bucket.channel);
        put_len(b, bucket.layers.len());
        for layer in &bucket.layers {
            put_bitmap(b, layer);
        }
    }
}

fn write_rfm(b: &mut Vec<u8>, cfg: &RfmConfig) {
    for spec in Measure::ALL.map(|m| cfg.spec(m)) {
        put_str(b, &spec.attribute);
        match &spec.binning {
            Binning::Quantiles(n) => {
                put_u8(b, 0);
                put_u8(b, *n);
            }
            Binning::Edges(edges) => {
                put_u8(b, 1);
                put_len(b, edges.len());
                for &e in edges {
                    put_i64(b, e);
                }
            }
        }
    }
    put_opt_str(b, cfg.scope_query().map(Query::to_string).as_deref());
    let put_rules = |b: &mut Vec<u8>, rules: &[SegmentRule]| {
        put_len(b, rules.len());
        for rule in rules {
            put_str(b, &rule.name);
            for range in [&rule.r, &rule.f, &rule.m] {
                match range {
                    Some(r) => {
                        put_u8(b, 1);
                        put_u8(b, *r.start());
                        put_u8(b, *r.end());
                    }
                    None => put_u8(b, 0),
                }
            }
        }
    };
    match (cfg.segment_map(), cfg.first_match_table()) {
        (_, Some(table)) => {
            put_u8(b, 2);
            put_rules(b, table.rules());
            put_str(b, table.otherwise());
        }
        (Some(map), None) => {
            put_u8(b, 1);
            put_rules(b, &map.rules);
        }
        (None, None) => put_u8(b, 0),
    }
}

fn write_tiers(b: &mut Vec<u8>, tiers: &Tiers) {
    put_str(b, &tiers.attribute);
    put_str(b, &tiers.dimension);
    put_len(b, tiers.tiers.len());
    for t in &tiers.tiers {
        put_str(b, &t.name);
        put_opt_i64(b, t.at_least);
    }
}

// ----------------------------------------------------------------------------------------
// Reading
// ----------------------------------------------------------------------------------------

/// The entries read so far; handed out only when the whole snapshot was read.
pub(super) struct Loader {
    extras: Extras,
    /// The kind and name of the last section read.
    last: Option<(u32, String)>,
}

impl Loader {
    pub(super) fn new() -> Loader {
        Loader {
            extras: Extras::default(),
            last: None,
        }
    }

    /// Refuses a section of the store after these sections (they come last, before the
    /// end section).
    pub(super) fn order(&self, raw: &Raw) -> Result<(), Error> {
        match &self.last {
            Some((kind, _)) if !is_kind(raw.kind) && raw.kind != KIND_END => {
                Err(raw.invalid(format!(
                    "the store's {} must come before the {} sections",
                    raw.section(),
                    what(*kind)
                )))
            }
            _ => Ok(()),
        }
    }

    /// Reads one section of these kinds: its entry is decoded and checked, in order.
    /// `id_space` is the directory's slot count (the ids handed out).
    pub(super) fn read(&mut self, raw: &Raw, id_space: u64) -> Result<(), Error> {
        let mut c = raw.cursor();
        let name = c.str("name").map_err(|e| raw.invalid(e))?.to_string();
        let this = what(raw.kind);
        if let Some((kind, last)) = &self.last {
            if raw.kind < *kind {
                return Err(raw.invalid(format!(
                    "a {this} section after a {} section (these sections ascend by kind)",
                    what(*kind)
                )));
            }
            if raw.kind == *kind && name == *last {
                return Err(raw.invalid(format!("{this} {} appears twice", quote_short(&name))));
            }
            if raw.kind == *kind && name < *last {
                return Err(raw.invalid(format!(
                    "{this} {} after {this} {} (names ascend)",
                    quote_short(&name),
                    quote_short(last)
                )));
            }
        }
        let in_entry = |e: String| raw.invalid(format!("{this} {}: {e}", quote_short(&name)));
        name_len("the name", &name).map_err(in_entry)?;
        match raw.kind {
            KIND_RULE_SET => {
                let set = read_rule_set(&mut c)
                    .and_then(|set| c.end().and(check_rule_set(&set)).map(|()| set))
                    .map_err(in_entry)?;
                self.extras.rule_sets.insert(name.clone(), set);
            }
            KIND_SEND_LOG => {
                let log = read_send_log(&mut c)
                    .and_then(|log| c.end().and(check_send_log(&log, id_space)).map(|()| log))
                    .map_err(in_entry)?;
                self.extras.send_logs.insert(name.clone(), log);
            }
            KIND_RFM => {
                let cfg = read_rfm(&mut c)
                    .and_then(|cfg| c.end().and(check_rfm(&cfg)).map(|()| cfg))
                    .map_err(in_entry)?;
                self.extras.rfm.insert(name.clone(), cfg);
            }
            _ => {
                let tiers = read_tiers(&mut c)
                    .and_then(|t| c.end().and(check_tiers(&t)).map(|()| t))
                    .map_err(in_entry)?;
                self.extras.tiers.insert(name.clone(), tiers);
            }
        }
        self.last = Some((raw.kind, name));
        Ok(())
    }

    pub(super) fn finish(self) -> Extras {
        self.extras
    }
}

fn text(c: &mut Cursor<'_>, what: &str) -> Res<String> {
    c.str(what).map(str::to_string)
}

fn opt_i64(c: &mut Cursor<'_>, what: &str) -> Res<Option<i64>> {
    c.opt(what, |c| c.i64(what))
}

fn read_tag_ref(c: &mut Cursor<'_>) -> Res<TagRef> {
    let dimension = c.opt("tag dimension", |c| text(c, "tag dimension"))?;
    let name = text(c, "tag name")?;
    Ok(TagRef { dimension, name })
}

/// Query text, parsed. Any text the query language reads is accepted; writers write the
/// canonical text.
fn read_query(c: &mut Cursor<'_>) -> Res<Query> {
    let text = c.str("query")?;
    Query::parse(text).map_err(|e| {
        format!(
            "the query {} does not parse: {}",
            quote_short(text),
            one_line(&e)
        )
    })
}

fn read_rule_set(c: &mut Cursor<'_>) -> Res<RuleSet> {
    let ng = c.count(8, "groups")?;
    let mut groups: BTreeMap<String, Vec<TagRef>> = BTreeMap::new();
    for _ in 0..ng {
        let group = text(c, "group name")?;
        if let Some((last, _)) = groups.last_key_value()
            && group <= *last
        {
            return Err(format!(
                "group {} after group {} (groups ascend by name, each once)",
                quote_short(&group),
                quote_short(last)
            ));
        }
        let nt = c.count(5, "tags in a group")?;
        let mut tags = Vec::with_capacity(nt);
        for _ in 0..nt {
            tags.push(read_tag_ref(c)?);
        }
        groups.insert(group, tags);
    }
    let nr = c.count(16, "rules")?;
    let mut rules = Vec::with_capacity(nr);
    for _ in 0..nr {
        let name = text(c, "rule name")?;
        let rule =
            read_rule(c, name.clone()).map_err(|e| format!("rule {}: {e}", quote_short(&name)))?;
        rules.push(rule);
    }
    Ok(RuleSet { groups, rules })
}

fn read_rule(c: &mut Cursor<'_>, name: String) -> Res<Rule> {
    let when = read_query(c)?;
    let na = c.count(6, "tags to add")?;
    let mut add = Vec::with_capacity(na);
    for _ in 0..na {
        add.push(match c.u8("target kind")? {
            0 => TagTarget::Tag(read_tag_ref(c)?),
            1 => TagTarget::Template(TagTemplate {
                pattern: text(c, "template")?,
                dimension: text(c, "template dimension")?,
                ttl_days: c.opt("time-to-live", |c| c.u32("time-to-live"))?,
            }),
            other => return Err(format!("unknown target kind {other}")),
        });
    }
    let nr = c.count(5, "tags to remove")?;
    let mut remove = Vec::with_capacity(nr);
    for _ in 0..nr {
        remove.push(match c.u8("selector kind")? {
            0 => TagSelector::Tag(read_tag_ref(c)?),
            1 => TagSelector::Dimension(text(c, "dimension")?),
            2 => TagSelector::Group(text(c, "group name")?),
            other => return Err(format!("unknown selector kind {other}")),
        });
    }
    Ok(Rule {
        name,
        when,
        add,
        remove,
    })
}

fn read_send_log(c: &mut Cursor<'_>) -> Res<SendLog> {
    let retention_hours = c.u32("retention")?;
    let nc = c.count(4, "channels")?;
    let mut channels = Vec::with_capacity(nc);
    for _ in 0..nc {
        channels.push(text(c, "channel")?);
    }
    let newest = opt_i64(c, "newest hour")?.map(Hour);
    let horizon = opt_i64(c, "horizon")?.map(Hour);
    let nb = c.count(16, "buckets")?;
    let mut buckets = Vec::with_capacity(nb);
    for _ in 0..nb {
        let hour = Hour(c.i64("bucket hour")?);
        let channel = c.u32("bucket channel")?;
        let nl = c.count(12, "layers")?;
        let mut layers = Vec::with_capacity(nl);
        for _ in 0..nl {
            layers.push(c.bitmap("layer")?);
        }
        buckets.push(Bucket {
            hour,
            channel,
            layers,
        });
    }
    SendLog::try_from(SendLogData {
        retention_hours,
        channels,
        buckets,
        newest,
        horizon,
    })
    .map_err(|e| e.to_string())
}

fn read_measure(c: &mut Cursor<'_>) -> Res<MeasureSpec> {
    let attribute = text(c, "attribute")?;
    let binning = match c.u8("binning")? {
        0 => Binning::Quantiles(c.u8("bins")?),
        1 => {
            let n = c.count(8, "edges")?;
            let mut edges = Vec::with_capacity(n);
            for _ in 0..n {
                edges.push(c.i64("edge")?);
            }
            Binning::Edges(edges)
        }
        other => return Err(format!("unknown binning {other}")),
    };
    Ok(MeasureSpec { attribute, binning })
}

fn read_score_range(c: &mut Cursor<'_>) -> Res<Option<RangeInclusive<u8>>> {
    c.opt("score range", |c| {
        let lo = c.u8("lowest score")?;
        let hi = c.u8("highest score")?;
        Ok(lo..=hi)
    })
}

fn read_rfm(c: &mut Cursor<'_>) -> Res<RfmConfig> {
    let recency = read_measure(c)?;
    let frequency = read_measure(c)?;
    let monetary = read_measure(c)?;
    let scope = c
        .opt("scope", read_query)
        .map_err(|e| format!("scope: {e}"))?;
    let read_rules = |c: &mut Cursor<'_>| -> Res<Vec<SegmentRule>> {
        let n = c.count(7, "segments")?;
        let mut rules = Vec::with_capacity(n);
        for _ in 0..n {
            rules.push(SegmentRule {
                name: text(c, "segment name")?,
                r: read_score_range(c)?,
                f: read_score_range(c)?,
                m: read_score_range(c)?,
            });
        }
        Ok(rules)
    };
    let mut config = RfmConfig::new(recency.attribute, frequency.attribute, monetary.attribute);
    config = match c.u8("segment map")? {
        0 => config.segments(None),
        1 => config.segments(Some(SegmentMap {
            rules: read_rules(c)?,
        })),
        2 => {
            let rules = read_rules(c)?;
            let otherwise = text(c, "name for unmatched cells")?;
            let table = rules
                .into_iter()
                .fold(FirstMatchMap::new(otherwise), FirstMatchMap::rule);
            config.first_match(Some(table))
        }
        other => {
            return Err(format!(
                "segment map: {other} is not 0 (none), 1 (a segment map) or 2 (a first-match table)"
            ));
        }
    };
    if let Some(q) = scope {
        config = config.scope(q);
    }
    for (m, spec) in [
        (Measure::Recency, recency.binning),
        (Measure::Frequency, frequency.binning),
        (Measure::Monetary, monetary.binning),
    ] {
        config = config.binning(m, spec).map_err(|e| e.to_string())?;
    }
    Ok(config)
}

fn read_tiers(c: &mut Cursor<'_>) -> Res<Tiers> {
    let attribute = text(c, "attribute")?;
    let dimension = text(c, "dimension")?;
    let n = c.count(5, "tiers")?;
    let mut tiers = Vec::with_capacity(n);
    for _ in 0..n {
        tiers.push(Tier {
            name: text(c, "tier name")?,
            at_least: opt_i64(c, "threshold")?,
        });
    }
    Ok(Tiers {
        attribute,
        dimension,
        tiers,
    })
}
