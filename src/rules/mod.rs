//! Dynamic rules: `when <query> then add [tags] remove [tags]`, named, ordered, run as one
//! atomic batch over everyone (the weekly batch) or over a few changed customers (the event
//! path), with a dry run and a report of what each rule changed.
//!
//! A [`Rule`] is plain data (serde: the query travels as its AST), so an app can store its
//! rules next to its store. A [`RuleSet`] holds the rules in the user's order and the named
//! tag groups its rules may remove (e.g. every "positive" tag). [`Run`] says when
//! (`today`), over whom (everyone, or [`Run::within`] the changed customers), and what the
//! rules may refer to: `@name` sets of their queries and `{variable}`s of tag templates.
//!
//! # Semantics
//!
//! 1. **Validate everything first.** The scope holds only live customers; rule and group
//!    names are valid names (not blank, at most [`MAX_NAME_CHARS`]
//!    characters, no control characters) and rule names are distinct; every query binds to the store (tags exist and are not
//!    archived, attributes exist, `@sets` are given); every tag to add exists and is not
//!    archived, or is a template that renders with the run's variables to a tag that
//!    exists or can be created; every tag to remove resolves (named tags exist and are not
//!    archived; a dimension exists, and its archived tags are left alone; a group is
//!    defined by the set); every rule adds or removes something; the dependency order has
//!    no cycle. On any error nothing has changed.
//! 2. **Order.** Rule B runs after rule A when A adds or removes a tag that B's query reads;
//!    otherwise rules keep the user's order. A rule may read a tag it writes itself (its
//!    change is applied once). Two rules that feed each other (A writes what B reads and B
//!    writes what A reads, e.g. one adds a tag and the other removes it on seeing it) are
//!    a cycle: the result would flip from run to run, so the run is refused with
//!    [`ErrorKind::RuleCycle`] naming the rules. Two rules that write the same tag without
//!    reading each other run in the user's order; the later one has the last word.
//! 3. **One pass.** In that order, each rule evaluates its query on the store as the rules
//!    before it left it, restricted to the scope, and applies its change to the customers
//!    it matched: first the removals, then the additions. A tag the rule both removes (for
//!    example through its dimension) and adds is kept. A tag is added only to customers
//!    who lack it, assigned `today`; members keep their assignment day, so a weekly rule
//!    does not restart a tag's time-to-live. A rule's change never re-runs earlier rules.
//! 4. **Templated tags** (`purchased-{date}+{product}`) are rendered once per run, looked
//!    up in the template's dimension, and created there (kind dynamic, Edit-logged with the
//!    run's actor and the rule's name) when a customer first gets one.
//! 5. **Dry run**: the same run on a copy of the store (cloning a store is cheap: its
//!    bitmaps are shared until written). The report is the one a real run would give; the
//!    store is untouched.
//!
//! Rules do not expire memberships: call [`Store::expire`] (daily) before the rules.
//!
//! # Cost
//!
//! Every query is bound once during validation; a rule that no other rule feeds matches
//! the same customers before and after the others ran, so it is evaluated with that plan,
//! and only fed rules are bound again at their turn. Within a scope, queries are evaluated
//! inside the scope ([`Plan::segment_within`]), so a run over one changed customer costs
//! validation and a few lookups per rule, not a pass over everyone. `benches/rules.rs`
//! measures ten weekly rules (the five of CRM tagging guides: high value, highly active,
//! needs attention, at risk, follow up; plus the five lifecycle rules) over a million
//! customers, and the event path.
//!
//! # Example: a weekly rule from CRM tagging guides
//!
//! "Purchased more than 3 times: high value customer", previewed with a dry run, then run.
//!
//! ```
//! use audience::{AttrKind, CustomerKey, Day, Edit, Query, Rule, RuleSet, Run, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 6)?;
//! let admin = Edit::new("admin", today);
//! let mut store = Store::new();
//! let count = store.define_attribute("purchase_count", AttrKind::Int)?;
//! store.create_tag(&admin, TagSpec::new("high value customer"))?;
//! for (i, n) in [1, 4, 9].into_iter().enumerate() {
//!     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
//!     store.set_value(c, count, n)?;
//! }
//!
//! let rules = RuleSet::new().rule(
//!     Rule::new("high value", Query::parse("purchase_count > 3")?).add("high value customer"),
//! );
//! let preview = rules.dry_run(&store, &Run::new(today))?;
//! assert_eq!(preview.rules[0].added[0].customers, 2);
//! assert!(store.members(store.tag_id("high value customer")?)?.is_empty());
//!
//! let report = rules.run(&mut store, &Run::new(today))?;
//! assert_eq!(report.rules, preview.rules);
//! assert_eq!(store.members(store.tag_id("high value customer")?)?.len(), 2);
//! # Ok::<(), audience::Error>(())
//! ```

pub(crate) mod lifecycle;

