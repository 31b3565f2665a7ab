//! Shared helpers of the fuzz targets: a small store to bind queries against, the checks a
//! loaded snapshot must pass, and a checksum fixer that lets the fuzzer reach the section
//! parsers behind the CRC-32s.

use audience::campaign::Hour;
use audience::snapshot::Extras;
use audience::{
    AttrKind, Context, Country, CustomerKey, Day, Edit, Query, RoaringBitmap, Run, Store, TagSpec,
    Tiers, Value,
};

/// The default countries a fuzz input picks from (none, then the seeds' markets).
pub const COUNTRIES: [Option<Country>; 8] = [
    None,
    Some(Country::HK),
    Some(Country::TW),
    Some(Country::CN),
    Some(Country::TH),
    Some(Country::RU),
    Some(Country::SA),
    Some(Country::AE),
];

/// A set of expected countries picked by the bits of `bits`: bit i (0 to 6) takes the i-th
/// covered country (HK, TW, CN, TH, RU, SA, AE), bit 7 the UK (the generic rule).
pub fn country_set(bits: u8) -> Vec<Country> {
    let pool = [
        Country::HK,
        Country::TW,
        Country::CN,
        Country::TH,
        Country::RU,
        Country::SA,
        Country::AE,
        Country::from_calling_code(44).unwrap(),
    ];
    pool.iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// How many generated tags the fuzzed stores carry beside their named ones: past the 2,000
/// names where a miss is answered from the bigram index instead of a scan, so that inputs
/// with many unknown or near-miss names run against a taxonomy of a real shop's size.
pub const EXTRA_TAGS: u32 = 3_000;

/// Adds [`EXTRA_TAGS`] tags in five scripts and four dimensions, each on a few customers.
fn add_many_tags(s: &mut Store, e: &Edit, ids: &[u32], today: Day) {
    let prefixes = ["interest/item-", "ความสนใจ-", "兴趣", "интерес-", "اهتمام-"];
    let dims = ["interests", "campaign", "products", "general"];
    for n in 0..EXTRA_TAGS {
        let name = format!("{}{n}", prefixes[n as usize % prefixes.len()]);
        let dim = dims[n as usize % dims.len()];
        let tag = s.create_tag(e, TagSpec::new(name).dimension(dim)).unwrap();
        let set: RoaringBitmap = ids.iter().copied().filter(|i| (i + n) % 97 == 0).collect();
        s.add_tag_bulk(tag, &set, today).unwrap();
    }
}

/// Builds the store's did-you-mean index with one miss, so that the clones each input
/// starts from share it instead of building their own.
fn warm_name_index(s: &Store) {
    assert!(s.tag_id("no such tag, warming the name index").is_err());
}

/// A small store with tags in several scripts and dimensions (and [`EXTRA_TAGS`] more), an
/// archived tag, assignment days and attributes of both kinds: what fuzzed queries bind to.
/// Built once, then cloned.
pub fn small_store() -> (Store, Day) {
    static STORE: std::sync::OnceLock<(Store, Day)> = std::sync::OnceLock::new();
    STORE.get_or_init(build_small_store).clone()
}

fn build_small_store() -> (Store, Day) {
    let today = Day::EPOCH.saturating_add(20_000);
    let e = Edit::new("fuzz", today);
    let mut s = Store::new();
    let names = [
        ("vip", "power"),
        ("vip", "channel"),
        ("interest/cosmetics", "interests"),
        ("stage-purchased", "stage"),
        ("高消費力", "power"),
        ("ลูกค้าใหม่", "stage"),
        ("VIP клиент", "general"),
        ("a", "general"),
        ("b", "general"),
    ];
    let mut tags = Vec::new();
    for (name, dim) in names {
        tags.push(s.create_tag(&e, TagSpec::new(name).dimension(dim)).unwrap());
    }
    let old = s.create_tag(&e, TagSpec::new("old")).unwrap();
    s.archive_tag(&e, old).unwrap();
    let ids = s
        .ensure_customers((0..64u64).map(|i| CustomerKey::Phone(85_290_000_000 + i)))
        .unwrap();
    for (t, &tag) in tags.iter().enumerate() {
        let set: RoaringBitmap = ids
            .iter()
            .copied()
            .filter(|i| (i * 7 + t as u32) % 5 < 2)
            .collect();
        s.add_tag_bulk(tag, &set, today - 30 * t as i32).unwrap();
    }
    add_many_tags(&mut s, &e, &ids, today);
    s.erase_customer(ids[10]).unwrap();
    let n = s.define_attribute("purchase_count", AttrKind::Int).unwrap();
    let d = s
        .define_attribute("last_interaction", AttrKind::Day)
        .unwrap();
    let m = s.define_attribute("monetary", AttrKind::Int).unwrap();
    for &c in &ids {
        if c == ids[10] {
            continue;
        }
        s.set_value(c, n, i64::from(c % 9)).unwrap();
        if c % 3 != 0 {
            s.set_value(c, d, Value::Day(today - (c as i32 * 13) % 400))
                .unwrap();
        }
        let v = match c % 4 {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => i64::from(c) * 1_000_003 - 20_000_000,
        };
        s.set_value(c, m, v).unwrap();
    }
    warm_name_index(&s);
    (s, today)
}

/// `extras` with the customers `store` erased forgotten: what a snapshot of the two writes.
pub fn without_erased(store: &Store, extras: &Extras) -> Extras {
    let mut erased = RoaringBitmap::new();
    if let Some(last) = store.id_space().checked_sub(1) {
        erased.insert_range(0..=u32::try_from(last).unwrap_or(u32::MAX));
    }
    erased -= store.customers();
    let mut e = extras.clone();
    e.forget(&erased);
    e
}

/// Recomputes the CRC-32 of every complete section, so mutated payloads get past the
/// checksums and reach the parsers.
pub fn fix_crcs(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut at = 12usize;
    while let Some(head) = out.get(at..at + 12) {
        let len = u64::from_le_bytes(head[4..12].try_into().unwrap());
        // The section must fit, CRC included; a length near usize::MAX must not wrap.
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| (at + 12).checked_add(l))
            .filter(|end| end.checked_add(4).is_some_and(|e| e <= out.len()))
        else {
            break;
        };
        let crc = crc32fast::hash(&out[at..end]);
        out[end..end + 4].copy_from_slice(&crc.to_le_bytes());
        at = end + 4;
    }
    out
}

