//! The customer lifecycle that CRM tagging guides describe (new, growth, expected to churn)
//! as a preset of ordinary rules (see [`Lifecycle`]).

use crate::base::fold::{check_name, first_repeat, fold, tidy};
use crate::base::text::counted;
use crate::error::{Error, ErrorKind, err, quote};
use crate::query::{Expr, TagRef, attr};
use crate::rules::{Rule, RuleSet, Run, RunReport, TagSelector, TagTarget};
use crate::store::Store;
use crate::store::attribute::AttrKind;
use crate::store::taxonomy::{Edit, TagId, TagKind, TagSpec, dimensions};

/// The customer lifecycle that CRM tagging guides describe, as a preset of ordinary rules.
///
/// Counting days since a customer's first purchase (an attribute the app keeps):
///
/// | days since first purchase | stage tag |
/// |---|---|
/// | 0 to `new_days` (30) | "new customer" |
/// | `new_days + 1` to `growth_days` (31 to 90), opened a message in the last `open_window_days` (7) | "growth (high frequency)" |
/// | same window, no open in the last 7 days (or never) | "growth (low frequency)" |
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
/// gives an ordinary [`RuleSet`] ([`Lifecycle::run`] checks the attributes first and runs
/// it), to run alone or appended to other rules
/// ([`RuleSet::extend`]).
///
/// The growth stages were once named "growth, high frequency" and "growth, low frequency";
/// a comma separates tag names in customer lists, so tag names no longer hold one. A store
/// from a snapshot of that time keeps those tags: rename them to the names above
/// ([`Store::rename_tag`]), or give their names to [`Lifecycle::stage_tags`] (the preset
/// uses existing tags as they are).
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
/// lifecycle.run(&mut store, &Run::new(today))?;
/// assert!(store.members(new)?.contains(c));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawLifecycle"))]
pub struct Lifecycle {
    new_days: u32,
    growth_days: u32,
    open_window_days: u32,
    first_purchase: String,
    purchase_count: String,
    last_open: String,
    dimension: String,
    new_customer: String,
    growth_high: String,
    growth_low: String,
    expected_to_churn: String,
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
            growth_high: "growth (high frequency)".into(),
            growth_low: "growth (low frequency)".into(),
            expected_to_churn: "expected to churn".into(),
        }
    }
}

/// The serialised form of [`Lifecycle`] (every field optional), checked on the way in by
/// the same setters.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(default)]
struct RawLifecycle {
    new_days: u32,
    growth_days: u32,
    open_window_days: u32,
    first_purchase: String,
    purchase_count: String,
    last_open: String,
    dimension: String,
    new_customer: String,
    growth_high: String,
    growth_low: String,
    expected_to_churn: String,
}

