//! Taxonomy governance: who may change the taxonomy, naming rules, and the change log.
//!
//! CRM tagging guides warn that teams fall apart without three things, and the store
//! provides all three:
//!
//! - **Permissions.** A [`Policy`] names the administrators (CRM tagging guides: one or two). Once
//!   it names any, only they may change the taxonomy: create, rename, merge, archive,
//!   delete tags, change a time-to-live, a description or a dimension's colour
//!   ([`TaxonomyAction`]), unless the policy opens an action to everyone. Assigning and
//!   removing tags and recording uses are not taxonomy changes: anyone may. A forbidden
//!   change is an [`ErrorKind::NotPermitted`] error and changes nothing.
//! - **Reasons.** Deleting and merging tags lose information, so both need a reason
//!   ([`Edit::because`]); without one they fail with [`ErrorKind::ReasonRequired`]. This
//!   holds with or without a policy.
//! - **Naming rules** ([`NamingRules`]), switched on by an administrator: a dimension
//!   prefix, a maximum length, forbidden characters. They are checked when a tag is created
//!   or renamed ([`ErrorKind::NamingRule`]); names that were there before the rules are left
//!   alone, and the health report lists them.
//!
//! Every change, policy changes included, is an entry of the change log
//! ([`Store::change_log`](crate::Store::change_log), [`Store::change_log_between`](crate::Store::change_log_between), [`Store::tag_history`](crate::Store::tag_history)): day,
//! actor, what changed and why.
//!
//! A store starts with [`Policy::open`]: no administrators, no naming rules. While the
//! policy is open anyone may set one; afterwards only an administrator may change it.
//!
//! ```
//! use audience::{Day, Edit, ErrorKind, NamingRules, Policy, Store, TagSpec};
//!
//! let day = Day::from_ymd(2025, 1, 6)?;
//! let mut store = Store::new();
//! let policy = Policy::administered_by(["mei"])?
//!     .with_naming(NamingRules::new().require_dimension_prefix().max_chars(30)?);
//! store.set_policy(&Edit::new("mei", day), policy)?;
//!
//! // Only an administrator creates tags...
//! let err = store
//!     .create_tag(&Edit::new("intern", day), TagSpec::new("stage/vip").dimension("stage"))
//!     .unwrap_err();
//! assert!(matches!(err.kind(), ErrorKind::NotPermitted { .. }));
//! assert_eq!(store.tag_count(), 0);
//!
//! // ...and names carry their dimension's prefix.
//! let mei = Edit::new("mei", day);
//! assert!(store.create_tag(&mei, TagSpec::new("vip").dimension("stage")).is_err());
//! let vip = store.create_tag(&mei, TagSpec::new("stage/vip").dimension("stage"))?;
//!
//! // Deleting needs a reason.
//! assert!(store.delete_tag(&mei, vip).is_err());
//! store.delete_tag(&mei.clone().because("replaced by the tier tags"), vip)?;
//! assert_eq!(store.change_log_between(day, day).count(), 3);
//! # Ok::<(), audience::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::base::fold::{
    MAX_NAME_CHARS, MAX_TEXT_CHARS, check_name, check_stored_name, fold, tidy,
};
use crate::base::text::{quote, quote_char};
use crate::day::Day;
use crate::error::{Error, ErrorKind, check_chars, err};

/// The most administrators a policy names (CRM tagging guides advise one or two).
pub const MAX_ADMINISTRATORS: usize = 64;
/// The most dimension prefixes naming rules set ([`NamingRules::prefix`]).
pub const MAX_PREFIXES: usize = 1024;
/// The most characters naming rules forbid ([`NamingRules::forbid_chars`]).
pub const MAX_FORBIDDEN_CHARS: usize = 256;

/// A kind of taxonomy change, as far as permissions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum TaxonomyAction {
    /// `Store::create_tag`.
    Create,
    /// `Store::rename_tag`.
    Rename,
    /// `Store::merge_tags`.
    Merge,
    /// `Store::archive_tag` and `Store::unarchive_tag`.
    Archive,
    /// `Store::delete_tag`.
    Delete,
    /// `Store::set_ttl`.
    ChangeTtl,
    /// `Store::describe_tag` and `Store::set_dimension_colour`.
    Describe,
}