fn write(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    audience::snapshot::write(&store, &mut out).expect("writing to a Vec");
    out
}

/// The snapshot bytes of a store and its extras.
pub fn write_with(store: &Store, extras: &Extras) -> Vec<u8> {
    let mut out = Vec::new();
    audience::snapshot::write_with(store, extras, &mut out).expect("loaded extras are writable");
    out
}

/// What any store and extras that loaded from `input` must satisfy: `snapshot::read`
/// agrees, they write a snapshot that loads back to themselves and writes the same bytes,
/// the store passes [`check_loaded`], and every extra can be used on it without panicking.
pub fn check_loaded_with(input: &[u8], store: &Store, extras: &Extras) {
    let plain = audience::snapshot::read(input)
        .expect("snapshot::read reads what snapshot::read_with does");
    assert_eq!(
        write(&plain),
        write(store),
        "snapshot::read reads the same store"
    );
    let bytes = write_with(store, extras);
    let (again, again_extras) =
        audience::snapshot::read_with(&bytes[..]).expect("a written snapshot loads");
    assert_eq!(
        again_extras,
        without_erased(store, extras),
        "extras round-trip (a snapshot leaves erased customers out)"
    );
    assert_eq!(
        write_with(&again, &again_extras),
        bytes,
        "writing is canonical"
    );
    check_loaded(store);

    let today = Day::EPOCH.saturating_add(20_000);
    let none = RoaringBitmap::new();
    for rules in extras.rule_sets.values() {
        let run = Run::new(Context::new(today).with_set("new_orders", &none)).var("product", "x");
        if rules.order(store, &run).is_ok() {
            let _ = rules.dry_run(store, &run);
        }
    }
    for log in extras.send_logs.values() {
        if let Some(now) = log.newest() {
            let _ = log.received(now, log.retention_hours(), None, 1);
            let _ = log.received(now + 1, 1, log.channels().first().map(String::as_str), 2);
        }
        let _ = log.received(Hour(0), 0, None, 1);
    }
    for rfm in extras.rfm.values() {
        rfm.validate().expect("a loaded RFM configuration is valid");
        let _ = rfm.score(store, &Context::new(today));
    }
    for tiers in extras.tiers.values() {
        // A loaded definition is one the setters accept.
        let mut rebuilt = Tiers::new(tiers.attribute(), tiers.dimension());
        for t in tiers.tiers() {
            rebuilt = match t.at_least {
                Some(v) => rebuilt.tier(t.name.as_str(), v),
                None => rebuilt.rest(t.name.as_str()),
            }
            .expect("loaded tiers pass the setters");
        }
        assert_eq!(&rebuilt, tiers);
        let _ = tiers.assign(store);
        let _ = tiers.current(store);
    }
}

