//! The importer's options and its entry points: [`Importer`], the key, format, header,
//! unknown-tag and merge settings, and `import_str` / `import_reader` with their dry runs.

use super::*;

/// How fields are separated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Format {
    /// Tab, semicolon or comma, picked from the first non-blank line (see the
    /// [module documentation](crate::import)).
    #[default]
    Auto,
    /// Comma-separated.
    Csv,
    /// Tab-separated: one number per line, or number, tab, tags.
    Txt,
    /// Any ASCII separator but `"`, CR and LF.
    Delimited(u8),
}

/// Whether the first non-blank row names the columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Header {
    /// A header when one of its fields is a known key or tags column name (the default).
    #[default]
    Auto,
    /// The first non-blank row is a header, whatever it says.
    Present,
    /// No header: every row is data.
    Absent,
}

/// What to do with values in columns that have no header: after the named columns, under a
/// blank header cell, or, in a file without a header row, any column but the key and tags
/// columns.
///
/// A column without a header is most often notes (`phone,tags` then
/// `081 234 5678,VIP,回頭客`): read as tags, its every value would become a tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum UnnamedColumns {
    /// Ignore their values and say so in the report, once per column
    /// ([`ImportReport::ignored_columns`]), the default.
    #[default]
    Ignore,
    /// Read the fields after the tags column as more tags when no named column follows
    /// it: a row `85291234567,VIP,new` typed without quotes has two tags (and a trailing
    /// separator adds nothing). Other columns without a header are still ignored.
    Tags,
}

/// What to do with a tag name that no tag has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum UnknownTags {
    /// Import the row without it and report it (the default; most tagging platforms do this).
    #[default]
    Ignore,
    /// Create the tag in `dimension` (or, for `dim:name` where `dim` is an existing
    /// dimension, in that one), as one platform's tag center does. A name of three or more
    /// characters that is a near miss of an existing tag (one that would get a "did you
    /// mean", such as `VIPP` for `VIP` or `化粧品` for `化妝品`) is not created but reported as
    /// unknown with the suggestion: a typo must not become a second tag of the same
    /// meaning (the "unified naming" rule of CRM tagging guides). Create such a tag first if it is meant.
    Create {
        /// The dimension of created tags.
        dimension: String,
    },
    /// Skip the whole row and report it.
    Reject,
}

impl UnknownTags {
    /// [`UnknownTags::Create`] in `dimension`.
    pub fn create_in(dimension: impl Into<String>) -> UnknownTags {
        UnknownTags::Create {
            dimension: dimension.into(),
        }
    }
}

/// Whether the file's tags are added to a customer's or replace them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TagMode {
    /// Add the listed tags; keep the others (the default).
    #[default]
    Merge,
    /// The customer's tags become exactly the listed ones (as the Taiwanese platform's bulk
    /// tagging does). A row without tags leaves the customer alone.
    Overwrite,
}

/// Reads customer lists into a [`Store`]: the options, and the calls that run them.
///
/// Options are set with builder methods; the defaults follow the import guides of WhatsApp and LINE tagging tools (see the
/// [module documentation](crate::import)). An `Importer` is plain data (serde with the `serde`
/// feature), so an app can keep one per data source.
///
/// ```
/// use audience::import::{Importer, TagMode, UnknownTags};
/// use audience::{Country, Day, Edit, Store, TagSpec};
///
/// let today = Day::from_ymd(2025, 1, 6)?;
/// let mut store = Store::new();
/// let vip = store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
///
/// let importer = Importer::new()
///     .default_country(Country::TW)
///     .mode(TagMode::Overwrite)
///     .unknown_tags(UnknownTags::Reject)
///     .max_failed_share(0.5)?;
/// let report = importer.import_str(&mut store, "0912 345 678\tVIP\n0912-345-679\tVIPP\n", &Edit::new("import", today))?;
/// assert_eq!(report.rows_imported, 1);
/// assert_eq!(
///     report.failures[0].to_string(),
///     "line 2, column 2 (tags): \"VIPP\": unknown tag \"VIPP\" (did you mean \"VIP\"?); row skipped"
/// );
/// # Ok::<(), audience::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawImporter"))]
pub struct Importer {
    pub(super) format: Format,
    pub(super) header: Header,
    pub(super) columns: Option<(usize, Option<usize>)>,
    pub(super) key_kind: KeyKind,
    pub(super) countries: Vec<Country>,
    pub(super) unknown_tags: UnknownTags,
    pub(super) mode: TagMode,
    pub(super) unnamed_columns: UnnamedColumns,
    pub(super) country_column: Option<String>,
    #[cfg(feature = "xlsx")]
    pub(super) sheet: Option<String>,
    pub(super) max_rows: u64,
    pub(super) max_failed_share: f64,
    pub(super) max_input_bytes: u64,
    pub(super) max_new_tags: u64,
}

