//! Query text: parse never panics; a parsed query prints as canonical text that parses back
//! to the same expression and prints the same; binding and evaluating it against a small
//! store (with RFM scores, for `rfm.` terms) never panics, and count agrees with the
//! selected segment.
#![no_main]

use audience::{Context, Query, RfmConfig, RoaringBitmap};
use audience_fuzz::small_store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = Query::parse(text) else {
        return;
    };
    let printed = q.to_string();
    let again = Query::parse(&printed)
        .unwrap_or_else(|e| panic!("canonical text {printed:?} of {text:?} does not parse: {e}"));
    assert_eq!(q, again, "{text:?} printed as {printed:?}");
    assert_eq!(printed, again.to_string());

    let (store, today) = small_store();
    // RFM scores, so that `rfm.` terms bind too.
    let rfm = RfmConfig::new("last_interaction", "purchase_count", "monetary")
        .score(&store, &Context::new(today))
        .expect("scoring the small store");
    let capped: RoaringBitmap = [1, 3, 5, 1_000].into_iter().collect();
    let ctx = Context::new(today)
        .with_set("capped", &capped)
        .with_terms(&rfm);
    if let Ok(plan) = store.plan(&q, &ctx) {
        let count = plan.count();
        let seg = plan.segment();
        assert_eq!(count, seg.len(), "{text:?}");
        assert!(seg.bitmap().is_subset(store.customers()), "{text:?}");
        let ex = plan.explain();
        assert_eq!(ex.total, count, "{text:?}");
    }
});
