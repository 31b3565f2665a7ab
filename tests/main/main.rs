//! The integration tests, built as one test binary (`cargo test --test main`): one module
//! per area beside this file, and `support` for the helpers they share. Property tests keep
//! their regressions in `tests/proptest-regressions/<module>.txt`, where proptest looks for
//! them (beside the directory of this `main.rs`).

mod support;

mod aggregate;
mod campaign_send;
mod campaign_split;
mod clickhouse;
mod columns;
mod days;
mod decimals;
mod deep_query;
mod directory_model;
mod engine;
mod errors;
mod expiry;
mod export;
mod forget;
mod governance;
mod health;
mod health_pairs;
mod import;
mod import_columns;
mod import_limits;
mod import_report;
mod insights;
mod journal;
mod lifecycle;
mod limits;
mod materialise;
mod names;
mod phone;
mod phone_countries;
mod phone_libphonenumber;
mod query_chunks;
mod query_errors;
mod query_model;
mod rfm;
mod rfm_model;
mod roundtrip;
mod rules_errors;
mod rules_model;
mod rules_seeds;
mod seed_example;
mod snapshot;
mod snapshot_extras;
#[cfg(feature = "xlsx")]
mod spreadsheet;
mod store_model;
mod suggestions;
mod tag_separators;
mod taxonomy;
mod tiers;