impl TaxonomyAction {
    /// Every action.
    pub const ALL: [TaxonomyAction; 7] = [
        TaxonomyAction::Create,
        TaxonomyAction::Rename,
        TaxonomyAction::Merge,
        TaxonomyAction::Archive,
        TaxonomyAction::Delete,
        TaxonomyAction::ChangeTtl,
        TaxonomyAction::Describe,
    ];

    /// What the action does, as the object of "may": `"delete tags"`.
    pub fn describe(self) -> &'static str {
        match self {
            TaxonomyAction::Create => "create tags",
            TaxonomyAction::Rename => "rename tags",
            TaxonomyAction::Merge => "merge tags",
            TaxonomyAction::Archive => "archive tags",
            TaxonomyAction::Delete => "delete tags",
            TaxonomyAction::ChangeTtl => "change a tag's time-to-live",
            TaxonomyAction::Describe => "change descriptions and colours",
        }
    }
}

/// Who may change the taxonomy, and the naming rules for new names.
///
/// With no administrators the policy is *open*: anyone may make every change. Once it
/// names administrators, each [`TaxonomyAction`] needs one of them, unless the action is
/// [opened to everyone](Policy::allow_anyone). Actors are compared exactly (they are the
/// app's user ids).
///
/// ```
/// use audience::{Policy, TaxonomyAction};
///
/// let policy = Policy::administered_by(["mei", "somchai"])?.allow_anyone(TaxonomyAction::Create);
/// assert!(policy.permits("anyone", TaxonomyAction::Create));
/// assert!(!policy.permits("anyone", TaxonomyAction::Delete));
/// assert!(policy.permits("somchai", TaxonomyAction::Delete));
/// assert!(Policy::open().permits("anyone", TaxonomyAction::Delete));
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawPolicy"))]
pub struct Policy {
    administrators: Vec<String>,
    open_to_all: Vec<TaxonomyAction>,
    naming: NamingRules,
}

/// The serialised form of [`Policy`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawPolicy {
    administrators: Vec<String>,
    open_to_all: Vec<TaxonomyAction>,
    naming: NamingRules,
}

#[cfg(feature = "serde")]
impl TryFrom<RawPolicy> for Policy {
    type Error = Error;
    fn try_from(raw: RawPolicy) -> Result<Policy, Error> {
        let mut policy = if raw.administrators.is_empty() {
            Policy::open()
        } else {
            Policy::administered_by(raw.administrators)?
        };
        for action in raw.open_to_all {
            policy = policy.allow_anyone(action);
        }
        Ok(policy.with_naming(raw.naming))
    }
}

impl Policy {
    /// No administrators and no naming rules: anyone may change the taxonomy. A new store's
    /// policy.
    pub fn open() -> Policy {
        Policy::default()
    }