use crate::base::text::plural;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;

use roaring::RoaringBitmap;

use crate::base::fold::{
    MAX_NAME_CHARS, MAX_TEXT_CHARS, check_name, check_stored_name, first_repeat, fold, tidy,
};
use crate::day::Day;
use crate::error::{Error, ErrorKind, err, invalid_name};
use crate::query::{Context, Expr, Plan, Query, TagRef, tag_ref};
use crate::store::Store;
use crate::store::directory::CustomerId;
use crate::store::taxonomy::{Edit, TagCount, TagId, TagKind, TagSpec, dimensions};

/// A named rule: when its query matches a customer, add some tags and remove others.
///
/// ```
/// use audience::query::attr;
/// use audience::{Rule, TagTemplate};
///
/// let rule = Rule::new("order succeeded", audience::query::all())
///     .remove("abandoned cart")
///     .add_template(TagTemplate::new("purchased-{date}+{product}").dimension("stage"));
/// assert_eq!(rule.name, "order succeeded");
///
/// let churn = Rule::new("at risk", attr("last_open").within_days(60).not())
///     .remove_group("positive")
///     .add("at risk of churn");
/// assert_eq!(churn.when.to_string(), "NOT last_open WITHIN 60d");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Rule {
    /// The rule's name, unique within its set (reports and errors name rules by it; at most
    /// [`MAX_NAME_CHARS`] characters).
    pub name: String,
    /// Which customers the rule applies to.
    pub when: Query,
    /// Tags the matched customers get.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub add: Vec<TagTarget>,
    /// Tags the matched customers lose.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub remove: Vec<TagSelector>,
}

impl Rule {
    /// A rule that does nothing yet; add its effects with the other methods.
    pub fn new(name: impl Into<String>, when: impl Into<Query>) -> Rule {
        Rule {
            name: name.into(),
            when: when.into(),
            add: Vec::new(),
            remove: Vec::new(),
        }
    }

    /// Adds the tag `name` (`dimension:name` qualifies it).
    // Named after the rule's "then add", not arithmetic.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, name: impl Into<String>) -> Rule {
        self.add.push(TagTarget::Tag(tag_ref(name)));
        self
    }

    /// Adds a tag named from a template, created on demand.
    pub fn add_template(mut self, template: TagTemplate) -> Rule {
        self.add.push(TagTarget::Template(template));
        self
    }

    /// Removes the tag `name` (`dimension:name` qualifies it).
    pub fn remove(mut self, name: impl Into<String>) -> Rule {
        self.remove.push(TagSelector::Tag(tag_ref(name)));
        self
    }

    /// Removes every tag of a dimension (archived ones excepted).
    pub fn remove_dimension(mut self, dimension: impl Into<String>) -> Rule {
        self.remove.push(TagSelector::Dimension(dimension.into()));
        self
    }

    /// Removes every tag of a group defined by the rule set ([`RuleSet::group`]).
    pub fn remove_group(mut self, group: impl Into<String>) -> Rule {
        self.remove.push(TagSelector::Group(group.into()));
        self
    }
}

/// A tag a rule adds: an existing tag, or one named from a template.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TagTarget {
    /// An existing tag.
    Tag(TagRef),
    /// A tag named from a template, created on demand.
    Template(TagTemplate),
}

/// Tags a rule removes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TagSelector {
    /// One tag.
    Tag(TagRef),
    /// Every tag of a dimension, except archived ones.
    Dimension(String),
    /// Every tag of a group of the rule set (e.g. all "positive" tags, across dimensions).
    Group(String),
}

/// A tag name with placeholders, e.g. `purchased-{date}+{product}`: `{date}` is the run's
/// `today` as `YYYY-MM-DD` (unless the run passes a variable named `date`), any other
/// `{name}` is a variable the run passes ([`Run::var`]). `{{` and `}}` stand for literal
/// braces. Placeholder names are letters, digits and `_`.
///
/// The rendered tag is looked up in the template's dimension and created there when
/// missing (kind dynamic, with the template's time-to-live).
///
/// ```
/// use std::collections::BTreeMap;
/// use audience::{Day, TagTemplate};
///
/// let t = TagTemplate::new("purchased-{date}+{product}").dimension("stage");
/// let vars = BTreeMap::from([("product".to_string(), "lipstick".to_string())]);
/// let name = t.render(Day::from_ymd(2024, 6, 18)?, &vars)?;
/// assert_eq!(name, "purchased-2024-06-18+lipstick");
///
/// let err = t.render(Day::EPOCH, &BTreeMap::new()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "tag template \"purchased-{date}+{product}\" needs the variable \"product\": pass it with the run"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TagTemplate {
    /// The name with placeholders.
    pub pattern: String,
    /// The dimension the tags live in; [`dimensions::GENERAL`] by default.
    #[cfg_attr(feature = "serde", serde(default = "general"))]
    pub dimension: String,
    /// Time-to-live of the created tags' memberships.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub ttl_days: Option<u32>,
}

