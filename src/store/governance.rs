//! The store's governance entry points: the policy, its changes, the change log queries,
//! and the check every taxonomy change runs first (see [`crate::governance`]).

use crate::base::fold::{check_name, tidy};
use crate::day::Day;
use crate::error::{Error, ErrorKind, err};
use crate::store::Store;
use crate::store::policy::{Edit, Policy, TaxonomyAction};
use crate::store::taxonomy::{LogEntry, TagId};

impl Store {
    /// The taxonomy's policy (a new store's is [`Policy::open`]).
    pub fn policy(&self) -> &Policy {
        self.taxonomy().policy()
    }

    /// Replaces the policy. While the current policy is open anyone may set one; once it
    /// names administrators, only they may change it. The change is logged.
    ///
    /// ```
    /// use audience::{Day, Edit, Policy, Store};
    ///
    /// let day = Day::from_ymd(2025, 1, 6)?;
    /// let mut store = Store::new();
    /// store.set_policy(&Edit::new("it", day), Policy::administered_by(["mei"])?)?;
    /// let err = store.set_policy(&Edit::new("it", day), Policy::open()).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "actor \"it\" may not change the policy; ask an administrator (mei)"
    /// );
    /// store.set_policy(&Edit::new("mei", day), Policy::open())?;
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn set_policy(&mut self, edit: &Edit, policy: Policy) -> Result<(), Error> {
        edit.check()?;
        let current = self.policy();
        if !current.is_open() && !current.is_administrator(&edit.actor) {
            return err(ErrorKind::NotPermitted {
                actor: edit.actor.clone(),
                action: "change the policy",
                administrators: current.administrators().to_vec(),
            });
        }
        self.replace_policy(edit, policy);
        Ok(())
    }

    /// The change log entries dated `from` to `to`, both included, in log order (the order
    /// the changes were made).
    pub fn change_log_between(&self, from: Day, to: Day) -> impl Iterator<Item = &LogEntry> + '_ {
        self.change_log()
            .iter()
            .filter(move |e| from <= e.day && e.day <= to)
    }

    /// The change log entries that name `tag` (created, renamed, merged into or from...),
    /// in log order. Works for deleted tags too.
    pub fn tag_history(&self, tag: TagId) -> impl Iterator<Item = &LogEntry> + '_ {
        self.change_log()
            .iter()
            .filter(move |e| e.change.mentions(tag))
    }

    /// Errors unless the edit's texts are within their limits and the policy lets
    /// `edit.actor` take `action`. Every taxonomy change calls it before changing anything.
    pub(crate) fn govern(&self, edit: &Edit, action: TaxonomyAction) -> Result<(), Error> {
        edit.check()?;
        let policy = self.policy();
        if policy.permits(&edit.actor, action) {
            return Ok(());
        }
        err(ErrorKind::NotPermitted {
            actor: edit.actor.clone(),
            action: action.describe(),
            administrators: policy.administrators().to_vec(),
        })
    }

    /// Errors when a name that is otherwise valid breaks the policy's naming rules (an
    /// invalid name is left to the taxonomy's own checks and message).
    pub(crate) fn check_naming(&self, name: &str, dimension: &str) -> Result<(), Error> {
        if check_name(&tidy(name)).is_err() {
            return Ok(());
        }
        self.policy().naming().check(name, dimension)
    }
}