#[cfg(feature = "serde")]
impl Default for RawLifecycle {
    fn default() -> RawLifecycle {
        let d = Lifecycle::default();
        RawLifecycle {
            new_days: d.new_days,
            growth_days: d.growth_days,
            open_window_days: d.open_window_days,
            first_purchase: d.first_purchase,
            purchase_count: d.purchase_count,
            last_open: d.last_open,
            dimension: d.dimension,
            new_customer: d.new_customer,
            growth_high: d.growth_high,
            growth_low: d.growth_low,
            expected_to_churn: d.expected_to_churn,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<RawLifecycle> for Lifecycle {
    type Error = Error;
    fn try_from(raw: RawLifecycle) -> Result<Lifecycle, Error> {
        Lifecycle::default()
            .stages(raw.new_days, raw.growth_days)?
            .open_window_days(raw.open_window_days)
            .attributes(&raw.first_purchase, &raw.purchase_count, &raw.last_open)?
            .dimension(&raw.dimension)?
            .stage_tags(
                &raw.new_customer,
                &raw.growth_high,
                &raw.growth_low,
                &raw.expected_to_churn,
            )
    }
}

/// A name the setting `setting` accepts (see [`check_name`]), tidied.
fn setting_name(setting: &'static str, name: &str) -> Result<String, Error> {
    let tidied = tidy(name);
    check_name(&tidied).map_err(|reason| ErrorKind::InvalidSetting {
        setting,
        reason: format!(
            "{} is not a valid name: {reason}",
            quote(&name.chars().take(64).collect::<String>())
        ),
    })?;
    Ok(tidied)
}

impl Lifecycle {
    /// The stage bounds, in days since the first purchase: "new customer" up to
    /// `new_days` (default 30), the growth stages up to `growth_days` (default 90), then
    /// "expected to churn" without a second purchase. Refused unless `new_days <
    /// growth_days`.
    ///
    /// ```
    /// use audience::Lifecycle;
    ///
    /// let weekly = Lifecycle::default().stages(14, 60)?;
    /// assert_eq!(
    ///     Lifecycle::default().stages(90, 90).unwrap_err().to_string(),
    ///     "invalid setting Lifecycle::stages: the new-customer stage (90 days) must end before \
    ///      the growth stage (90 days)"
    /// );
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn stages(mut self, new_days: u32, growth_days: u32) -> Result<Lifecycle, Error> {
        if new_days >= growth_days {
            return err(ErrorKind::InvalidSetting {
                setting: "Lifecycle::stages",
                reason: format!(
                    "the new-customer stage ({}) must end before the growth stage ({})",
                    counted(u64::from(new_days), "day", "days"),
                    counted(u64::from(growth_days), "day", "days")
                ),
            });
        }
        self.new_days = new_days;
        self.growth_days = growth_days;
        Ok(self)
    }

    /// A growth customer is high-frequency when the last open is at most this many days
    /// ago (default 7).
    pub fn open_window_days(mut self, days: u32) -> Lifecycle {
        self.open_window_days = days;
        self
    }

    /// The attributes the rules read: the day of the first purchase (default
    /// `first_purchase_day`), the number of purchases (default `purchase_count`) and the
    /// day of the last message opened (default `last_open`). Refused when a name is not a
    /// valid name; a name the store does not have fails [`Lifecycle::check`] and
    /// [`Lifecycle::run`], naming this setting.
    pub fn attributes(
        mut self,
        first_purchase: &str,
        purchase_count: &str,
        last_open: &str,
    ) -> Result<Lifecycle, Error> {
        let setting = "Lifecycle::attributes";
        self.first_purchase = setting_name(setting, first_purchase)?;
        self.purchase_count = setting_name(setting, purchase_count)?;
        self.last_open = setting_name(setting, last_open)?;
        Ok(self)
    }

    /// The dimension of the stage tags (default `stage`).
    pub fn dimension(mut self, dimension: &str) -> Result<Lifecycle, Error> {
        self.dimension = setting_name("Lifecycle::dimension", dimension)?;
        Ok(self)
    }

    /// The four stage tags' names: new customer, growth with recent opens, growth without,
    /// expected to churn. Refused when a name is not a valid tag name or two are the same
    /// name.
    pub fn stage_tags(
        mut self,
        new_customer: &str,
        growth_high: &str,
        growth_low: &str,
        expected_to_churn: &str,
    ) -> Result<Lifecycle, Error> {
        let setting = "Lifecycle::stage_tags";
        let names = [new_customer, growth_high, growth_low, expected_to_churn];
        let mut tidied = Vec::with_capacity(4);
        for name in names {
            tidied.push(setting_name(setting, name)?);
        }
        if let Some(i) = first_repeat(tidied.iter().map(String::as_str)) {
            return err(ErrorKind::InvalidSetting {
                setting,
                reason: format!("two stages are named {}", quote(names[i])),
            });
        }
        let [a, b, c, d]: [String; 4] = tidied.try_into().unwrap_or_default();
        self.new_customer = a;
        self.growth_high = b;
        self.growth_low = c;
        self.expected_to_churn = d;
        Ok(self)
    }

    /// The stage tags in order: new customer, growth high, growth low, expected to churn.
    fn stage_names(&self) -> [&str; 4] {
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
        for t in self.stage_names() {
            if Some(t) == keep {
                rule.add.push(TagTarget::Tag(self.tag(t)));
            } else {
                rule.remove.push(TagSelector::Tag(self.tag(t)));
            }
        }
        rule
    }

    /// The five rules of the preset, in this order: "lifecycle: new customer",
    /// "lifecycle: growth (high frequency)", "lifecycle: growth (low frequency)",
    /// "lifecycle: expected to churn", "lifecycle: retained".
    pub fn rules(&self) -> RuleSet {
        let first = || attr(self.first_purchase.as_str());
        let new_window = first().within_days(self.new_days);
        let growth_window = first()
            .before_days(self.new_days)
            .and(first().within_days(self.growth_days));
        let after = first().before_days(self.growth_days);
        let opened = attr(self.last_open.as_str()).within_days(self.open_window_days);
        let repeat = attr(self.purchase_count.as_str()).ge(2);
        RuleSet::new()
            .rule(self.stage_rule(
                "lifecycle: new customer",
                new_window,
                Some(&self.new_customer),
            ))
            .rule(self.stage_rule(
                "lifecycle: growth (high frequency)",
                growth_window.clone().and(opened.clone()),
                Some(&self.growth_high),
            ))
            .rule(self.stage_rule(
                "lifecycle: growth (low frequency)",
                growth_window.exclude(opened),
                Some(&self.growth_low),
            ))
            .rule(self.stage_rule(
                "lifecycle: expected to churn",
                after.clone().exclude(repeat.clone()),
                Some(&self.expected_to_churn),
            ))
            .rule(self.stage_rule("lifecycle: retained", after.and(repeat), None))
    }

    /// Checks that the store has the attributes the rules read, of the right kinds: an
    /// error names the setting ([`Lifecycle::attributes`]) and how to change it.
    ///
    /// ```
    /// use audience::{AttrKind, Lifecycle, Store};
    ///
    /// let mut store = Store::new();
    /// store.define_attribute("first_purchase_day", AttrKind::Day)?;
    /// store.define_attribute("purchase_count", AttrKind::Int)?;
    /// assert_eq!(
    ///     Lifecycle::default().check(&store).unwrap_err().to_string(),
    ///     "unknown attribute \"last_open\" (Lifecycle::attributes reads it; set \
    ///      Lifecycle::attributes(..) to your column)"
    /// );
    /// store.define_attribute("last_opened", AttrKind::Day)?;
    /// Lifecycle::default()
    ///     .attributes("first_purchase_day", "purchase_count", "last_opened")?
    ///     .check(&store)?;
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn check(&self, store: &Store) -> Result<(), Error> {
        let setting = "Lifecycle::attributes";
        store.setting_attribute(setting, &self.first_purchase, AttrKind::Day)?;
        store.setting_attribute(setting, &self.purchase_count, AttrKind::Int)?;
        store.setting_attribute(setting, &self.last_open, AttrKind::Day)?;
        Ok(())
    }

    /// Runs the preset's rules ([`Lifecycle::rules`]) after [`Lifecycle::check`]: an
    /// attribute missing from the store names the setting instead of a rule.
    pub fn run(&self, store: &mut Store, run: &Run<'_>) -> Result<RunReport, Error> {
        self.check(store)?;
        self.rules().run(store, run)
    }

    /// Creates the stage tags that do not exist yet in the preset's dimension (kind
    /// dynamic) and returns all four: new customer, growth high, growth low, expected to
    /// churn. Checks every tag first: on error nothing has changed.
    pub fn create_tags(&self, store: &mut Store, edit: &Edit) -> Result<[TagId; 4], Error> {
        let mut missing = Vec::new();
        for name in self.stage_names() {
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
        store.batch(|store| {
            for spec in missing {
                store.create_tag(edit, spec)?;
            }
            Ok(())
        })?;
        let mut ids = [TagId(0); 4];
        for (slot, name) in ids.iter_mut().zip(self.stage_names()) {
            *slot = store.tag_id_in(&self.dimension, name)?;
        }
        Ok(ids)
    }
}