impl Default for Importer {
    fn default() -> Importer {
        Importer::new()
    }
}

/// The serialised form of [`Importer`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawImporter {
    format: Format,
    header: Header,
    columns: Option<(usize, Option<usize>)>,
    key_kind: KeyKind,
    /// Options written before expected countries were a set carry one default country.
    #[serde(default)]
    default_country: Option<Country>,
    #[serde(default)]
    countries: Vec<Country>,
    unknown_tags: UnknownTags,
    mode: TagMode,
    #[serde(default)]
    unnamed_columns: UnnamedColumns,
    #[serde(default)]
    country_column: Option<String>,
    #[cfg(feature = "xlsx")]
    #[serde(default)]
    sheet: Option<String>,
    max_rows: u64,
    max_failed_share: f64,
    max_input_bytes: u64,
    max_new_tags: u64,
}

#[cfg(feature = "serde")]
impl TryFrom<RawImporter> for Importer {
    type Error = Error;
    fn try_from(raw: RawImporter) -> Result<Importer, Error> {
        let mut importer = Importer::new()
            .format(raw.format)?
            .header(raw.header)
            .key_kind(raw.key_kind)
            .unknown_tags(raw.unknown_tags)
            .mode(raw.mode)
            .unnamed_columns(raw.unnamed_columns)
            .max_rows(raw.max_rows)?
            .max_failed_share(raw.max_failed_share)?
            .max_input_bytes(raw.max_input_bytes)?
            .max_new_tags(raw.max_new_tags);
        if let Some((key, tags)) = raw.columns {
            importer = importer.columns(key, tags);
        }
        let mut countries = raw.countries;
        if let Some(country) = raw.default_country
            && !countries.contains(&country)
        {
            countries.insert(0, country);
        }
        importer = importer.countries(&countries)?;
        if let Some(name) = raw.country_column {
            importer = importer.country_column(&name)?;
        }
        #[cfg(feature = "xlsx")]
        if let Some(sheet) = raw.sheet {
            importer = importer.sheet(&sheet)?;
        }
        Ok(importer)
    }
}

fn invalid(setting: &'static str, reason: String) -> Result<Importer, Error> {
    Err(ErrorKind::InvalidSetting { setting, reason }.into())
}

impl Importer {
    /// The defaults of those import guides: automatic format and header, phone numbers with country codes,
    /// unknown tags ignored, merge, 5,000 rows, refuse over 10% failed.
    pub fn new() -> Importer {
        Importer {
            format: Format::Auto,
            header: Header::Auto,
            columns: None,
            key_kind: KeyKind::Phone,
            countries: Vec::new(),
            unknown_tags: UnknownTags::Ignore,
            mode: TagMode::Merge,
            unnamed_columns: UnnamedColumns::Ignore,
            country_column: None,
            #[cfg(feature = "xlsx")]
            sheet: None,
            max_rows: DEFAULT_MAX_ROWS,
            max_failed_share: DEFAULT_MAX_FAILED_SHARE,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_new_tags: DEFAULT_MAX_NEW_TAGS,
        }
    }

    /// How fields are separated ([`Format::Auto`] by default). A
    /// [`Format::Delimited`] separator that is not ASCII, or is `"`, CR or LF, is refused
    /// with [`ErrorKind::InvalidSetting`].
    pub fn format(mut self, format: Format) -> Result<Importer, Error> {
        if let Format::Delimited(d) = format
            && let Some(reason) = bad_separator(d)
        {
            return invalid("Importer::format", reason);
        }
        self.format = format;
        Ok(self)
    }