    /// Only these actors may change the taxonomy (duplicates count once). Refused with
    /// [`ErrorKind::InvalidSetting`] for no administrator (that is [`Policy::open`]), a
    /// blank or overlong name, or more than [`MAX_ADMINISTRATORS`].
    ///
    /// ```
    /// use audience::Policy;
    ///
    /// assert_eq!(
    ///     Policy::administered_by(["mei", " "]).unwrap_err().to_string(),
    ///     "invalid setting Policy::administered_by: an administrator's name must not be blank"
    /// );
    /// ```
    pub fn administered_by<I, S>(administrators: I) -> Result<Policy, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let bad = |reason: String| {
            err(ErrorKind::InvalidSetting {
                setting: "Policy::administered_by",
                reason,
            })
        };
        let mut names: Vec<String> = Vec::new();
        for a in administrators {
            let a: String = a.into();
            if a.trim().is_empty() {
                return bad("an administrator's name must not be blank".into());
            }
            let chars = a.chars().count();
            if chars > MAX_NAME_CHARS {
                return bad(format!(
                    "an administrator's name has at most {MAX_NAME_CHARS} characters, got {chars}"
                ));
            }
            names.push(a);
            if names.len() > MAX_ADMINISTRATORS {
                names.sort();
                names.dedup();
                if names.len() > MAX_ADMINISTRATORS {
                    return bad(format!(
                        "a policy names at most {MAX_ADMINISTRATORS} administrators"
                    ));
                }
            }
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            return bad(
                "name at least one administrator (a policy without any is Policy::open)".into(),
            );
        }
        Ok(Policy {
            administrators: names,
            ..Policy::default()
        })
    }

    /// Lets anyone take `action` (e.g. create tags), although there are administrators.
    pub fn allow_anyone(mut self, action: TaxonomyAction) -> Policy {
        if let Err(at) = self.open_to_all.binary_search(&action) {
            self.open_to_all.insert(at, action);
        }
        self
    }

    /// Sets the naming rules.
    pub fn with_naming(mut self, naming: NamingRules) -> Policy {
        self.naming = naming;
        self
    }

    /// The administrators, sorted, without duplicates. Empty: the policy is open.
    pub fn administrators(&self) -> &[String] {
        &self.administrators
    }

    /// Actions anyone may take although there are administrators, sorted.
    pub fn open_to_all(&self) -> &[TaxonomyAction] {
        &self.open_to_all
    }

    /// The rules for the names of new and renamed tags.
    pub fn naming(&self) -> &NamingRules {
        &self.naming
    }

    /// Whether the policy names no administrator (anyone may change the taxonomy).
    pub fn is_open(&self) -> bool {
        self.administrators.is_empty()
    }

    /// Whether `actor` is one of the administrators.
    pub fn is_administrator(&self, actor: &str) -> bool {
        self.administrators.iter().any(|a| a == actor)
    }

    /// Whether `actor` may take `action`.
    pub fn permits(&self, actor: &str, action: TaxonomyAction) -> bool {
        self.is_open() || self.is_administrator(actor) || self.open_to_all.contains(&action)
    }
}

/// The separators that may follow a dimension prefix: the punctuation a bare tag name may
/// contain in queries, so prefixed names never need quoting.
pub const PREFIX_SEPARATORS: [char; 4] = ['/', '-', '_', '.'];

/// Rules for tag names, checked when a tag is created or renamed. All off by default.
///
/// - **Dimension prefix**: the name starts with its dimension's prefix, then one of
///   [`PREFIX_SEPARATORS`] (`/ - _ .`), then at least one more character. The prefix is
///   the dimension's name unless [`NamingRules::prefix`] sets another (the dimension
///   `interests` may use the prefix `interest`). Prefixes compare like tag names (ignoring
///   case, width and extra spaces), so `Stage/VIP` has the prefix `stage`.
/// - **Maximum length** in characters, after trimming and collapsing whitespace.
/// - **Forbidden characters**, e.g. `,` (the import's tag separator) or `#`.
///
/// ```
/// use audience::NamingRules;
///
/// let rules = NamingRules::new()
///     .require_dimension_prefix()
///     .prefix("interests", "interest")?
///     .max_chars(24)?
///     .forbid_chars(",#")?;
/// assert!(rules.check("interest/cosmetics", "interests").is_ok());
/// assert!(rules.check("Stage-Purchased", "stage").is_ok());
/// assert_eq!(
///     rules.check("cosmetics", "interests").unwrap_err().to_string(),
///     "tag name \"cosmetics\" breaks a naming rule: names in dimension \"interests\" start with \
///      \"interest\" and one of / - _ . (e.g. \"interest/cosmetics\")"
/// );
/// assert_eq!(
///     rules.check("stage/vip,gold", "stage").unwrap_err().to_string(),
///     "tag name \"stage/vip,gold\" breaks a naming rule: the character ',' is not allowed"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawNamingRules"))]
pub struct NamingRules {
    dimension_prefix: bool,
    prefixes: BTreeMap<String, String>,
    max_chars: Option<usize>,
    forbidden_chars: Vec<char>,
}

/// The serialised form of [`NamingRules`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawNamingRules {
    dimension_prefix: bool,
    prefixes: BTreeMap<String, String>,
    max_chars: Option<usize>,
    forbidden_chars: Vec<char>,
}

#[cfg(feature = "serde")]
impl TryFrom<RawNamingRules> for NamingRules {
    type Error = Error;
    fn try_from(raw: RawNamingRules) -> Result<NamingRules, Error> {
        let mut rules = NamingRules::new();
        if raw.dimension_prefix {
            rules = rules.require_dimension_prefix();
        }
        for (dimension, prefix) in raw.prefixes {
            rules = rules.prefix(dimension, prefix)?;
        }
        if let Some(n) = raw.max_chars {
            rules = rules.max_chars(n)?;
        }
        rules.forbid_chars(&raw.forbidden_chars.into_iter().collect::<String>())
    }
}