#[cfg(feature = "serde")]
fn general() -> String {
    dimensions::GENERAL.to_string()
}

impl TagTemplate {
    /// A template for tags of the general dimension, without time-to-live.
    pub fn new(pattern: impl Into<String>) -> TagTemplate {
        TagTemplate {
            pattern: pattern.into(),
            dimension: dimensions::GENERAL.to_string(),
            ttl_days: None,
        }
    }

    /// Sets the dimension of the created tags.
    pub fn dimension(mut self, dimension: impl Into<String>) -> TagTemplate {
        self.dimension = dimension.into();
        self
    }

    /// Sets the time-to-live of the created tags.
    pub fn ttl_days(mut self, days: u32) -> TagTemplate {
        self.ttl_days = Some(days);
        self
    }

    /// The tag name for `today` and the variables. Errors with
    /// [`ErrorKind::InvalidTemplate`] for a pattern that does not parse and
    /// [`ErrorKind::MissingVariable`] for a placeholder without a value.
    pub fn render(&self, today: Day, vars: &BTreeMap<String, String>) -> Result<String, Error> {
        let bad = |reason: &str| -> Result<String, Error> {
            err(ErrorKind::InvalidTemplate {
                template: self.pattern.clone(),
                reason: reason.to_string(),
            })
        };
        let mut out = String::with_capacity(self.pattern.len() + 16);
        let mut chars = self.pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '}' => return bad("'}' without '{' (write '}}' for a brace)"),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) if c.is_alphanumeric() || c == '_' => name.push(c),
                            Some(_) => {
                                return bad("a placeholder name has only letters, digits and '_'");
                            }
                            None => return bad("'{' without '}' (write '{{' for a brace)"),
                        }
                    }
                    match vars.get(&name) {
                        Some(v) => out.push_str(v),
                        None if name == "date" => out.push_str(&today.to_string()),
                        None if name.is_empty() => return bad("empty placeholder '{}'"),
                        None => {
                            return err(ErrorKind::MissingVariable {
                                template: self.pattern.clone(),
                                variable: name,
                            });
                        }
                    }
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }
}