    /// Whether there is a header row ([`Header::Auto`] by default).
    pub fn header(mut self, header: Header) -> Importer {
        self.header = header;
        self
    }

    /// The key and tags columns by position, counting from 0, instead of by header names
    /// (`tags: None` when the file has no tags). A header row, if any, is still skipped.
    pub fn columns(mut self, key: usize, tags: Option<usize>) -> Importer {
        self.columns = Some((key, tags));
        self
    }

    /// What the key column holds ([`KeyKind::Phone`] by default).
    pub fn key_kind(mut self, kind: KeyKind) -> Importer {
        self.key_kind = kind;
        self
    }

    /// The country of phone numbers written without country code (none by default: every
    /// number must carry its country code, as WhatsApp and LINE tagging platforms require).
    /// The one-country case of [`Importer::countries`].
    pub fn default_country(mut self, country: Country) -> Importer {
        self.countries = vec![country];
        self
    }

    /// The countries a list's numbers come from (the *expected countries*), for numbers
    /// written without country code: each is read against every one of them, as
    /// [`normalize_phone_in`](crate::phone::normalize_phone_in) reads it. A number valid in
    /// exactly one is taken; one valid in several fails its row
    /// ([`PhoneError::AmbiguousCountry`](crate::phone::PhoneError::AmbiguousCountry)); one
    /// valid in none fails with what it would be in each. A row's country column, when the
    /// file has one, decides for that row. Empty (the default): every number must carry its
    /// country code. Repeated countries count once.
    /// Refused with [`ErrorKind::InvalidSetting`] for more than [`MAX_COUNTRIES`] countries.
    ///
    /// ```
    /// use audience::import::Importer;
    /// use audience::{Country, Day, Edit, Store};
    ///
    /// let edit = Edit::new("import", Day::from_ymd(2025, 6, 18)?);
    /// let mut store = Store::new();
    /// let importer = Importer::new().countries(&[Country::HK, Country::TW, Country::CN])?;
    /// let report = importer.import_str(&mut store, "phone\n2345 6789\n138 0013 8000\n", &edit)?;
    /// assert_eq!(report.rows_imported, 2);
    /// assert_eq!(report.warnings[0].to_string(),
    ///     "line 2, column 1 (phone): \"2345 6789\": a fixed-line number (85223456789): \
    ///      WhatsApp and LINE reach mobiles, so messages may not arrive; row imported");
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn countries(mut self, countries: &[Country]) -> Result<Importer, Error> {
        if countries.len() > MAX_COUNTRIES {
            return invalid(
                "Importer::countries",
                format!(
                    "a list has at most {MAX_COUNTRIES} expected countries, got {}",
                    countries.len()
                ),
            );
        }
        self.countries.clear();
        for &country in countries {
            if !self.countries.contains(&country) {
                self.countries.push(country);
            }
        }
        Ok(self)
    }

    /// The country column by its header name, for a list whose header calls it something
    /// the importer does not know (it knows `country`, `country code`, `region`, `國家`,
    /// `地區`, `国家`, `ประเทศ`, `страна`, `الدولة` and a few more). Names compare as
    /// header names do (case, width and spacing do not matter). A row's country cell (a
    /// two-letter code, a name in the five languages, or a calling code) decides how that
    /// row's number is read; a cell that is not a country fails its row. A file whose
    /// header has no column of that name, or that has no header row, is refused with
    /// [`ImportError::NoCountryColumn`]; a blank name with [`ErrorKind::InvalidSetting`].
    ///
    /// ```
    /// use audience::import::Importer;
    /// use audience::{Country, Day, Edit, Store};
    ///
    /// let edit = Edit::new("import", Day::from_ymd(2025, 6, 18)?);
    /// let mut store = Store::new();
    /// let importer = Importer::new()
    ///     .countries(&[Country::TH])?
    ///     .country_column("Land")?;
    /// let file = "phone,Land\n081 234 5678,TH\n0912 345 678,Taiwan\n";
    /// let report = importer.import_str(&mut store, file, &edit)?;
    /// assert_eq!(report.rows_imported, 2);
    /// assert_eq!(report.country_column, Some(2));
    /// assert!(store.keys().any(|(_, key)| key.to_string() == "886912345678"));
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn country_column(mut self, name: &str) -> Result<Importer, Error> {
        let name = tidy(name);
        if name.is_empty() {
            return invalid(
                "Importer::country_column",
                "a column name must not be blank".into(),
            );
        }
        self.country_column = Some(name);
        Ok(self)
    }