/// What any store that loaded must satisfy: it writes a snapshot that loads back and
/// writes the same bytes, and every read and a few writes work without panicking.
pub fn check_loaded(store: &Store) {
    let bytes = write(store);
    let again = audience::snapshot::read(&bytes[..]).expect("a written snapshot loads");
    assert_eq!(write(&again), bytes, "writing is canonical");

    let live = store.customers();
    let today = Day::EPOCH.saturating_add(20_000);
    for t in store.tags() {
        let members = store.members(t.id).unwrap();
        assert!(members.is_subset(live));
        let total: u64 = store
            .assignment_days(t.id)
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(total, members.len());
        if let Some(c) = members.min() {
            assert!(store.assigned_day(c, t.id).unwrap().is_some());
            assert!(store.tags_of(c).unwrap().contains(&t.id));
        }
        let _ = store.assigned_before(t.id, today);
        assert!(store.tag_id_in(&t.dimension, &t.name).is_ok());
        if !t.archived {
            let q = Query::new(audience::query::tag_in(t.dimension.clone(), t.name.clone()));
            assert_eq!(store.count(&q, today).unwrap(), members.len());
        }
    }
    for a in store.attributes() {
        assert!(store.with_value(a.id).unwrap().is_subset(live));
        let (lo, hi) = match a.kind {
            AttrKind::Int => (Value::Int(i64::MIN), Value::Int(i64::MAX)),
            AttrKind::Day => (Value::Day(Day::MIN), Value::Day(Day::MAX)),
            AttrKind::Decimal { scale } => (
                Value::Decimal(audience::Decimal::new(i64::MIN, scale).unwrap()),
                Value::Decimal(audience::Decimal::new(i64::MAX, scale).unwrap()),
            ),
        };
        let all = store.range(a.id, lo, hi).unwrap();
        assert_eq!(&all, store.with_value(a.id).unwrap());
        if let Some(c) = all.max() {
            let v = store.value(c, a.id).unwrap().unwrap();
            assert!(store.range(a.id, v, v).unwrap().contains(c));
        }
    }
    let _ = store.keys().count();
    let _ = store.memory_usage();

    // Writes keep working on a loaded store.
    let mut s = store.clone();
    let c = s.ensure_customer(CustomerKey::member("fuzz-new").unwrap());
    let writable = s.tags().find(|t| !t.archived).map(|t| t.id);
    if let (Ok((c, _)), Some(t)) = (c, writable) {
        s.add_tag(c, t, today).unwrap();
        s.erase_customer(c).unwrap();
    }
    s.expire(today);
    if let Some(c) = s.customers().min() {
        s.erase_customer(c).unwrap();
    }
}

/// A small shop for imports: tags in several scripts and dimensions (`VIP` in two of them,
/// so a bare `vip` is ambiguous, and [`EXTRA_TAGS`] more), an archived tag, phone and
/// member-id customers with memberships of several days. Built once, then cloned.
pub fn import_store() -> (Store, Day) {
    static STORE: std::sync::OnceLock<(Store, Day)> = std::sync::OnceLock::new();
    STORE.get_or_init(build_import_store).clone()
}

fn build_import_store() -> (Store, Day) {
    let today = Day::EPOCH.saturating_add(20_000);
    let e = Edit::new("admin", today);
    let mut s = Store::new();
    let mut tags = Vec::new();
    for (name, dim) in [
        ("VIP", "power"),
        ("vip", "channel"),
        ("cosmetics", "interests"),
        ("mother & baby", "interests"),
        ("ลูกค้าใหม่", "stage"),
        ("高消費力", "power"),
        ("campaign/seed", "campaign"),
        ("website", "channel"),
    ] {
        tags.push(s.create_tag(&e, TagSpec::new(name).dimension(dim)).unwrap());
    }
    let old = s.create_tag(&e, TagSpec::new("old")).unwrap();
    let mut ids = Vec::new();
    for i in 0..6u64 {
        ids.push(
            s.add_customer(CustomerKey::Phone(85_291_234_560 + i))
                .unwrap(),
        );
    }
    for m in ["M1", "m-2", "會員3"] {
        ids.push(s.add_customer(CustomerKey::member(m).unwrap()).unwrap());
    }
    for (i, &c) in ids.iter().enumerate() {
        for (t, &tag) in tags.iter().enumerate() {
            if (i + t) % 3 == 0 {
                s.add_tag(c, tag, today - (i * 10 + t) as i32).unwrap();
            }
        }
    }
    s.add_tag(ids[0], old, today - 400).unwrap();
    s.archive_tag(&e, old).unwrap();
    add_many_tags(&mut s, &e, &ids, today);
    warm_name_index(&s);
    (s, today)
}

/// Everything an import may change (customers and their keys, every tag with its metadata,
/// members and assignment days, the change log, the policy), compared as values: a
/// copy-on-write clone of the store, so taking one costs no formatting of thousands of tags.
pub struct Fingerprint(Store);

/// The store's state as an import may change it, to compare before and after.
pub fn import_fingerprint(store: &Store) -> Fingerprint {
    Fingerprint(store.clone())
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Fingerprint) -> bool {
        let (a, b) = (&self.0, &other.0);
        a.keys().eq(b.keys())
            && a.tags().eq(b.tags())
            && a.tags().all(|t| {
                a.members(t.id).ok() == b.members(t.id).ok()
                    && a.assignment_days(t.id).ok() == b.assignment_days(t.id).ok()
            })
            && a.change_log() == b.change_log()
            && a.policy() == b.policy()
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.0;
        writeln!(f, "{s:?}")?;
        for (id, key) in s.keys() {
            write!(f, "{id}={key};")?;
        }
        for t in s.tags() {
            write!(
                f,
                "\n{t:?}{:?}{:?}",
                s.members(t.id).ok(),
                s.assignment_days(t.id).ok()
            )?;
        }
        write!(f, "\n{:?}{:?}", s.change_log(), s.policy())
    }
}

/// The number of memberships (customer, tag) in the store.
pub fn membership_count(store: &Store) -> u64 {
    store
        .tags()
        .map(|t| store.members(t.id).unwrap().len())
        .sum()
}