/// Rules in the user's order, and the tag groups they may remove.
///
/// ```
/// use audience::query::attr;
/// use audience::{Rule, RuleSet};
///
/// let rules = RuleSet::new()
///     .group("positive", ["active customer", "highly active", "high potential - follow up"])
///     .rule(
///         Rule::new("at risk", attr("last_open").within_days(60).not())
///             .remove_group("positive")
///             .add("at risk of churn"),
///     );
/// assert_eq!(rules.rules.len(), 1);
/// assert_eq!(rules.groups["positive"].len(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RuleSet {
    /// Named groups of tags, for [`TagSelector::Group`].
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "BTreeMap::is_empty")
    )]
    pub groups: BTreeMap<String, Vec<TagRef>>,
    /// The rules, in the user's order.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// An empty set.
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    /// Appends a rule.
    pub fn rule(mut self, rule: Rule) -> RuleSet {
        self.rules.push(rule);
        self
    }

    /// Defines (or replaces) a group of tags by name (`dimension:name` qualifies one).
    pub fn group<I, S>(mut self, name: impl Into<String>, tags: I) -> RuleSet
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tags = tags.into_iter().map(|t| tag_ref(t)).collect();
        self.groups.insert(name.into(), tags);
        self
    }

    /// Appends another set's rules after these and takes over its groups (a group of
    /// the same name is replaced).
    pub fn extend(&mut self, other: RuleSet) {
        self.rules.extend(other.rules);
        self.groups.extend(other.groups);
    }

    /// Validates the set for this store and run (see the [module docs](self)) and returns
    /// the rule names in the order a run applies them. Changes nothing.
    pub fn order(&self, store: &Store, run: &Run<'_>) -> Result<Vec<&str>, Error> {
        let (prepared, _) = self.prepare(store, run)?;
        Ok(prepared
            .order
            .iter()
            .filter_map(|&i| self.rules.get(i).map(|r| r.name.as_str()))
            .collect())
    }

    /// Runs the rules: validates everything, then applies each rule in dependency order
    /// (see the [module docs](self)). On error nothing has changed.
    pub fn run(&self, store: &mut Store, run: &Run<'_>) -> Result<RunReport, Error> {
        // Rules that no other rule feeds match the same customers before and after the
        // others ran: they are evaluated here, with the plans validation bound.
        let (prepared, mut early) = {
            let (prepared, plans) = self.prepare(store, run)?;
            let early: Vec<Option<RoaringBitmap>> = plans
                .iter()
                .zip(&prepared.fed)
                .map(|(plan, fed)| (!fed).then(|| matches(plan, run)))
                .collect();
            (prepared, early)
        };
        let mut report = RunReport {
            today: run.ctx.today(),
            dry_run: false,
            considered: match &run.within {
                Some(w) => w.len(),
                None => store.customer_count(),
            },
            changed: 0,
            rules: Vec::with_capacity(prepared.order.len()),
            created: Vec::new(),
        };
        let mut changed = RoaringBitmap::new();
        // Validation guarantees that none of the calls below fails: the scope and every
        // query result hold live customers only, every tag written exists and is not
        // archived, and every tag to create was checked to be creatable. The whole run is
        // one unit in the journal: its effects, not a re-run.
        store.batch(|store| {
            for &i in &prepared.order {
                let (Some(rule), Some(effects)) = (self.rules.get(i), prepared.effects.get(i))
                else {
                    continue;
                };
                let matched = match early.get_mut(i).and_then(Option::take) {
                    Some(m) => m,
                    None => matches(&store.plan(&rule.when, &run.ctx)?, run),
                };
                let (rule_report, moved) =
                    apply(store, rule, effects, &matched, run, &mut report.created)?;
                report.rules.push(rule_report);
                changed |= moved;
            }
            Ok(())
        })?;
        report.changed = changed.len();
        Ok(report)
    }

    /// What [`RuleSet::run`] would do, without doing it: the same run on a copy of the
    /// store. The report is the one the run would give, marked as a dry run.
    pub fn dry_run(&self, store: &Store, run: &Run<'_>) -> Result<RunReport, Error> {
        let mut scratch = store.clone();
        let mut report = self.run(&mut scratch, run)?;
        report.dry_run = true;
        Ok(report)
    }

    /// The checks that need no store: every rule has a name, and no two rules share one
    /// (compared as tag names are). Runs and snapshots both check this.
    pub(crate) fn check_names(&self) -> Result<(), Error> {
        self.check_names_with(check_name)
    }

    /// [`RuleSet::check_names`] with the checks names read from an older snapshot pass:
    /// rule and group names written before invisible characters were refused still load
    /// (a run refuses them, naming the character).
    pub(crate) fn check_stored_names(&self) -> Result<(), Error> {
        self.check_names_with(check_stored_name)
    }

    fn check_names_with(&self, check: fn(&str) -> Result<(), String>) -> Result<(), Error> {
        let twice = first_repeat(self.rules.iter().map(|r| r.name.as_str()));
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.name.trim().is_empty() {
                return err(invalid_name(&rule.name, "a rule name must not be empty"));
            }
            check(&tidy(&rule.name)).map_err(|reason| invalid_name(&rule.name, reason))?;
            if twice == Some(i) {
                return err(ErrorKind::DuplicateRule {
                    name: rule.name.clone(),
                });
            }
        }
        for group in self.groups.keys() {
            check(&tidy(group)).map_err(|reason| invalid_name(group, reason))?;
        }
        Ok(())
    }

    /// Validates everything a run needs, resolves every tag the rules write and orders
    /// the rules. Returns the bound plans too (by rule index).
    fn prepare<'s>(
        &self,
        store: &'s Store,
        run: &Run<'s>,
    ) -> Result<(Prepared, Vec<Plan<'s>>), Error> {
        same_day(&run.edit, &run.ctx)?;
        run.edit.check()?;
        if let Some(w) = &run.within
            && !w.is_subset(store.customers())
        {
            let first = (&**w - store.customers()).min().unwrap_or(0);
            return err(ErrorKind::UnknownCustomerId { id: first });
        }
        self.check_names()?;
        let mut names = Names {
            store,
            known: Vec::new(),
            pending: Vec::new(),
        };
        let mut effects = Vec::with_capacity(self.rules.len());
        let mut reads = Vec::with_capacity(self.rules.len());
        let mut plans = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let in_rule = |e: Error| -> Error {
                ErrorKind::Rule {
                    rule: rule.name.clone(),
                    error: Box::new(e.into_kind()),
                }
                .into()
            };
            plans.push(store.plan(&rule.when, &run.ctx).map_err(in_rule)?);
            reads.push(names.query_tags(&rule.when).map_err(in_rule)?);
            effects.push(
                self.resolve_effects(&mut names, rule, run)
                    .map_err(in_rule)?,
            );
        }
        let (order, fed) = dependency_order(&self.rules, &effects, &reads)?;
        Ok((
            Prepared {
                order,
                fed,
                effects,
            },
            plans,
        ))
    }

    fn resolve_effects<'r>(
        &'r self,
        names: &mut Names<'_, 'r>,
        rule: &'r Rule,
        run: &Run<'_>,
    ) -> Result<Effects, Error> {
        let store = names.store;
        if rule.add.is_empty() && rule.remove.is_empty() {
            return err(ErrorKind::InvalidArgument(
                "a rule must add or remove at least one tag".into(),
            ));
        }
        let mut add: Vec<Target> = Vec::with_capacity(rule.add.len());
        for target in &rule.add {
            let resolved = match target {
                TagTarget::Tag(t) => Target::Tag(names.writable(t)?),
                TagTarget::Template(tpl) => {
                    let name = tpl.render(run.ctx.today(), &run.vars)?;
                    match store.find_tag_in(&tpl.dimension, &name) {
                        Some(tag) => Target::Tag(unarchived(store, tag)?),
                        None => {
                            let mut spec = TagSpec::new(name)
                                .dimension(tpl.dimension.as_str())
                                .kind(TagKind::Dynamic);
                            spec.ttl_days = tpl.ttl_days;
                            let key = format!("{}\u{0}{}", fold(&spec.dimension), fold(&spec.name));
                            // Whichever rule creates the tag logs the edit: check each's.
                            let edit = template_edit(run, &rule.name, &tpl.pattern);
                            edit.check()?;
                            if !names.pending.contains(&key) {
                                store.check_new_tag(&edit, &spec, names.pending.len())?;
                                names.pending.push(key);
                            }
                            Target::New {
                                spec,
                                pattern: tpl.pattern.clone(),
                            }
                        }
                    }
                }
            };
            if !add.contains(&resolved) {
                add.push(resolved);
            }
        }
        let mut remove = Vec::new();
        for selector in &rule.remove {
            match selector {
                TagSelector::Tag(t) => remove.push(names.writable(t)?),
                TagSelector::Dimension(d) => {
                    let key = fold(store.dimension(d)?.name.as_str());
                    remove.extend(
                        store
                            .tags()
                            .filter(|t| !t.archived && fold(&t.dimension) == key)
                            .map(|t| t.id),
                    );
                }
                TagSelector::Group(g) => {
                    let Some(tags) = self.groups.get(g) else {
                        return err(ErrorKind::UnknownGroup { name: g.clone() });
                    };
                    for t in tags {
                        remove.push(names.writable(t)?);
                    }
                }
            }
        }
        remove.sort_unstable();
        remove.dedup();
        remove.retain(|t| !add.contains(&Target::Tag(*t)));
        Ok(Effects { add, remove })
    }
}