    /// What to do with unknown tag names ([`UnknownTags::Ignore`] by default).
    pub fn unknown_tags(mut self, policy: UnknownTags) -> Importer {
        self.unknown_tags = policy;
        self
    }

    /// Merge into or overwrite customers' tags ([`TagMode::Merge`] by default).
    pub fn mode(mut self, mode: TagMode) -> Importer {
        self.mode = mode;
        self
    }

    /// Values in columns without a header: ignored and reported
    /// ([`UnnamedColumns::Ignore`], the default), or the fields after the tags column read
    /// as more tags ([`UnnamedColumns::Tags`]).
    ///
    /// ```
    /// use audience::import::{Importer, UnnamedColumns};
    /// use audience::{Day, Edit, Store, TagSpec};
    ///
    /// let today = Day::from_ymd(2025, 6, 18)?;
    /// let mut store = Store::new();
    /// store.create_tag(&Edit::new("admin", today), TagSpec::new("VIP"))?;
    /// store.create_tag(&Edit::new("admin", today), TagSpec::new("new"))?;
    /// let file = "phone,tags\n85291234567,VIP,new\n";
    ///
    /// let report = Importer::new().dry_run_str(&store, file, &Edit::new("import", today))?;
    /// assert_eq!(report.memberships_added, 1);
    /// assert_eq!(report.ignored_columns[0].column, 3);
    ///
    /// let typed = Importer::new().unnamed_columns(UnnamedColumns::Tags);
    /// let report = typed.dry_run_str(&store, file, &Edit::new("import", today))?;
    /// assert_eq!(report.memberships_added, 2);
    /// assert!(report.ignored_columns.is_empty());
    /// # Ok::<(), audience::Error>(())
    /// ```
    pub fn unnamed_columns(mut self, policy: UnnamedColumns) -> Importer {
        self.unnamed_columns = policy;
        self
    }

    /// The most data rows one import takes ([`DEFAULT_MAX_ROWS`] by default); a longer
    /// file is refused whole with [`ImportError::TooManyRows`]. Refused with
    /// [`ErrorKind::InvalidSetting`] for 0 or above 2^32 - 1 (customer ids are `u32`).
    pub fn max_rows(mut self, rows: u64) -> Result<Importer, Error> {
        if rows == 0 || rows > u64::from(u32::MAX) {
            return invalid(
                "Importer::max_rows",
                format!("an import takes 1 to {} rows, got {rows}", u32::MAX),
            );
        }
        self.max_rows = rows;
        Ok(self)
    }

    /// The largest share of failed rows (0.0 to 1.0) an import accepts
    /// ([`DEFAULT_MAX_FAILED_SHARE`] by default); with more the import is refused with
    /// [`ImportError::Refused`]. `1.0` never refuses; `0.0` refuses any failure. A share
    /// outside 0..=1 (or NaN) is refused with [`ErrorKind::InvalidSetting`].
    pub fn max_failed_share(mut self, share: f64) -> Result<Importer, Error> {
        if !(0.0..=1.0).contains(&share) {
            return invalid(
                "Importer::max_failed_share",
                format!("a share is between 0 and 1, got {share}"),
            );
        }
        self.max_failed_share = share;
        Ok(self)
    }

    /// The most bytes of input read ([`DEFAULT_MAX_INPUT_BYTES`] by default). Refused with
    /// [`ErrorKind::InvalidSetting`] for 0 or above [`MAX_INPUT_BYTES`].
    pub fn max_input_bytes(mut self, bytes: u64) -> Result<Importer, Error> {
        if bytes == 0 || bytes > MAX_INPUT_BYTES {
            return invalid(
                "Importer::max_input_bytes",
                format!("an import reads 1 to {MAX_INPUT_BYTES} bytes, got {bytes}"),
            );
        }
        self.max_input_bytes = bytes;
        Ok(self)
    }

