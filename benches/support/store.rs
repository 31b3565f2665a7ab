//! Builds an `audience::Store` from a [`Workload`]: the one ingest path every bench uses.

use audience::{AttrKind, CustomerKey, Day, Edit, RoaringBitmap, Store, TagSpec, Value};

use super::queries::WORKLOAD_EPOCH_DAYS;
use super::workload::{NEVER_PURCHASED, Workload};

/// The workload's attribute columns as store attributes: (name, kind). Day columns hold
/// `Day`s (workload day + 2020-01-01); never-purchased (-1) is stored as "no value".
pub const ATTRIBUTES: [(&str, AttrKind); 5] = [
    ("last_interaction_day", AttrKind::Day),
    ("first_purchase_day", AttrKind::Day),
    ("last_purchase_day", AttrKind::Day),
    ("purchase_count", AttrKind::Int),
    ("monetary_cents", AttrKind::Int),
];

/// The workload's "today" (day 1827 = 2025-01-01) as a `Day`.
pub fn today(w: &Workload) -> Day {
    Day::from_days(WORKLOAD_EPOCH_DAYS + w.reference_day).unwrap()
}

/// Customer `i`'s key: a Thai mobile number, so the directory holds real phone keys.
pub fn phone_key(i: u32) -> CustomerKey {
    CustomerKey::Phone(66_800_000_000 + u64::from(i))
}

/// Registers the customers (ids 0..n in workload order) and nothing else.
pub fn add_customers(store: &mut Store, w: &Workload) {
    let ids = store
        .ensure_customers((0..w.n).map(phone_key))
        .expect("customers");
    assert_eq!(ids.len() as u32, w.n);
}

/// Creates the 200 tags and fills them, all assigned on `today`.
pub fn add_tags(store: &mut Store, w: &Workload, today: Day) {
    let edit = Edit::new("bench", today);
    for t in &w.tags {
        let id = store
            .create_tag(
                &edit,
                TagSpec::new(t.name.as_str()).dimension(t.dimension.as_str()),
            )
            .expect("tag");
        let set = RoaringBitmap::from_sorted_iter(t.members.iter().copied()).expect("sorted");
        store.add_tag_bulk(id, &set, today).expect("members");
    }
}

/// The workload's five columns in id order, as [`Store::set_column`] takes them: days as
/// `Option<Day>` (never purchased is `None`), purchase counts as the workload's `u32`s,
/// spend as `i64` cents.
pub struct Columns<'w> {
    pub days: [Vec<Option<Day>>; 3],
    pub purchase_count: &'w [u32],
    pub monetary_cents: Vec<i64>,
}

impl<'w> Columns<'w> {
    pub fn of(w: &'w Workload) -> Columns<'w> {
        let day = |d: &[i32]| -> Vec<Option<Day>> {
            d.iter()
                .map(|&v| {
                    (v != NEVER_PURCHASED).then(|| Day::from_days(WORKLOAD_EPOCH_DAYS + v).unwrap())
                })
                .collect()
        };
        Columns {
            days: [
                day(&w.last_interaction_day),
                day(&w.first_purchase_day),
                day(&w.last_purchase_day),
            ],
            purchase_count: &w.purchase_count,
            monetary_cents: w.monetary_cents.iter().map(|&c| c as i64).collect(),
        }
    }

    /// Defines the five attributes ([`ATTRIBUTES`]) and sets each whole column.
    pub fn load(&self, store: &mut Store) {
        for (name, kind) in ATTRIBUTES {
            store.define_attribute(name, kind).expect("attribute");
        }
        self.reload(store);
    }

    /// Sets each whole column of the five attributes, defined before.
    pub fn reload(&self, store: &mut Store) {
        for (i, (name, _)) in ATTRIBUTES.into_iter().enumerate() {
            let attr = store.attribute_id(name).expect("attribute");
            match i {
                0..=2 => store.set_column(attr, &self.days[i]),
                3 => store.set_column(attr, self.purchase_count),
                _ => store.set_column(attr, &self.monetary_cents),
            }
            .expect("values");
        }
    }
}

/// Defines the five attributes and loads their columns, as a bulk load should: each
/// whole column in id order.
pub fn add_attributes(store: &mut Store, w: &Workload) {
    Columns::of(w).load(store);
}

/// Defines the five attributes and loads their columns through `Store::set_values`, a
/// `(customer, Value)` pair at a time: the baseline of the whole-column setter.
pub fn add_attributes_by_pairs(store: &mut Store, w: &Workload) {
    let n = w.n as usize;
    for (name, kind) in ATTRIBUTES {
        let attr = store.define_attribute(name, kind).expect("attribute");
        let (ids, vals): (Vec<u32>, Vec<Value>) = (0..n)
            .filter_map(|i| {
                let v = match name {
                    "last_interaction_day" => i64::from(w.last_interaction_day[i]),
                    "first_purchase_day" => i64::from(w.first_purchase_day[i]),
                    "last_purchase_day" => i64::from(w.last_purchase_day[i]),
                    "purchase_count" => i64::from(w.purchase_count[i]),
                    _ => w.monetary_cents[i] as i64,
                };
                match kind {
                    AttrKind::Day if v == i64::from(NEVER_PURCHASED) => None,
                    AttrKind::Day => Some((
                        i as u32,
                        Value::Day(Day::from_days(WORKLOAD_EPOCH_DAYS + v as i32).unwrap()),
                    )),
                    AttrKind::Int => Some((i as u32, Value::Int(v))),
                    AttrKind::Decimal { scale } => Some((
                        i as u32,
                        Value::Decimal(audience::Decimal::new(v, scale).unwrap()),
                    )),
                }
            })
            .unzip();
        store.set_values(attr, &ids, &vals).expect("values");
    }
}

/// The whole workload as a store, with its "today".
pub fn build_store(w: &Workload) -> (Store, Day) {
    let today = today(w);
    let mut store = Store::new();
    add_customers(&mut store, w);
    add_tags(&mut store, w, today);
    add_attributes(&mut store, w);
    (store, today)
}