/// A rule's effects, resolved for one run.
struct Effects {
    add: Vec<Target>,
    /// Sorted, without the tags the rule also adds.
    remove: Vec<TagId>,
}

#[derive(PartialEq)]
enum Target {
    Tag(TagId),
    /// A templated tag that does not exist yet.
    New {
        spec: TagSpec,
        pattern: String,
    },
}

struct Prepared {
    /// Rule indexes in the order to apply them.
    order: Vec<usize>,
    /// By rule index: whether another rule writes a tag this rule's query reads.
    fed: Vec<bool>,
    /// By rule index.
    effects: Vec<Effects>,
}

/// Applies one rule's effects to the customers it matched: removals first, then additions
/// to those who lack the tag. Returns the rule's report and the customers it changed.
fn apply(
    store: &mut Store,
    rule: &Rule,
    effects: &Effects,
    matched: &RoaringBitmap,
    run: &Run<'_>,
    created: &mut Vec<TagCount>,
) -> Result<(RuleReport, RoaringBitmap), Error> {
    let today = run.ctx.today();
    let mut changed = RoaringBitmap::new();
    let mut removed = Vec::new();
    // A rule that matched nobody (the common case of a run over a few customers) skips
    // every bitmap operation.
    let remove: &[TagId] = if matched.is_empty() {
        &[]
    } else {
        &effects.remove
    };
    for &tag in remove {
        let lost = store.members(tag)? & matched;
        if lost.is_empty() {
            continue;
        }
        store.remove_tag_bulk(tag, &lost)?;
        changed |= &lost;
        removed.push(tag_count(store, tag, lost.len())?);
    }
    let mut added = Vec::with_capacity(effects.add.len());
    for target in &effects.add {
        let tag = match target {
            Target::Tag(tag) => *tag,
            // Templated tags are created for their first member, not before.
            Target::New { .. } if matched.is_empty() => continue,
            Target::New { spec, pattern } => match store.tag_id_in(&spec.dimension, &spec.name) {
                // An earlier rule of this run created it.
                Ok(tag) => tag,
                Err(_) => {
                    let edit = template_edit(run, &rule.name, pattern);
                    let tag = store.create_tag(&edit, spec.clone())?;
                    created.push(tag_count(store, tag, 0)?);
                    tag
                }
            },
        };
        let mut gained = 0;
        if !matched.is_empty() {
            let new = matched - store.members(tag)?;
            if !new.is_empty() {
                store.add_tag_bulk(tag, &new, today)?;
                gained = new.len();
                changed |= new;
            }
        }
        added.push(tag_count(store, tag, gained)?);
    }
    let report = RuleReport {
        rule: rule.name.clone(),
        matched: matched.len(),
        changed: changed.len(),
        added,
        removed,
    };
    Ok((report, changed))
}