    /// The input limit, within [`MAX_INPUT_BYTES`] also for options that were deserialized.
    pub(super) fn input_limit(&self) -> u64 {
        self.max_input_bytes.min(MAX_INPUT_BYTES)
    }

    /// The most tags one import may create under [`UnknownTags::Create`]
    /// ([`DEFAULT_MAX_NEW_TAGS`] by default).
    pub fn max_new_tags(mut self, tags: u64) -> Importer {
        self.max_new_tags = tags;
        self
    }

    /// Imports `text` into `store`. Memberships are assigned on the edit's day; the tags the
    /// import creates are logged with the edit (its reason defaults to "created by import").
    /// On error nothing has changed.
    pub fn import_str(
        &self,
        store: &mut Store,
        text: &str,
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        self.import_bytes(store, text.as_bytes(), edit)
    }

    /// Imports everything `input` yields (at most [`Importer::max_input_bytes`]) into
    /// `store`, as [`Importer::import_str`] does. On error nothing has changed.
    pub fn import_reader(
        &self,
        store: &mut Store,
        input: impl Read,
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        let bytes = self.read_all(input)?;
        self.import_bytes(store, &bytes, edit)
    }

    /// A dry run of [`Importer::import_str`] with the same inputs: validates `text`
    /// against `store` (the edit's actor included: the policy must let it create the tags
    /// the file would create) and reports what the import would do, changing nothing. The
    /// report is the one the import would give, with [`ImportReport::applied`] false. A
    /// file an import would refuse for its failure share is reported (see
    /// [`ImportReport::over_failure_limit`]), not refused.
    pub fn dry_run_str(
        &self,
        store: &Store,
        text: &str,
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        Ok(self.plan(store, text.as_bytes(), edit)?.report)
    }

    /// A dry run of [`Importer::import_reader`].
    pub fn dry_run_reader(
        &self,
        store: &Store,
        input: impl Read,
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        let bytes = self.read_all(input)?;
        Ok(self.plan(store, &bytes, edit)?.report)
    }

