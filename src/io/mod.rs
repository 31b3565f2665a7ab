//! The top layer: customers and state in and out of the store. It may use every layer below.
//!
//! - [`import`](crate::import): customer lists (CSV, TXT) in.
//! - [`export`](crate::export): rows, hashed ad audiences and bitmaps for engines out.
//! - [`snapshot`](crate::snapshot): the whole store (and the app's state) to bytes and back.
//! - [`engine`](crate::engine): the store as ClickHouse tables, queries as ClickHouse SQL,
//!   engines' bitmaps read back.

pub mod engine;
pub mod export;
pub mod import;
pub mod snapshot;