/// The edit that logs the creation of a templated tag: by the run's actor, because of the
/// rule and its template (shortened to 200 characters, so the reason stays within
/// [`MAX_TEXT_CHARS`]).
fn template_edit(run: &Run<'_>, rule: &str, pattern: &str) -> Edit {
    let mut shown: String = pattern.chars().take(MAX_NAME_CHARS).collect();
    if shown.len() < pattern.len() {
        shown.push_str("...");
    }
    Edit::new(run.edit.actor.clone(), run.today()).because(format!(
        "rule {}: template {}",
        crate::error::quote(rule),
        crate::error::quote(&shown)
    ))
}

/// The customers a bound rule query matches in the run's scope.
fn matches(plan: &Plan<'_>, run: &Run<'_>) -> RoaringBitmap {
    match &run.within {
        Some(w) => plan.bitmap_within(w),
        None => plan.bitmap(),
    }
}

/// The tag, unless it is archived (archived tags keep their members: rules leave them be).
fn unarchived(store: &Store, tag: TagId) -> Result<TagId, Error> {
    let info = store.tag(tag)?;
    if info.archived {
        return err(ErrorKind::ArchivedTag {
            name: info.name.clone(),
        });
    }
    Ok(tag)
}

/// Tag names resolved during one validation (rules name the same tags again and again),
/// and the tags the run will create.
struct Names<'s, 'r> {
    store: &'s Store,
    known: Vec<(&'r TagRef, TagId)>,
    /// Folded `dimension NUL name` of each tag to create.
    pending: Vec<String>,
}

impl<'r> Names<'_, 'r> {
    fn tag(&mut self, t: &'r TagRef) -> Result<TagId, Error> {
        if let Some((_, id)) = self.known.iter().find(|(k, _)| *k == t) {
            return Ok(*id);
        }
        let id = match &t.dimension {
            Some(d) => self.store.tag_id_in(d, &t.name),
            None => self.store.tag_id(&t.name),
        }?;
        self.known.push((t, id));
        Ok(id)
    }

    /// The tag, unless it is archived.
    fn writable(&mut self, t: &'r TagRef) -> Result<TagId, Error> {
        let id = self.tag(t)?;
        unarchived(self.store, id)
    }