    pub(super) fn read_all(&self, input: impl Read) -> Result<Vec<u8>, Error> {
        let limit = self.input_limit();
        let mut bytes = Vec::new();
        input
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(ImportError::TooLarge { limit }.into());
        }
        Ok(bytes)
    }

    pub(super) fn import_bytes(
        &self,
        store: &mut Store,
        bytes: &[u8],
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        let plan = self.plan(store, bytes, edit)?;
        self.apply_plan(store, plan, edit)
    }

    /// Refuses a plan over the failure share, or applies it.
    pub(super) fn apply_plan(
        &self,
        store: &mut Store,
        mut plan: Plan,
        edit: &Edit,
    ) -> Result<ImportReport, Error> {
        if plan.report.over_failure_limit() {
            let report = &plan.report;
            return Err(ImportError::Refused {
                failed: report.rows_failed,
                rows: report.rows_read,
                limit_basis_points: report.failure_limit_basis_points,
                report: Box::new(plan.report),
            }
            .into());
        }
        self.apply(store, &mut plan, edit)?;
        plan.report.applied = true;
        Ok(plan.report)
    }

    // -------------------------------------------------------------------------------------
    // First pass: parse and validate
    // -------------------------------------------------------------------------------------

    pub(super) fn plan(&self, store: &Store, bytes: &[u8], edit: &Edit) -> Result<Plan, Error> {
        let limit = self.input_limit();
        if bytes.len() as u64 > limit {
            return Err(ImportError::TooLarge { limit }.into());
        }
        let create_dimension = self.create_dimension()?;
        let text = decode(bytes)?;
        let (delimiter, body, line_offset) = self.layout(text)?;
        let mut rows = CsvRows {
            records: Records::new(body.as_bytes(), delimiter),
            lines: Lines::new(body.as_bytes()),
            line_offset,
        };
        self.plan_rows(store, edit, create_dimension, &mut rows)
    }

    /// The dimension of created tags, checked, under [`UnknownTags::Create`].
    pub(super) fn create_dimension(&self) -> Result<Option<String>, Error> {
        match &self.unknown_tags {
            UnknownTags::Create { dimension } => Ok(Some(check_dimension(dimension)?)),
            _ => Ok(None),
        }
    }

    /// The first pass over the rows of a CSV file or a sheet.
    pub(super) fn plan_rows(
        &self,
        store: &Store,
        edit: &Edit,
        create_dimension: Option<String>,
        rows: &mut impl RowSource,
    ) -> Result<Plan, Error> {
        let mut pass = Pass::new(self, store, create_dimension);
        let mut columns: Option<Columns> = None;
        while let Some((line, record)) = rows.next_row()? {
            if record.iter().all(blank) {
                continue;
            }
            let cols = match &columns {
                Some(c) => c,
                None => {
                    let first: Vec<&str> = record.iter().map(field_str).collect();
                    let (c, is_header) = self.columns_from(&first)?;
                    pass.report.key_column = column_number(c.key);
                    pass.report.tags_column = c.tags.map(column_number);
                    pass.report.country_column = c.country.map(column_number);
                    let c = columns.insert(c);
                    if is_header {
                        pass.report.header_line = Some(line);
                        continue;
                    }
                    c
                }
            };
            pass.row(cols, line, &record)?;
        }
        let report = &pass.report;
        if report.rows_read > self.max_rows {
            return Err(ImportError::TooManyRows {
                rows: report.rows_read,
                limit: self.max_rows,
            }
            .into());
        }
        pass.finish(edit)
    }

    /// The separator, the text after an Excel `sep=` line, and how many lines that skipped.
    pub(super) fn layout<'t>(&self, text: &'t str) -> Result<(u8, &'t str, u64), Error> {
        let (first, rest) = match text.split_once('\n') {
            Some((first, rest)) => (first, rest),
            None => (text, ""),
        };
        let first = first.strip_suffix('\r').unwrap_or(first);
        let sep_line = first
            .strip_prefix("sep=")
            .or_else(|| first.strip_prefix("SEP="))
            .filter(|s| s.len() == 1);
        let (sniffed, body, offset) = match sep_line {
            Some(sep) => (sep.as_bytes().first().copied(), rest, 1),
            None => (None, text, 0),
        };
        let delimiter = match (self.format, sniffed) {
            (Format::Csv, _) => b',',
            (Format::Txt, _) => b'\t',
            (Format::Delimited(d), _) => d,
            (Format::Auto, Some(d)) => d,
            (Format::Auto, None) => sniff(body),
        };
        if let Some(reason) = bad_separator(delimiter) {
            return Err(ErrorKind::InvalidArgument(format!("the sep= line: {reason}")).into());
        }
        Ok((delimiter, body, offset))
    }

    /// Which columns hold the key and the tags, from the first non-blank row, and whether
    /// that row is a header.
    pub(super) fn columns_from(&self, fields: &[&str]) -> Result<(Columns, bool), Error> {
        let (keys, prefixes) = key_aliases(self.key_kind);
        let names: Vec<String> = fields.iter().map(|f| header_key(f)).collect();
        let is = |n: &String, aliases: &[&str]| aliases.iter().any(|a| header_key(a) == *n);
        let key_at = names.iter().position(|n| is(n, keys)).or_else(|| {
            names.iter().position(|n| {
                prefixes
                    .iter()
                    .any(|p| n.starts_with(header_key(p).as_str()))
            })
        });
        let tags_at = names.iter().position(|n| is(n, TAGS_ALIASES));
        let named_country = self.country_column.as_ref().map(|c| header_key(c));
        let country_at = match &named_country {
            Some(wanted) => names.iter().position(|n| n == wanted),
            None => names.iter().position(|n| is(n, COUNTRY_ALIASES)),
        };
        let is_header = match self.header {
            Header::Present => true,
            Header::Absent => false,
            Header::Auto => key_at.is_some() || tags_at.is_some() || country_at.is_some(),
        };
        if let Some(name) = &self.country_column
            && (!is_header || country_at.is_none())
        {
            return Err(ImportError::NoCountryColumn {
                name: clip(name),
                header: if is_header {
                    Some(fields.iter().map(|f| clip(trim(f))).collect())
                } else {
                    None
                },
            }
            .into());
        }
        let last_named = fields.iter().rposition(|f| !trim(f).is_empty());
        let typed = self.unnamed_columns == UnnamedColumns::Tags;
        let (key, tags, extra_tags) = match self.columns {
            Some((key, tags)) => (
                key,
                tags,
                typed && tags.is_some_and(|t| !is_header || Some(t) == last_named),
            ),
            None if is_header => {
                let Some(key) = key_at else {
                    return Err(ImportError::NoKeyColumn {
                        kind: self.key_kind,
                        header: fields.iter().map(|f| clip(trim(f))).collect(),
                    }
                    .into());
                };
                (
                    key,
                    tags_at,
                    typed && tags_at.is_some() && tags_at == last_named,
                )
            }
            None => (0, Some(1), typed),
        };
        // Columns without a header: past the header's last named cell, or under a blank
        // one; every column of a file without a header row.
        let (named_until, blank_named) = if is_header {
            let until = last_named.map_or(0, |l| l + 1);
            let blank = (0..until)
                .filter(|&i| fields.get(i).is_none_or(|f| trim(f).is_empty()))
                .collect();
            (until, blank)
        } else {
            (0, Vec::new())
        };
        Ok((
            Columns {
                key,
                tags,
                extra_tags,
                country: if is_header { country_at } else { None },
                named_until,
                blank_named,
            },
            is_header,
        ))
    }

    // -------------------------------------------------------------------------------------
    // Second pass: apply
    // -------------------------------------------------------------------------------------

    /// The edit that logs the tags an import creates.
    pub(super) fn creation_edit(edit: &Edit) -> Edit {
        let mut edit = edit.clone();
        edit.reason
            .get_or_insert_with(|| "created by import".to_string());
        edit
    }

    /// Applies a validated plan. Every step's preconditions were checked by `plan`, so none
    /// of the store calls below fails; they are ordered so that, were one to fail, it would
    /// be one of the first two (tag creation, then customer registration, each all-or-
    /// nothing), before any membership changed.
    pub(super) fn apply(
        &self,
        store: &mut Store,
        plan: &mut Plan,
        edit: &Edit,
    ) -> Result<(), Error> {
        // The whole import is one unit in the journal.
        store.batch(|store| self.apply_changes(store, plan, edit))
    }

    fn apply_changes(&self, store: &mut Store, plan: &mut Plan, edit: &Edit) -> Result<(), Error> {
        let today = edit.day;
        let edit = Importer::creation_edit(edit);
        let mut ids: Vec<Option<TagId>> = Vec::with_capacity(plan.slots.len());
        for slot in &plan.slots {
            let id = match &slot.tag {
                SlotTag::Existing(id) => Some(*id),
                SlotTag::New { .. } if slot.is_empty() => None,
                SlotTag::New { name, dimension } => Some(store.create_tag(
                    &edit,
                    TagSpec::new(name.as_str()).dimension(dimension.as_str()),
                )?),
            };
            ids.push(id);
        }
        let fresh = store.ensure_customers(std::mem::take(&mut plan.new_keys))?;
        for (slot, id) in plan.slots.iter().zip(ids) {
            let Some(id) = id else { continue };
            if slot.is_empty() {
                continue;
            }
            let mut set = slot.wanted.clone();
            let new_ids = slot
                .fresh
                .iter()
                .filter_map(|&i| fresh.get(i as usize).copied());
            extend_sorted(&mut set, new_ids);
            store.add_tag_bulk_owned(id, set, today)?;
        }
        for (tag, lost) in &plan.removals {
            store.remove_tag_bulk(*tag, lost)?;
        }
        Ok(())
    }
}

/// Why `byte` cannot separate fields, if it cannot.
fn bad_separator(byte: u8) -> Option<String> {
    (!byte.is_ascii() || matches!(byte, b'"' | b'\r' | b'\n')).then(|| {
        format!(
            "the separator must be an ASCII character other than '\"', CR and LF, got byte 0x{byte:02X}"
        )
    })
}
