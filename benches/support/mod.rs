//! Bench support: the shared performance workload of `../shared/peers/` (data, the 13
//! queries, a dense-bitset oracle). Not part of the library; bench targets include it with
//! `mod support;`.
//!
//! - [`Workload`]: tags and attributes, generated in Rust with the model of
//!   `gen_dataset.py` (no Python needed) or loaded from its output directory;
//!   [`Workload::from_env_or_generate`] picks the latter when `AUDIENCE_PEERS_DATA` points
//!   at it.
//! - [`peer_queries`]: the queries of `queries.json` as [`QExpr`] trees, and
//!   [`to_query_text`] to write them in the library's query text.
//! - [`DenseIndex`]: packed bitsets evaluating [`QExpr`]s word by word, the oracle for
//!   result checks and the hand-written "dense" baseline.

// Each bench target uses its own subset of this module.
#![allow(dead_code, unused_imports)]

mod oracle;
mod queries;
mod rng;
mod spec;
mod store;
mod workload;

pub use oracle::{DenseIndex, bits_to_ids, popcount};
pub use queries::{
    CmpOp, DAY_COLUMNS, PeerQuery, QExpr, WORKLOAD_EPOCH_DAYS, civil_from_days, peer_queries,
    to_query_text,
};
pub use store::{
    ATTRIBUTES, Columns, add_attributes, add_attributes_by_pairs, add_customers, add_tags,
    build_store, phone_key, today,
};
pub use workload::{
    DATA_ENV, DEFAULT_SEED, MAX_DAY, NEVER_PURCHASED, REFERENCE_DAY, TagData, Workload,
    bench_customers, check_shape, size_label,
};