    /// The tags a (bound, so resolvable and not too deep) query reads, sorted.
    fn query_tags(&mut self, query: &'r Query) -> Result<Vec<TagId>, Error> {
        let mut out = Vec::new();
        let mut stack: Vec<&'r Expr> = vec![query.expr()];
        while let Some(e) = stack.pop() {
            match e {
                Expr::And(items) | Expr::Or(items) => stack.extend(items),
                Expr::Not(inner) => stack.push(inner),
                Expr::Tag(t)
                | Expr::AssignedBefore { tag: t, .. }
                | Expr::AssignedWithin { tag: t, .. } => out.push(self.tag(t)?),
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// Rule indexes in dependency order, the user's order among independent rules (Kahn's
/// algorithm taking the earliest ready rule first), and per rule whether another rule feeds
/// it; or the cycle that prevents an order.
fn dependency_order(
    rules: &[Rule],
    effects: &[Effects],
    reads: &[Vec<TagId>],
) -> Result<(Vec<usize>, Vec<bool>), Error> {
    let n = rules.len();
    let writes: Vec<Vec<TagId>> = effects
        .iter()
        .map(|e| {
            let mut w: Vec<TagId> = e.remove.clone();
            w.extend(e.add.iter().filter_map(|t| match t {
                Target::Tag(tag) => Some(*tag),
                Target::New { .. } => None,
            }));
            w.sort_unstable();
            w.dedup();
            w
        })
        .collect();
    // after[a] = rules that must run after rule a.
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut before_count = vec![0usize; n];
    for (a, w) in writes.iter().enumerate() {
        for (b, r) in reads.iter().enumerate() {
            if a != b && w.iter().any(|t| r.binary_search(t).is_ok()) {
                after[a].push(b);
                before_count[b] += 1;
            }
        }
    }
    let fed: Vec<bool> = before_count.iter().map(|&c| c > 0).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
        .filter(|&i| before_count[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(a)) = ready.pop() {
        order.push(a);
        for &b in &after[a] {
            before_count[b] -= 1;
            if before_count[b] == 0 {
                ready.push(Reverse(b));
            }
        }
    }
    if order.len() == n {
        return Ok((order, fed));
    }
    // Every rule left waits for another rule left: walk back from the earliest one along
    // its earliest waiting-on rule until a rule repeats.
    let left: Vec<bool> = (0..n).map(|i| before_count[i] > 0).collect();
    let waits_on = |b: usize| (0..n).find(|&a| left[a] && after[a].contains(&b));
    let mut path: Vec<usize> = Vec::new();
    let mut at = (0..n).find(|&i| left[i]);
    while let Some(b) = at {
        if let Some(pos) = path.iter().position(|&x| x == b) {
            let mut cycle: Vec<usize> = path.split_off(pos);
            // The path runs against the dependencies; reverse it and start at the
            // earliest rule.
            cycle.reverse();
            if let Some(first) = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| **r)
                .map(|(i, _)| i)
            {
                cycle.rotate_left(first);
            }
            return err(ErrorKind::RuleCycle {
                rules: cycle
                    .into_iter()
                    .filter_map(|i| rules.get(i).map(|r| r.name.clone()))
                    .collect(),
            });
        }
        path.push(b);
        at = waits_on(b);
    }
    err(ErrorKind::RuleCycle {
        rules: path
            .into_iter()
            .filter_map(|i| rules.get(i).map(|r| r.name.clone()))
            .collect(),
    })
}

/// One run of a rule set: the evaluation context (the day, named sets, derived terms such
/// as RFM scores), the scope, the template variables, and the edit that logs what the run
/// creates.
///
/// ```
/// use audience::{Context, Day, Edit, RoaringBitmap, Run};
///
/// let today = Day::from_ymd(2025, 1, 6)?;
/// // The weekly batch: everyone, logged as the actor "rules".
/// let weekly = Run::new(today);
/// // The event path: one customer's order just succeeded.
/// let order = Run::new(today).customer(42).var("product", "lipstick");
/// // A run that may name the set `@new_orders`, logged as a person with a reason.
/// let orders = RoaringBitmap::from_iter([7u32, 9]);
/// let manual = Run::new(Context::new(today).with_set("new_orders", &orders))
///     .by(Edit::new("maria", today).because("campaign 618"));
/// assert_eq!(order.today(), today);
/// assert_eq!(manual.edit().actor, "maria");
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Run<'a> {
    ctx: Context<'a>,
    within: Option<Cow<'a, RoaringBitmap>>,
    vars: BTreeMap<String, String>,
    edit: Edit,
}

impl<'a> Run<'a> {
    /// A run over everyone, evaluated in `ctx` (a [`Day`] is a context with no named sets),
    /// logged as the actor `"rules"` on the context's day.
    pub fn new(ctx: impl Into<Context<'a>>) -> Run<'a> {
        let ctx = ctx.into();
        let edit = Edit::new("rules", ctx.today());
        Run {
            ctx,
            within: None,
            vars: BTreeMap::new(),
            edit,
        }
    }

    /// Restricts the run to these customers (the event path): queries are evaluated
    /// inside them and only they can change. Every one must be a live customer. A
    /// [`Segment`](crate::Segment) is accepted as its bitmap (`&segment`).
    pub fn within(mut self, customers: &'a RoaringBitmap) -> Run<'a> {
        self.within = Some(Cow::Borrowed(customers));
        self
    }

    /// Adds one customer to the scope (a run over everyone becomes a run over this one).
    pub fn customer(mut self, customer: CustomerId) -> Run<'a> {
        self.within
            .get_or_insert_with(|| Cow::Owned(RoaringBitmap::new()))
            .to_mut()
            .insert(customer);
        self
    }

    /// Gives tag templates the variable `{name}`.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Run<'a> {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// The edit the change log records for the tags the run creates (by default the actor
    /// `"rules"` on the run's day). Its day must be the run's day: a run whose edit is dated
    /// another day is refused with [`ErrorKind::DayMismatch`].
    pub fn by(mut self, edit: Edit) -> Run<'a> {
        self.edit = edit;
        self
    }

    /// The edit the run logs its changes with.
    pub fn edit(&self) -> &Edit {
        &self.edit
    }

    /// The run's evaluation context.
    pub fn context(&self) -> &Context<'a> {
        &self.ctx
    }

    /// The run's day.
    pub fn today(&self) -> Day {
        self.ctx.today()
    }
}

/// What a run changed (or, for a dry run, would change).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RunReport {
    /// The run's day.
    pub today: Day,
    /// Whether this is a dry run (nothing was changed).
    pub dry_run: bool,
    /// Customers in the run's scope.
    pub considered: u64,
    /// Customers whose tags changed (each counted once).
    pub changed: u64,
    /// Per rule, in the order they ran.
    pub rules: Vec<RuleReport>,
    /// Templated tags created (with 0 customers: their members show in the rules).
    pub created: Vec<TagCount>,
}

impl RunReport {
    /// The report of the rule `name`.
    pub fn rule(&self, name: &str) -> Option<&RuleReport> {
        self.rules.iter().find(|r| r.rule == name)
    }
}

/// What one rule changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RuleReport {
    /// The rule's name.
    pub rule: String,
    /// Customers its query matched (in the scope).
    pub matched: u64,
    /// Customers whose tags it changed.
    pub changed: u64,
    /// Per tag it adds, how many customers got it (0 when all matched had it).
    pub added: Vec<TagCount>,
    /// Per tag it removed from someone, how many customers lost it.
    pub removed: Vec<TagCount>,
}

