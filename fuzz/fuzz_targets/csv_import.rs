//! Customer lists: arbitrary bytes imported into a small shop with options chosen by the
//! input (unknown-tag policy, merge or overwrite, key kind, separator, header, default
//! country or a set of expected countries, limits, a policy with naming rules or
//! administrators); numbers may carry labels, country letters, dialling prefixes and
//! extensions, and a country column (found by its header, or named by the caller) may name
//! each row's country. Never panics; the dry
//! run says exactly what the import does; a refused import changes nothing; an applied
//! one changes the store as its report says.
#![no_main]

use audience::import::{Format, Header, ImportError, Importer, KeyKind, TagMode, UnknownTags};
use audience::{Edit, ErrorKind, NamingRules, Policy, RoaringBitmap, TagId};
use audience_fuzz::{COUNTRIES, country_set, import_fingerprint, import_store, membership_count};
use libfuzzer_sys::fuzz_target;

fn importer(a: u8, b: u8, c: u8) -> Importer {
    let mut imp = Importer::new()
        .unknown_tags(match a & 3 {
            0 => UnknownTags::Ignore,
            1 => UnknownTags::create_in("campaign"),
            2 => UnknownTags::Reject,
            _ => UnknownTags::create_in("brand new"),
        })
        .mode(if a & 4 == 0 {
            TagMode::Merge
        } else {
            TagMode::Overwrite
        })
        .key_kind(if a & 8 == 0 {
            KeyKind::Phone
        } else {
            KeyKind::MemberId
        })
        .format(match (a >> 4) & 3 {
            0 => Format::Auto,
            1 => Format::Csv,
            2 => Format::Txt,
            _ => Format::Delimited(b';'),
        })
        .unwrap()
        .header(match a >> 6 {
            1 => Header::Present,
            2 => Header::Absent,
            _ => Header::Auto,
        })
        .max_failed_share(match (b >> 3) & 3 {
            0 => 0.1,
            1 => 1.0,
            2 => 0.0,
            _ => 0.5,
        })
        .unwrap();
    if let Some(country) = COUNTRIES[usize::from(b & 7)] {
        imp = imp.default_country(country);
    }
    // The upper bits of `c`, when set, pick a set of expected countries instead.
    if c >> 2 != 0 {
        imp = imp.countries(&country_set(c >> 2)).unwrap();
    }
    if b & 0x20 != 0 {
        imp = imp.max_rows(8).unwrap();
    }
    if b & 0x40 != 0 {
        imp = imp.max_new_tags(2);
    }
    if b & 0x80 != 0 {
        imp = imp.columns(1, Some(0));
    }
    // A country column named by the caller (`c % 4 == 1`: no policy, see below).
    if c % 4 == 1 {
        imp = imp.country_column("Land").unwrap();
    }
    imp
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, text @ ..] = data else {
        return;
    };
    let (mut store, today) = import_store();
    match c % 4 {
        2 => store
            .set_policy(
                &Edit::new("admin", today),
                Policy::open().with_naming(NamingRules::new().require_dimension_prefix()),
            )
            .unwrap(),
        3 => store
            .set_policy(
                &Edit::new("mei", today),
                Policy::administered_by(["mei"]).unwrap(),
            )
            .unwrap(),
        _ => {}
    }
    let imp = importer(*a, *b, *c);
    let before = import_fingerprint(&store);
    let customers = store.customer_count();
    let tags = store.tag_count();
    let memberships = membership_count(&store);
    let old_members: Vec<(TagId, RoaringBitmap)> = store
        .tags()
        .map(|t| (t.id, store.members(t.id).unwrap().clone()))
        .collect();

    let dry = imp.dry_run_reader(&store, text, &Edit::new("import", today));
    assert_eq!(
        import_fingerprint(&store),
        before,
        "a dry run changed the store"
    );
    let result = imp.import_reader(&mut store, text, &Edit::new("import", today));
    match (&dry, &result) {
        (Err(d), Err(e)) => assert_eq!(d, e, "dry run and import refuse differently"),
        (Ok(d), Err(e)) => {
            // The only refusal a dry run reports instead: the failure share.
            assert!(d.over_failure_limit(), "{e}");
            match e.kind() {
                ErrorKind::Import(ImportError::Refused { report, .. }) => {
                    assert_eq!(**report, *d)
                }
                other => panic!("the dry run passed, the import failed with {other}"),
            }
        }
        (Ok(d), Ok(r)) => {
            assert!(r.applied && !d.applied && !d.over_failure_limit());
            let mut d = d.clone();
            d.applied = true;
            assert_eq!(&d, r, "the dry run's report differs from the import's");
        }
        (Err(d), Ok(_)) => panic!("the dry run refused ({d}), the import did not"),
    }
    let report = match result {
        Err(_) => {
            assert_eq!(
                import_fingerprint(&store),
                before,
                "a refused import changed the store"
            );
            return;
        }
        Ok(report) => report,
    };

    // The report adds up.
    assert_eq!(report.rows_read, report.rows_imported + report.rows_skipped);
    assert!(report.rows_failed <= report.rows_read);
    assert_eq!(
        report.rows_imported,
        report.customers_created + report.customers_updated + report.customers_unchanged
    );
    let counted: u64 = report.failure_counts.values().sum();
    assert!(report.failures.len() as u64 <= counted);
    assert!(report.failures.len() <= audience::import::MAX_LISTED_FAILURES);
    if counted <= audience::import::MAX_LISTED_FAILURES as u64 {
        assert_eq!(report.failures.len() as u64, counted);
    }
    assert!(
        report
            .failures
            .windows(2)
            .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column))
    );
    let warned: u64 = report.warning_counts.values().sum();
    assert!(report.warnings.len() as u64 <= warned);
    assert!(report.warnings.len() <= audience::import::MAX_LISTED_FAILURES);
    let _ = report.to_string();

    // The store changed as the report says.
    assert_eq!(store.customer_count(), customers + report.customers_created);
    assert_eq!(store.tag_count(), tags + report.tags_created.len());
    for name in &report.tags_created {
        let found = store.tags().filter(|t| &t.name == name).count();
        assert!(found >= 1, "created tag {name:?} is missing");
    }
    assert_eq!(
        membership_count(&store),
        memberships + report.memberships_added - report.memberships_removed
    );
    // Memberships the import added were assigned today; members are live customers.
    for t in store.tags() {
        let members = store.members(t.id).unwrap();
        assert!(members.is_subset(store.customers()));
        let old = old_members
            .iter()
            .find(|(id, _)| *id == t.id)
            .map(|(_, m)| m.clone())
            .unwrap_or_default();
        for c in members - &old {
            assert_eq!(store.assigned_day(c, t.id).unwrap(), Some(today));
        }
    }
    // Applied once, the same file creates no customer the second time.
    if let Ok(again) = imp.import_reader(&mut store, text, &Edit::new("import", today)) {
        assert_eq!(again.customers_created, 0);
    }
});
