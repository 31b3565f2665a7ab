//! The customer lifecycle that CRM tagging guides describe (new, growth, expected to churn)
//! as a preset of ordinary rules (see [`Lifecycle`]).

use crate::base::fold::fold;
use crate::error::{Error, ErrorKind, err};
use crate::query::{Expr, TagRef, attr};
use crate::rules::{Rule, RuleSet, TagSelector, TagTarget};
use crate::store::Store;
use crate::store::taxonomy::{Edit, TagId, TagKind, TagSpec, dimensions};

/// The customer lifecycle that CRM tagging guides describe, as a preset of ordinary rules.
///
/// Counting days since a customer's first purchase (an attribute the app keeps):
///
/// | days since first purchase | stage tag |
/// |---|---|
/// | 0 to `new_days` (30) | "new customer" |
/// | `new_days + 1` to `growth_days` (31 to 90), opened a message in the last `open_window_days` (7) | "growth, high frequency" |
/// | same window, no open in the last 7 days (or never) | "growth, low frequency" |
/// | over `growth_days` (90), no second purchase | "expected to churn" |
/// | over `growth_days`, a second purchase | none of these (the lifecycle is over) |
///
/// Each stage rule removes the other stage tags, so a customer carries at most one of them,
/// and a weekly run moves everyone to the stage their days say. The guides' "opens at least
/// one message a week" is read from a day attribute the app sets on every open
/// (`last_open`, the same one their "no marketing message opened for over 60 days: at risk
/// of churn" rule reads): a customer is high-frequency this week when `last_open WITHIN
/// 7d`. Day bounds, attribute names and tag names are configurable; [`Lifecycle::default`]
/// is the guides' configuration (30 and 90 days, a 7-day open window). [`Lifecycle::rules`]
/// gives an ordinary [`RuleSet`], to run alone or appended to other rules
/// ([`RuleSet::extend`]).
///
/// ```
/// use audience::{AttrKind, CustomerKey, Day, Edit, Lifecycle, Run, Store};
///
/// let today = Day::from_ymd(2025, 4, 1)?;
/// let mut store = Store::new();
/// let first = store.define_attribute("first_purchase_day", AttrKind::Day)?;
/// store.define_attribute("purchase_count", AttrKind::Int)?;
/// store.define_attribute("last_open", AttrKind::Day)?;
/// let lifecycle = Lifecycle::default();
/// let [new, ..] = lifecycle.create_tags(&mut store, &Edit::new("admin", today))?;
///
/// let c = store.add_customer(CustomerKey::member("m1")?)?;
/// store.set_value(c, first, today - 3)?;
/// lifecycle.rules()?.run(&mut store, &Run::new(today))?;
/// assert!(store.members(new)?.contains(c));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Lifecycle {
    /// Last day (since the first purchase) of the "new customer" stage.
    pub new_days: u32,
    /// Last day of the growth stages; after it, "expected to churn" without a second
    /// purchase.
    pub growth_days: u32,
    /// A growth customer is high-frequency when the last open is at most this many days
    /// ago.
    pub open_window_days: u32,
    /// Day attribute: the first purchase.
    pub first_purchase: String,
    /// Number attribute: purchases so far.
    pub purchase_count: String,
    /// Day attribute: the last message opened.
    pub last_open: String,
    /// The dimension of the stage tags.
    pub dimension: String,
    /// Tag of days 0 to `new_days`.
    pub new_customer: String,
    /// Tag of the growth window with recent opens.
    pub growth_high: String,
    /// Tag of the growth window without recent opens.
    pub growth_low: String,
    /// Tag after the growth window without a second purchase.
    pub expected_to_churn: String,
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle {
            new_days: 30,
            growth_days: 90,
            open_window_days: 7,
            first_purchase: "first_purchase_day".into(),
            purchase_count: "purchase_count".into(),
            last_open: "last_open".into(),
            dimension: dimensions::STAGE.into(),
            new_customer: "new customer".into(),
            growth_high: "growth, high frequency".into(),
            growth_low: "growth, low frequency".into(),
            expected_to_churn: "expected to churn".into(),
        }
    }
}

