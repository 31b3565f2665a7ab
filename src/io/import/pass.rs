//! The validation pass and the plan: every row read, keyed and resolved before anything
//! changes, then the diff that the apply step carries out.

use super::*;

/// A tag the file refers to: an existing one or one to create.
#[derive(Debug)]
pub(super) enum SlotTag {
    Existing(TagId),
    New { name: String, dimension: String },
}

/// One referenced tag and the customers the file gives it.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) tag: SlotTag,
    /// Existing customers (any order while parsing; the bitmap `wanted` afterwards).
    pub(super) existing: Vec<CustomerId>,
    pub(super) wanted: RoaringBitmap,
    /// Indices into `Plan::new_keys`, ascending.
    pub(super) fresh: Vec<u32>,
}

impl Slot {
    pub(super) fn is_empty(&self) -> bool {
        self.existing.is_empty() && self.wanted.is_empty() && self.fresh.is_empty()
    }
}

/// A tag name's resolution, cached per spelling.
#[derive(Clone, Debug)]
pub(super) enum Resolved {
    Slot(u32),
    Fail(FailureReason),
}

/// The validated batch: the report, and what applying it does.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) report: ImportReport,
    pub(super) new_keys: Vec<CustomerKey>,
    pub(super) slots: Vec<Slot>,
    pub(super) removals: Vec<(TagId, RoaringBitmap)>,
}

/// A tag name of a row that could not be used, as the first pass records it: its column
/// (from 1) and its spelling's index in `Pass::spellings` (whose resolution says why).
#[derive(Clone, Copy, Debug)]
pub(super) struct TagFail {
    pub(super) column: u32,
    pub(super) spelling: u32,
}

/// One data row that passed its key, as the first pass records it.
#[derive(Debug)]
pub(super) struct RowRec {
    pub(super) line: u64,
    /// The phone digits, or for member ids the index in `Pass::members` of the id (the
    /// same for every row of one id): rows with equal keys are duplicates.
    pub(super) key: u64,
    /// Its tags' slots: `Pass::row_tags[tags.0..tags.1]`.
    pub(super) tags: (u32, u32),
    /// Its tag failures: `Pass::row_fails[fails.0..fails.1]`.
    pub(super) fails: (u32, u32),
    /// The key as written, `Pass::raw[raw.0..raw.1]`, when it differs from the key's
    /// digits (for reporting duplicates).
    pub(super) raw: (u32, u32),
    /// Skipped for its tag failures (reject policy, overwrite mode).
    pub(super) skip: bool,
}

/// State of the validation pass.
///
/// Rows are recorded first and deduplicated afterwards by sorting `(key, row)` pairs:
/// sequential work, where a hash set of the keys seen costs a cache miss per row (measured
/// 4x slower at 1M rows).
pub(super) struct Pass<'a> {
    pub(super) opts: &'a Importer,
    pub(super) store: &'a Store,
    pub(super) create_dimension: Option<String>,
    pub(super) report: ImportReport,
    pub(super) rows: Vec<RowRec>,
    pub(super) row_tags: Vec<u32>,
    /// Reused while deduplicating a row's tags and failures.
    pub(super) scratch: Vec<u32>,
    pub(super) fail_scratch: Vec<(u32, usize, TagFail)>,
    pub(super) row_fails: Vec<TagFail>,
    pub(super) raw: String,
    /// Member ids, distinct, with their index.
    pub(super) members: Vec<String>,
    pub(super) member_index: HashMap<String, u64>,
    /// Whether the store has no customer id yet (lookups can be skipped).
    pub(super) store_empty: bool,
    /// Index in `spellings` per trimmed spelling.
    pub(super) names: HashMap<Box<str>, u32>,
    /// Every distinct trimmed spelling and its resolution, at most [`MAX_TAG_NAMES`].
    pub(super) spellings: Vec<(Box<str>, Resolved)>,
    /// Slot per existing tag, and per (folded dimension, folded name) of a tag to create.
    pub(super) existing_slots: HashMap<TagId, u32>,
    pub(super) new_slots: HashMap<(String, String), u32>,
    pub(super) slots: Vec<Slot>,
    pub(super) new_keys: Vec<CustomerKey>,
    /// Existing customers of imported rows, and those of them whose tags are overwritten.
    pub(super) imported_existing: u64,
    pub(super) overwritten: Vec<CustomerId>,
}