impl NamingRules {
    /// No rules.
    pub fn new() -> NamingRules {
        NamingRules::default()
    }

    /// Names must start with their dimension's prefix and one of `/ - _ .`.
    pub fn require_dimension_prefix(mut self) -> NamingRules {
        self.dimension_prefix = true;
        self
    }

    /// Uses `prefix` instead of the dimension's name as its prefix. Refused with
    /// [`ErrorKind::InvalidSetting`] when the dimension or the prefix is not a valid name,
    /// the dimension has a prefix already (dimension names ignore case, width and extra
    /// spaces), or there would be more than [`MAX_PREFIXES`].
    pub fn prefix(
        self,
        dimension: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Result<NamingRules, Error> {
        self.prefix_checked(dimension.into(), prefix.into(), check_name)
    }

    /// [`NamingRules::prefix`] with the checks names read from an older snapshot pass, so
    /// that a prefix written before invisible characters were refused still loads.
    pub(crate) fn prefix_stored(
        self,
        dimension: String,
        prefix: String,
    ) -> Result<NamingRules, Error> {
        self.prefix_checked(dimension, prefix, check_stored_name)
    }

    fn prefix_checked(
        mut self,
        dimension: String,
        prefix: String,
        check: fn(&str) -> Result<(), String>,
    ) -> Result<NamingRules, Error> {
        let bad = |reason: String| {
            err(ErrorKind::InvalidSetting {
                setting: "NamingRules::prefix",
                reason,
            })
        };
        if let Err(reason) = check(&tidy(&dimension)) {
            return bad(format!(
                "the dimension {} is not a valid name: {reason}",
                quote(&dimension.chars().take(64).collect::<String>())
            ));
        }
        if let Err(reason) = check(&tidy(&prefix)) {
            return bad(format!(
                "the prefix of dimension {} is not a valid name: {reason}",
                quote(&dimension)
            ));
        }
        let key = fold(&dimension);
        if self.prefixes.keys().any(|d| fold(d) == key) {
            return bad(format!(
                "dimension {} has a prefix already (dimension names ignore case, width and \
                 extra spaces)",
                quote(&dimension)
            ));
        }
        if self.prefixes.len() >= MAX_PREFIXES {
            return bad(format!("naming rules set at most {MAX_PREFIXES} prefixes"));
        }
        self.prefixes.insert(dimension, prefix);
        Ok(self)
    }

    /// Names have at most `n` characters. Refused for 0.
    pub fn max_chars(mut self, n: usize) -> Result<NamingRules, Error> {
        if n == 0 {
            return err(ErrorKind::InvalidSetting {
                setting: "NamingRules::max_chars",
                reason: "a name's maximum length is at least 1 character".into(),
            });
        }
        self.max_chars = Some(n);
        Ok(self)
    }

    /// Names must not contain any character of `chars`. Refused beyond
    /// [`MAX_FORBIDDEN_CHARS`] different characters in all.
    pub fn forbid_chars(mut self, chars: &str) -> Result<NamingRules, Error> {
        let mut seen: std::collections::HashSet<char> =
            self.forbidden_chars.iter().copied().collect();
        for c in chars.chars() {
            if seen.insert(c) {
                if self.forbidden_chars.len() >= MAX_FORBIDDEN_CHARS {
                    return err(ErrorKind::InvalidSetting {
                        setting: "NamingRules::forbid_chars",
                        reason: format!(
                            "naming rules forbid at most {MAX_FORBIDDEN_CHARS} characters"
                        ),
                    });
                }
                self.forbidden_chars.push(c);
            }
        }
        Ok(self)
    }

    /// Whether names must start with their dimension's prefix.
    pub fn requires_dimension_prefix(&self) -> bool {
        self.dimension_prefix
    }

    /// Prefixes of dimensions whose prefix is not their name: dimension -> prefix.
    pub fn prefixes(&self) -> &BTreeMap<String, String> {
        &self.prefixes
    }

    /// The longest name allowed, in characters.
    pub fn char_limit(&self) -> Option<usize> {
        self.max_chars
    }

    /// Characters a name must not contain, in the order they were forbidden.
    pub fn forbidden_chars(&self) -> &[char] {
        &self.forbidden_chars
    }

    /// The prefix names of `dimension` must start with.
    pub fn prefix_of<'a>(&'a self, dimension: &'a str) -> &'a str {
        let key = fold(dimension);
        self.prefixes
            .iter()
            .find(|(d, _)| fold(d) == key)
            .map_or(dimension, |(_, p)| p.as_str())
    }

    /// Whether the rules are all off.
    pub fn is_empty(&self) -> bool {
        !self.dimension_prefix && self.max_chars.is_none() && self.forbidden_chars.is_empty()
    }

    /// Checks a tag name for `dimension` against the rules (the name is trimmed and its
    /// whitespace collapsed first, as the taxonomy does). Errors with
    /// [`ErrorKind::NamingRule`] naming the first rule broken.
    pub fn check(&self, name: &str, dimension: &str) -> Result<(), Error> {
        match self.broken(name, dimension) {
            None => Ok(()),
            Some(rule) => err(ErrorKind::NamingRule {
                name: tidy(name).chars().take(64).collect(),
                rule,
            }),
        }
    }

    /// The first rule `name` breaks, described.
    pub(crate) fn broken(&self, name: &str, dimension: &str) -> Option<String> {
        let name = tidy(name);
        if let Some(c) = name.chars().find(|c| self.forbidden_chars.contains(c)) {
            return Some(format!("the character {} is not allowed", quote_char(c)));
        }
        if let Some(max) = self.max_chars {
            let chars = name.chars().count();
            if chars > max {
                return Some(format!("at most {max} characters, this name has {chars}"));
            }
        }
        if self.dimension_prefix {
            let dimension = tidy(dimension);
            let prefix = tidy(self.prefix_of(&dimension));
            let folded = fold(&name);
            let ok = folded
                .strip_prefix(&fold(&prefix))
                .and_then(|rest| rest.strip_prefix(PREFIX_SEPARATORS))
                .is_some_and(|rest| !rest.is_empty());
            if !ok {
                return Some(format!(
                    "names in dimension {} start with {} and one of / - _ . (e.g. {})",
                    quote(&dimension),
                    quote(&prefix),
                    quote(&format!("{prefix}/{name}"))
                ));
            }
        }
        None
    }
}

/// Errors unless `edit` has a reason that is not blank.
pub(crate) fn require_reason(edit: &Edit, action: &'static str, tag: &str) -> Result<(), Error> {
    if edit.reason.as_deref().is_some_and(|r| !r.trim().is_empty()) {
        return Ok(());
    }
    err(ErrorKind::ReasonRequired {
        action,
        tag: tag.to_string(),
    })
}
/// Who changes the taxonomy, on which day, and why. Every taxonomy change takes one and
/// records it in the change log.
///
/// ```
/// use audience::{Day, Edit};
///
/// let edit = Edit::new("alice", Day::from_ymd(2025, 1, 6)?).because("spring campaign over");
/// assert_eq!(edit.actor, "alice");
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Edit {
    /// Who makes the change (at most [`MAX_NAME_CHARS`](crate::MAX_NAME_CHARS) characters).
    pub actor: String,
    /// The day of the change.
    pub day: Day,
    /// Why (free text, at most [`MAX_TEXT_CHARS`](crate::MAX_TEXT_CHARS) characters).
    pub reason: Option<String>,
}

impl Edit {
    /// A change by `actor` on `day`, without a reason.
    pub fn new(actor: impl Into<String>, day: Day) -> Edit {
        Edit {
            actor: actor.into(),
            day,
            reason: None,
        }
    }

    /// Adds the reason.
    pub fn because(mut self, reason: impl Into<String>) -> Edit {
        self.reason = Some(reason.into());
        self
    }

    /// Checks what the change log would keep: an actor of at most [`MAX_NAME_CHARS`]
    /// characters and a reason of at most [`MAX_TEXT_CHARS`]. Every taxonomy change checks
    /// its edit before it changes anything.
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_chars("actor length in characters", &self.actor, MAX_NAME_CHARS)?;
        if let Some(reason) = &self.reason {
            check_chars("reason length in characters", reason, MAX_TEXT_CHARS)?;
        }
        Ok(())
    }
}