impl Lifecycle {
    /// The stage tags in order: new customer, growth high, growth low, expected to churn.
    fn stage_tags(&self) -> [&str; 4] {
        [
            &self.new_customer,
            &self.growth_high,
            &self.growth_low,
            &self.expected_to_churn,
        ]
    }

    fn tag(&self, name: &str) -> TagRef {
        TagRef {
            dimension: Some(self.dimension.clone()),
            name: name.to_string(),
        }
    }

    /// A rule that removes every stage tag but `keep` and adds `keep`.
    fn stage_rule(&self, name: &str, when: Expr, keep: Option<&str>) -> Rule {
        let mut rule = Rule::new(name, when);
        for t in self.stage_tags() {
            if Some(t) == keep {
                rule.add.push(TagTarget::Tag(self.tag(t)));
            } else {
                rule.remove.push(TagSelector::Tag(self.tag(t)));
            }
        }
        rule
    }

    /// The five rules of the preset, in this order: "lifecycle: new customer",
    /// "lifecycle: growth, high frequency", "lifecycle: growth, low frequency",
    /// "lifecycle: expected to churn", "lifecycle: retained". Errors with
    /// [`ErrorKind::InvalidArgument`] when `new_days >= growth_days`.
    pub fn rules(&self) -> Result<RuleSet, Error> {
        if self.new_days >= self.growth_days {
            return err(ErrorKind::InvalidArgument(format!(
                "lifecycle: the new-customer stage ({} days) must end before the growth stage ({} days)",
                self.new_days, self.growth_days
            )));
        }
        let first = || attr(self.first_purchase.as_str());
        let new_window = first().within_days(self.new_days);
        let growth_window = first()
            .before_days(self.new_days)
            .and(first().within_days(self.growth_days));
        let after = first().before_days(self.growth_days);
        let opened = attr(self.last_open.as_str()).within_days(self.open_window_days);
        let repeat = attr(self.purchase_count.as_str()).ge(2);
        Ok(RuleSet::new()
            .rule(self.stage_rule(
                "lifecycle: new customer",
                new_window,
                Some(&self.new_customer),
            ))
            .rule(self.stage_rule(
                "lifecycle: growth, high frequency",
                growth_window.clone().and(opened.clone()),
                Some(&self.growth_high),
            ))
            .rule(self.stage_rule(
                "lifecycle: growth, low frequency",
                growth_window.exclude(opened),
                Some(&self.growth_low),
            ))
            .rule(self.stage_rule(
                "lifecycle: expected to churn",
                after.clone().exclude(repeat.clone()),
                Some(&self.expected_to_churn),
            ))
            .rule(self.stage_rule("lifecycle: retained", after.and(repeat), None)))
    }

    /// Creates the stage tags that do not exist yet in the preset's dimension (kind
    /// dynamic) and returns all four: new customer, growth high, growth low, expected to
    /// churn. Checks every tag first: on error nothing has changed.
    pub fn create_tags(&self, store: &mut Store, edit: &Edit) -> Result<[TagId; 4], Error> {
        let mut missing = Vec::new();
        for name in self.stage_tags() {
            if store.find_tag_in(&self.dimension, name).is_some()
                || missing
                    .iter()
                    .any(|m: &TagSpec| fold(&m.name) == fold(name))
            {
                continue;
            }
            let spec = TagSpec::new(name)
                .dimension(self.dimension.as_str())
                .kind(TagKind::Dynamic)
                .description("lifecycle stage, kept by the lifecycle rules");
            store.check_new_tag(edit, &spec, missing.len())?;
            missing.push(spec);
        }
        for spec in missing {
            store.create_tag(edit, spec)?;
        }
        let mut ids = [TagId(0); 4];
        for (slot, name) in ids.iter_mut().zip(self.stage_tags()) {
            *slot = store.tag_id_in(&self.dimension, name)?;
        }
        Ok(ids)
    }
}