impl<'a> Pass<'a> {
    pub(super) fn new(
        opts: &'a Importer,
        store: &'a Store,
        create_dimension: Option<String>,
    ) -> Pass<'a> {
        let bp = (opts.max_failed_share * 10_000.0).round() as u32;
        Pass {
            opts,
            store,
            create_dimension,
            report: ImportReport {
                failure_limit_basis_points: bp,
                key_column: 1,
                ..ImportReport::default()
            },
            rows: Vec::new(),
            row_tags: Vec::new(),
            scratch: Vec::new(),
            fail_scratch: Vec::new(),
            row_fails: Vec::new(),
            raw: String::new(),
            members: Vec::new(),
            member_index: HashMap::new(),
            store_empty: store.id_space() == 0,
            names: HashMap::new(),
            spellings: Vec::new(),
            existing_slots: HashMap::new(),
            new_slots: HashMap::new(),
            slots: Vec::new(),
            new_keys: Vec::new(),
            imported_existing: 0,
            overwritten: Vec::new(),
        }
    }

    /// First pass over one data row: its key, its tags, its failures. Errors only when the
    /// file lists more than [`MAX_TAG_NAMES`] different tag names.
    pub(super) fn row(
        &mut self,
        cols: &Columns,
        line: u64,
        fields: &Record<'_>,
    ) -> Result<(), ImportError> {
        self.report.rows_read += 1;
        if self.report.rows_read > self.opts.max_rows {
            return Ok(()); // only counted: the batch will be refused
        }
        if fields.len() > cols.named_until || !cols.blank_named.is_empty() {
            self.unnamed(cols, line, fields);
        }
        let raw_key = trim(fields.get(cols.key).map_or("", field_str));
        let row_country = match cols.country {
            Some(at) if self.opts.key_kind == KeyKind::Phone => {
                let cell = trim(fields.get(at).map_or("", field_str));
                match cell {
                    "" => None,
                    cell => match country_of_cell(cell) {
                        Some(country) => Some(country),
                        None => {
                            self.skip_row(Failure {
                                line,
                                column: column_number(at),
                                field: Field::Country,
                                value: clip(cell),
                                reason: FailureReason::UnknownCountry,
                                effect: Effect::RowSkipped,
                            });
                            return Ok(());
                        }
                    },
                }
            }
            _ => None,
        };
        let key = match self.parse_key(raw_key, row_country) {
            Ok((key, parsed)) => {
                if let Some(parsed) = parsed {
                    self.warn(line, cols.key, raw_key, &parsed);
                }
                key
            }
            Err(reason) => {
                let failure = Failure {
                    line,
                    column: column_number(cols.key),
                    field: self.key_field(),
                    value: clip(raw_key),
                    reason,
                    effect: Effect::RowSkipped,
                };
                self.report.rows_failed += 1;
                self.report.rows_skipped += 1;
                self.push_failure(failure);
                return Ok(());
            }
        };
        let start = self.raw.len() as u32;
        let key = match key {
            CustomerKey::Phone(p) => {
                if !same_digits(raw_key, p) {
                    self.raw.push_str(&clip(raw_key));
                }
                p
            }
            CustomerKey::Member(m) => match self.member_index.get(m.as_str()) {
                Some(&i) => i,
                None => {
                    let i = self.members.len() as u64;
                    self.member_index.insert(m.clone(), i);
                    self.members.push(m);
                    i
                }
            },
        };
        let raw = (start, self.raw.len() as u32);

        let tags_start = self.row_tags.len() as u32;
        let fails_start = self.row_fails.len() as u32;
        if let Some(tags_at) = cols.tags {
            let last = if cols.extra_tags {
                fields.len()
            } else {
                tags_at.saturating_add(1).min(fields.len())
            };
            for at in tags_at..last {
                let cell = fields.get(at).map_or("", field_str);
                for name in cell.split(TAG_SEPARATORS) {
                    let name = trim(name);
                    if name.is_empty() {
                        continue;
                    }
                    let spelling = self.resolve(name, line)?;
                    match self.spellings.get(spelling as usize).map(|(_, r)| r) {
                        Some(Resolved::Slot(slot)) => self.row_tags.push(*slot),
                        _ => self.row_fails.push(TagFail {
                            column: column_number(at),
                            spelling,
                        }),
                    }
                }
            }
            // A tag listed twice counts once (sorting, not a scan per tag: a row may list
            // thousands).
            if self.row_tags.len() > tags_start as usize + 1 {
                self.scratch.clear();
                self.scratch
                    .extend(self.row_tags.drain(tags_start as usize..));
                self.scratch.sort_unstable();
                self.scratch.dedup();
                self.row_tags.extend_from_slice(&self.scratch);
            }
        }
        // A name that fails twice in a row is one failure, at its first place.
        if self.row_fails.len() > fails_start as usize + 1 {
            self.fail_scratch.clear();
            self.fail_scratch.extend(
                self.row_fails
                    .drain(fails_start as usize..)
                    .enumerate()
                    .map(|(i, f)| (f.spelling, i, f)),
            );
            self.fail_scratch.sort_unstable_by_key(|&(s, i, _)| (s, i));
            self.fail_scratch.dedup_by_key(|&mut (s, _, _)| s);
            self.fail_scratch.sort_unstable_by_key(|&(_, i, _)| i);
            self.row_fails
                .extend(self.fail_scratch.iter().map(|&(_, _, f)| f));
        }
        let failed = self.row_fails.len() as u32 > fails_start;
        self.rows.push(RowRec {
            line,
            key,
            tags: (tags_start, self.row_tags.len() as u32),
            fails: (fails_start, self.row_fails.len() as u32),
            raw,
            skip: failed
                && (self.opts.mode == TagMode::Overwrite
                    || self.opts.unknown_tags == UnknownTags::Reject),
        });
        Ok(())
    }

    /// Records the values of a row in columns without a header that are not read.
    pub(super) fn unnamed(&mut self, cols: &Columns, line: u64, fields: &Record<'_>) {
        let past = cols.named_until..fields.len();
        for at in cols.blank_named.iter().copied().chain(past) {
            if cols.is_read(at) {
                continue;
            }
            let Some(field) = fields.get(at).filter(|f| !blank(f)) else {
                continue;
            };
            let column = column_number(at);
            let ignored = &mut self.report.ignored_columns;
            match ignored.binary_search_by_key(&column, |c| c.column) {
                Ok(i) => {
                    if let Some(c) = ignored.get_mut(i) {
                        c.rows += 1;
                    }
                }
                Err(i) => ignored.insert(
                    i,
                    IgnoredColumn {
                        column,
                        rows: 1,
                        first_line: line,
                        first_value: clip(trim(field_str(field))),
                    },
                ),
            }
        }
    }

    /// Second pass, in row order: duplicates out (first occurrence wins), failures
    /// counted, customers looked up, memberships gathered per tag.
    pub(super) fn settle(&mut self) {
        let mut order: Vec<(u64, u32)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key, i as u32))
            .collect();
        order.sort_unstable();
        let mut first_of: Vec<u32> = vec![u32::MAX; self.rows.len()];
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            if let [(_, first), rest @ ..] = group {
                for (_, r) in rest {
                    if let Some(f) = first_of.get_mut(*r as usize) {
                        *f = *first;
                    }
                }
            }
        }
        drop(order);

        let rows = std::mem::take(&mut self.rows);
        let row_fails = std::mem::take(&mut self.row_fails);
        // Key failures were listed (up to the limit) in the first pass, tag failures are
        // listed now: both in line order, merged below.
        let mut tag_failures: Vec<Failure> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let first = first_of.get(i).copied().unwrap_or(u32::MAX);
            if first != u32::MAX {
                let first_line = rows.get(first as usize).map_or(0, |r| r.line);
                let value = match self.raw.get(row.raw.0 as usize..row.raw.1 as usize) {
                    Some(raw) if !raw.is_empty() => raw.to_string(),
                    _ => self.key_text(row.key),
                };
                self.report.rows_skipped += 1;
                self.report.duplicates.push(Duplicate {
                    line: row.line,
                    first_line,
                    value,
                });
                continue;
            }
            let fails = row_fails
                .get(row.fails.0 as usize..row.fails.1 as usize)
                .unwrap_or_default();
            if !fails.is_empty() {
                self.report.rows_failed += 1;
                for f in fails {
                    let Some((name, Resolved::Fail(reason))) =
                        self.spellings.get(f.spelling as usize)
                    else {
                        continue;
                    };
                    *self.report.failure_counts.entry(reason.kind()).or_insert(0) += 1;
                    if tag_failures.len() < MAX_LISTED_FAILURES {
                        tag_failures.push(Failure {
                            line: row.line,
                            column: f.column,
                            field: Field::Tags,
                            value: clip(name),
                            reason: reason.clone(),
                            effect: if row.skip {
                                Effect::RowSkipped
                            } else {
                                Effect::TagIgnored
                            },
                        });
                    }
                }
            }
            if row.skip {
                self.report.rows_skipped += 1;
                continue;
            }
            self.report.rows_imported += 1;
            let key = match self.opts.key_kind {
                KeyKind::Phone => CustomerKey::Phone(row.key),
                KeyKind::MemberId => CustomerKey::Member(self.key_text(row.key)),
            };
            let existing = if self.store_empty {
                None
            } else {
                self.store.customer(&key)
            };
            let tags = self
                .row_tags
                .get(row.tags.0 as usize..row.tags.1 as usize)
                .unwrap_or_default();
            match existing {
                Some(id) => {
                    self.imported_existing += 1;
                    if self.opts.mode == TagMode::Overwrite && !tags.is_empty() {
                        self.overwritten.push(id);
                    }
                    for &slot in tags {
                        if let Some(s) = self.slots.get_mut(slot as usize) {
                            s.existing.push(id);
                        }
                    }
                }
                None => {
                    let index = self.new_keys.len() as u32;
                    self.new_keys.push(key);
                    for &slot in tags {
                        if let Some(s) = self.slots.get_mut(slot as usize) {
                            s.fresh.push(index);
                        }
                    }
                }
            }
        }
        // The first failures in line order: among the first of either kind.
        self.report.failures.append(&mut tag_failures);
        self.report.failures.sort_by_key(|f| (f.line, f.column));
        self.report.failures.truncate(MAX_LISTED_FAILURES);
    }

    /// The text of a recorded key: phone digits or the member id.
    pub(super) fn key_text(&self, key: u64) -> String {
        match self.opts.key_kind {
            KeyKind::Phone => key.to_string(),
            KeyKind::MemberId => self
                .members
                .get(usize::try_from(key).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Records a row skipped for one failure.
    pub(super) fn skip_row(&mut self, failure: Failure) {
        self.report.rows_failed += 1;
        self.report.rows_skipped += 1;
        self.push_failure(failure);
    }

    /// The warnings of a number read: its extension, a line that is not a mobile, another
    /// country's code.
    pub(super) fn warn(&mut self, line: u64, at: usize, raw: &str, parsed: &ParsedPhone) {
        let phone = parsed.phone;
        if let Some(extension) = parsed.extension {
            let extension = extension.to_string();
            self.push_warning(line, at, raw, WarningReason::Extension { phone, extension });
        }
        if parsed.line_type.is_mobile_unlikely() {
            let line_type = parsed.line_type;
            self.push_warning(line, at, raw, WarningReason::NotMobile { phone, line_type });
        }
        if parsed.read_as == Reading::OtherCountryCode {
            self.push_warning(line, at, raw, WarningReason::OtherCountryCode { phone });
        }
    }

    fn push_warning(&mut self, line: u64, at: usize, raw: &str, reason: WarningReason) {
        *self.report.warning_counts.entry(reason.kind()).or_insert(0) += 1;
        if self.report.warnings.len() < MAX_LISTED_FAILURES {
            self.report.warnings.push(Warning {
                line,
                column: column_number(at),
                value: clip(raw),
                reason,
            });
        }
    }

    /// Counts a failure, and lists it while fewer than [`MAX_LISTED_FAILURES`] are.
    pub(super) fn push_failure(&mut self, failure: Failure) {
        *self
            .report
            .failure_counts
            .entry(failure.reason.kind())
            .or_insert(0) += 1;
        if self.report.failures.len() < MAX_LISTED_FAILURES {
            self.report.failures.push(failure);
        }
    }

    pub(super) fn key_field(&self) -> Field {
        match self.opts.key_kind {
            KeyKind::Phone => Field::Phone,
            KeyKind::MemberId => Field::MemberId,
        }
    }

    /// The row's key, and for a phone number how it was read (for the warnings).
    pub(super) fn parse_key(
        &self,
        raw: &str,
        row_country: Option<Country>,
    ) -> Result<(CustomerKey, Option<ParsedPhone>), FailureReason> {
        let value = trim(raw);
        match self.opts.key_kind {
            KeyKind::Phone => {
                let value = value.strip_prefix('\'').unwrap_or(value);
                let one;
                let countries = match row_country {
                    Some(country) => {
                        one = [country];
                        &one[..]
                    }
                    None => &self.opts.countries[..],
                };
                match read_phone(value, countries) {
                    Ok(parsed) => Ok((CustomerKey::from(parsed.phone), Some(parsed))),
                    Err(_) if scientific(value) => Err(FailureReason::ScientificNotation),
                    Err(e) => Err(FailureReason::InvalidPhone(e)),
                }
            }
            KeyKind::MemberId => CustomerKey::member(value)
                .map(|key| (key, None))
                .map_err(|e| match e.into_kind() {
                    ErrorKind::InvalidKey { reason, .. } => {
                        FailureReason::InvalidMemberId { reason }
                    }
                    other => FailureReason::InvalidMemberId {
                        reason: other.to_string(),
                    },
                }),
        }
    }

    /// Resolves a trimmed tag name once per spelling; returns the spelling's index. Errors
    /// on the spelling after the first [`MAX_TAG_NAMES`].
    pub(super) fn resolve(&mut self, name: &str, line: u64) -> Result<u32, ImportError> {
        if let Some(&i) = self.names.get(name) {
            return Ok(i);
        }
        if self.spellings.len() >= MAX_TAG_NAMES {
            return Err(ImportError::TooManyTagNames {
                line,
                limit: MAX_TAG_NAMES as u64,
            });
        }
        let r = self.resolve_uncached(name);
        let i = self.spellings.len() as u32;
        self.spellings.push((Box::from(name), r));
        self.names.insert(Box::from(name), i);
        Ok(i)
    }

    pub(super) fn resolve_uncached(&mut self, name: &str) -> Resolved {
        let err = match self.store.tag_id(name) {
            Ok(id) => {
                return match self.store.tag(id) {
                    Ok(info) if info.archived => Resolved::Fail(FailureReason::ArchivedTag),
                    Ok(_) => Resolved::Slot(self.existing_slot(id)),
                    Err(e) => Resolved::Fail(FailureReason::InvalidTagName {
                        reason: e.to_string(),
                    }),
                };
            }
            Err(e) => e.into_kind(),
        };
        match err {
            ErrorKind::UnknownTag { suggestion, .. } => match &self.create_dimension {
                // A near miss of an existing name is a typo far more often than a new tag:
                // creating it would make two tags of one meaning.
                Some(_) if suggestion.is_some() && name.chars().count() >= NEAR_MISS_CHARS => {
                    Resolved::Fail(FailureReason::UnknownTag { suggestion })
                }
                Some(dimension) => self.new_slot(name, dimension.clone()),
                None => Resolved::Fail(FailureReason::UnknownTag { suggestion }),
            },
            ErrorKind::AmbiguousTag { dimensions, .. } => {
                Resolved::Fail(FailureReason::AmbiguousTag { dimensions })
            }
            other => Resolved::Fail(FailureReason::InvalidTagName {
                reason: other.to_string(),
            }),
        }
    }

    pub(super) fn existing_slot(&mut self, id: TagId) -> u32 {
        if let Some(&slot) = self.existing_slots.get(&id) {
            return slot;
        }
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            tag: SlotTag::Existing(id),
            existing: Vec::new(),
            wanted: RoaringBitmap::new(),
            fresh: Vec::new(),
        });
        self.existing_slots.insert(id, slot);
        slot
    }

    /// A tag to create: `dim:name` goes to `dim` when that dimension exists (the way
    /// [`Store::tag_id`] reads it later), anything else to the configured dimension.
    pub(super) fn new_slot(&mut self, raw: &str, dimension: String) -> Resolved {
        let (dimension, name) = match raw.split_once(':') {
            Some((dim, rest)) => match self
                .store
                .dimensions()
                .iter()
                .find(|d| fold(&d.name) == fold(dim))
            {
                Some(d) => (d.name.clone(), rest),
                None => (dimension, raw),
            },
            None => (dimension, raw),
        };
        let name = tidy(name);
        if let Err(reason) = check_name(&name) {
            return Resolved::Fail(FailureReason::InvalidTagName { reason });
        }
        if let Err(e) = self.store.check_naming(&name, &dimension) {
            return Resolved::Fail(match e.into_kind() {
                ErrorKind::NamingRule { rule, .. } => FailureReason::NamingRule { rule },
                other => FailureReason::InvalidTagName {
                    reason: other.to_string(),
                },
            });
        }
        let key = (fold(&dimension), fold(&name));
        if let Some(&slot) = self.new_slots.get(&key) {
            return Resolved::Slot(slot);
        }
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            tag: SlotTag::New { name, dimension },
            existing: Vec::new(),
            wanted: RoaringBitmap::new(),
            fresh: Vec::new(),
        });
        self.new_slots.insert(key, slot);
        Resolved::Slot(slot)
    }

    /// Checks the limits applying depends on and computes what it will change.
    pub(super) fn finish(mut self, edit: &Edit) -> Result<Plan, Error> {
        self.settle();
        let Pass {
            opts,
            store,
            mut report,
            mut slots,
            new_keys,
            imported_existing,
            overwritten,
            ..
        } = self;

        // Tags to create: those some imported row lists.
        let created: Vec<String> = slots
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| match &s.tag {
                SlotTag::New { name, .. } => Some(name.clone()),
                SlotTag::Existing(_) => None,
            })
            .collect();
        if created.len() as u64 > opts.max_new_tags {
            return Err(ImportError::TooManyNewTags {
                count: created.len() as u64,
                limit: opts.max_new_tags,
            }
            .into());
        }
        let tag_space = store.tag_id_space() as u64;
        if tag_space + created.len() as u64 > MAX_TAGS as u64 {
            return Err(ErrorKind::LimitExceeded {
                what: "number of tags",
                limit: MAX_TAGS as u64,
                actual: tag_space + created.len() as u64,
            }
            .into());
        }
        if store.id_space() + new_keys.len() as u64 > u64::from(u32::MAX) {
            return Err(ErrorKind::IdSpaceExhausted(store.id_space()).into());
        }
        // Whatever else creating the tags depends on (the policy letting the actor create
        // tags, the actor's name, the naming rules) is checked here, so applying cannot
        // fail half-way.
        let edit = Importer::creation_edit(edit);
        let new_tags = slots
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| match &s.tag {
                SlotTag::New { name, dimension } => Some((name, dimension)),
                SlotTag::Existing(_) => None,
            });
        for (pending, (name, dimension)) in new_tags.enumerate() {
            let spec = TagSpec::new(name.as_str()).dimension(dimension.as_str());
            store.check_new_tag(&edit, &spec, pending)?;
        }

        // What changes: memberships gained by existing customers, all of new customers'.
        let mut changed = RoaringBitmap::new();
        let mut added = 0u64;
        for slot in &mut slots {
            slot.wanted = bitmap_of(std::mem::take(&mut slot.existing));
            let gained = match &slot.tag {
                SlotTag::Existing(id) => &slot.wanted - store.members(*id)?,
                SlotTag::New { .. } => slot.wanted.clone(),
            };
            added += gained.len() + slot.fresh.len() as u64;
            changed |= gained;
        }
        let mut removals = Vec::new();
        if opts.mode == TagMode::Overwrite && !overwritten.is_empty() {
            let overwritten = bitmap_of(overwritten);
            let by_tag: HashMap<TagId, usize> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s.tag {
                    SlotTag::Existing(id) => Some((id, i)),
                    SlotTag::New { .. } => None,
                })
                .collect();
            for info in store.tags() {
                let members = store.members(info.id)?;
                if members.is_disjoint(&overwritten) {
                    continue;
                }
                let mut lost = members & &overwritten;
                if let Some(slot) = by_tag.get(&info.id).and_then(|&i| slots.get(i)) {
                    lost -= &slot.wanted;
                }
                if !lost.is_empty() {
                    report.memberships_removed += lost.len();
                    changed |= &lost;
                    removals.push((info.id, lost));
                }
            }
        }
        report.memberships_added = added;
        report.customers_created = new_keys.len() as u64;
        report.customers_updated = changed.len();
        report.customers_unchanged = imported_existing.saturating_sub(changed.len());
        report.tags_created = created;
        Ok(Plan {
            report,
            new_keys,
            slots,
            removals,
        })
    }
}
