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
//! let policy = Policy::administered_by(["mei"])
//!     .with_naming(NamingRules::new().require_dimension_prefix().max_chars(30));
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

use crate::base::fold::{MAX_NAME_CHARS, MAX_TEXT_CHARS, check_chars, check_name, fold, tidy};
use crate::base::text::quote_char;
use crate::day::Day;
use crate::error::{Error, ErrorKind, err};

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
/// let policy = Policy::administered_by(["mei", "somchai"]).allow_anyone(TaxonomyAction::Create);
/// assert!(policy.permits("anyone", TaxonomyAction::Create));
/// assert!(!policy.permits("anyone", TaxonomyAction::Delete));
/// assert!(policy.permits("somchai", TaxonomyAction::Delete));
/// assert!(Policy::open().permits("anyone", TaxonomyAction::Delete));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Policy {
    /// The administrators, sorted, without duplicates. Empty: the policy is open.
    pub administrators: Vec<String>,
    /// Actions anyone may take although there are administrators, sorted.
    pub open_to_all: Vec<TaxonomyAction>,
    /// Rules for the names of new and renamed tags.
    pub naming: NamingRules,
}

impl Policy {
    /// No administrators and no naming rules: anyone may change the taxonomy. A new store's
    /// policy.
    pub fn open() -> Policy {
        Policy::default()
    }

    /// Only these actors may change the taxonomy.
    pub fn administered_by<I, S>(administrators: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut administrators: Vec<String> = administrators.into_iter().map(Into::into).collect();
        administrators.sort();
        administrators.dedup();
        Policy {
            administrators,
            ..Policy::default()
        }
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

    /// Checks that the policy can be applied: at most [`MAX_ADMINISTRATORS`] administrators,
    /// whose names are not blank and have at most [`MAX_NAME_CHARS`] characters; the naming
    /// rules are sound.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.administrators.len() > MAX_ADMINISTRATORS {
            return err(ErrorKind::LimitExceeded {
                what: "number of administrators",
                limit: MAX_ADMINISTRATORS as u64,
                actual: self.administrators.len() as u64,
            });
        }
        if self.administrators.iter().any(|a| a.trim().is_empty()) {
            return err(ErrorKind::InvalidArgument(
                "an administrator's name must not be blank".into(),
            ));
        }
        for a in &self.administrators {
            check_chars("administrator name length in characters", a, MAX_NAME_CHARS)?;
        }
        self.naming.validate()
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
///     .prefix("interests", "interest")
///     .max_chars(24)
///     .forbid_chars(",#");
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
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NamingRules {
    /// Names must start with their dimension's prefix and a separator.
    pub dimension_prefix: bool,
    /// Prefixes of dimensions whose prefix is not their name: dimension -> prefix.
    pub prefixes: BTreeMap<String, String>,
    /// The longest name allowed, in characters.
    pub max_chars: Option<usize>,
    /// Characters a name must not contain.
    pub forbidden_chars: Vec<char>,
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

    /// Uses `prefix` instead of the dimension's name as its prefix.
    pub fn prefix(
        mut self,
        dimension: impl Into<String>,
        prefix: impl Into<String>,
    ) -> NamingRules {
        self.prefixes.insert(dimension.into(), prefix.into());
        self
    }

    /// Names have at most `n` characters.
    pub fn max_chars(mut self, n: usize) -> NamingRules {
        self.max_chars = Some(n);
        self
    }

    /// Names must not contain any character of `chars` (at most [`MAX_FORBIDDEN_CHARS`]
    /// different ones in all, checked when the policy is set).
    pub fn forbid_chars(mut self, chars: &str) -> NamingRules {
        let mut seen: std::collections::HashSet<char> =
            self.forbidden_chars.iter().copied().collect();
        for c in chars.chars() {
            if seen.insert(c) {
                self.forbidden_chars.push(c);
            }
        }
        self
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
                    "names in dimension {dimension:?} start with {prefix:?} and one of / - _ . \
                     (e.g. {:?})",
                    format!("{prefix}/{name}")
                ));
            }
        }
        None
    }

    fn validate(&self) -> Result<(), Error> {
        if self.max_chars == Some(0) {
            return err(ErrorKind::InvalidArgument(
                "a naming rule's maximum length must be at least 1 character".into(),
            ));
        }
        if self.prefixes.len() > MAX_PREFIXES {
            return err(ErrorKind::LimitExceeded {
                what: "number of dimension prefixes",
                limit: MAX_PREFIXES as u64,
                actual: self.prefixes.len() as u64,
            });
        }
        if self.forbidden_chars.len() > MAX_FORBIDDEN_CHARS {
            return err(ErrorKind::LimitExceeded {
                what: "number of forbidden characters",
                limit: MAX_FORBIDDEN_CHARS as u64,
                actual: self.forbidden_chars.len() as u64,
            });
        }
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (dimension, prefix) in &self.prefixes {
            if let Err(reason) = check_name(&tidy(dimension)) {
                return err(ErrorKind::InvalidArgument(format!(
                    "a naming rule names the dimension {}, which is not a valid name: {reason}",
                    crate::error::quote(&dimension.chars().take(64).collect::<String>())
                )));
            }
            let key = fold(dimension);
            if !seen.insert(key) {
                return err(ErrorKind::InvalidArgument(format!(
                    "dimension {dimension:?} has two prefixes (dimension names ignore case, \
                     width and extra spaces)"
                )));
            }
            let tidy_prefix = tidy(prefix);
            if let Err(reason) = check_name(&tidy_prefix) {
                return err(ErrorKind::InvalidArgument(format!(
                    "the prefix of dimension {dimension:?} is not a valid name: {reason}"
                )));
            }
        }
        Ok(())
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