fn tag_count(store: &Store, tag: TagId, customers: u64) -> Result<TagCount, Error> {
    Ok(TagCount {
        tag,
        name: store.tag(tag)?.name.clone(),
        customers,
    })
}

impl fmt::Display for RunReport {
    /// One line per rule: matched, changed, then `+tag n` and `-tag n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rules on {}{}: {} considered, {} changed",
            self.today,
            if self.dry_run { " (dry run)" } else { "" },
            plural(self.considered, "customer", "customers"),
            self.changed
        )?;
        let width = self
            .rules
            .iter()
            .map(|r| r.rule.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "  {:<width$}  {:>9}  {:>9}  changes",
            "rule", "matched", "changed"
        )?;
        for r in &self.rules {
            let mut changes: Vec<String> = r
                .removed
                .iter()
                .map(|t| format!("-{} {}", t.name, t.customers))
                .collect();
            changes.extend(
                r.added
                    .iter()
                    .map(|t| format!("+{} {}", t.name, t.customers)),
            );
            writeln!(
                f,
                "  {:<width$}  {:>9}  {:>9}  {}",
                r.rule,
                r.matched,
                r.changed,
                changes.join(", ")
            )?;
        }
        for t in &self.created {
            writeln!(f, "  created tag {}", crate::error::quote(&t.name))?;
        }
        Ok(())
    }
}

/// Materialises a query as a new static tag: a snapshot of the segment today (e.g.
/// "618 campaign non-buyers"), which does not follow later changes. The tag is created
/// from `spec` (Edit-logged; an empty description becomes "snapshot of `<query>` on
/// `<day>`", the query's text shortened with "..." to keep the description within
/// [`MAX_TEXT_CHARS`]) and its members are assigned on `edit.day`. The query is evaluated first: on
/// any error nothing has changed. The edit's day and the context's "today" must be the
/// same day: the members are the segment of that day, assigned on it.
///
/// ```
/// use audience::{Context, CustomerKey, Day, Edit, Query, Store, TagSpec};
///
/// let day = Day::from_ymd(2024, 6, 20)?;
/// let edit = Edit::new("admin", day);
/// let mut store = Store::new();
/// let targeted = store.create_tag(&edit, TagSpec::new("618 targeted"))?;
/// let bought = store.create_tag(&edit, TagSpec::new("618 bought"))?;
/// for i in 0..10 {
///     let c = store.add_customer(CustomerKey::member(format!("m{i}"))?)?;
///     store.add_tag(c, targeted, day)?;
///     if i < 3 {
///         store.add_tag(c, bought, day)?;
///     }
/// }
/// let q = Query::parse("\"618 targeted\" EXCLUDE \"618 bought\"")?;
/// let tag = audience::rules::materialise(&mut store, &edit, TagSpec::new("618 campaign non-buyers"), &q, &Context::new(day))?;
/// assert_eq!(store.members(tag)?.len(), 7);
/// assert_eq!(
///     store.tag(tag)?.description,
///     "snapshot of \"618 targeted\" AND NOT \"618 bought\" on 2024-06-20"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
pub fn materialise(
    store: &mut Store,
    edit: &Edit,
    mut spec: TagSpec,
    query: &Query,
    ctx: &Context<'_>,
) -> Result<TagId, Error> {
    same_day(edit, ctx)?;
    let members = store.plan(query, ctx)?.bitmap();
    if spec.description.is_empty() {
        spec.description = snapshot_description(query, edit.day);
    }
    // The tag and its members are one unit in the journal.
    store.batch(|store| {
        let tag = store.create_tag(edit, spec)?;
        store.add_tag_bulk(tag, &members, edit.day)?;
        Ok(tag)
    })
}

/// Refuses an edit dated another day than the context evaluates on.
fn same_day(edit: &Edit, ctx: &Context<'_>) -> Result<(), Error> {
    if ctx.today() == edit.day {
        return Ok(());
    }
    err(ErrorKind::DayMismatch {
        edit_day: edit.day.to_string(),
        context_day: ctx.today().to_string(),
    })
}

/// "snapshot of `<query>` on `<day>`", the query's text shortened with "..." to keep the
/// whole within [`MAX_TEXT_CHARS`].
fn snapshot_description(query: &Query, day: Day) -> String {
    let text = query.to_string();
    let frame = format!("snapshot of  on {day}").chars().count();
    let room = MAX_TEXT_CHARS.saturating_sub(frame);
    let shown: Cow<'_, str> = if text.chars().count() <= room {
        Cow::Borrowed(&text)
    } else {
        let mut short: String = text.chars().take(room.saturating_sub(3)).collect();
        short.push_str("...");
        Cow::Owned(short)
    };
    format!("snapshot of {shown} on {day}")
}
