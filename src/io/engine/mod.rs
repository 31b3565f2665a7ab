//! One query, embedded or on a ClickHouse cluster: the store's tags and customers as
//! ClickHouse tables, queries as ClickHouse SQL over them, and sets that an engine
//! computed read back as bitmaps.
//!
//! When a shop outgrows one machine (hundreds of millions of customers, many analysts at
//! once), its data moves to a distributed engine. This module keeps the segment language
//! the same on both sides:
//!
//! 1. **Tables** ([`Tables`]): [`Tables::ddl`] gives the `CREATE TABLE` statements,
//!    [`Tables::write_tags`] and [`Tables::write_customers`] the rows, in ClickHouse's
//!    `RowBinaryWithNamesAndTypes` format, to the caller's writer.
//!    - the **tags table** `audience_tags (dimension, tag, shard, assigned, members,
//!      bitmap)`: one row per tag, assignment day (`Date32`) and shard, the members as an
//!      `AggregateFunction(groupBitmap, UInt32)` state;
//!    - the **customers table** `audience_customers (id, key, <attributes>...)`: one row
//!      per live customer, its key (phone digits or member id), and a column per
//!      attribute (`Nullable(Int64)` for numbers, `Nullable(Date32)` for days,
//!      `Nullable(Decimal(18, S))` for decimals of `S` places, `NULL` for no value).
//! 2. **Translation** ([`translate`]): a query, bound as the crate binds it (names folded,
//!    relative days resolved against the context's today, `@name` sets embedded), becomes
//!    SQL in four forms ([`Sql::count`], [`Sql::ids`] and [`Sql::ids_page`],
//!    [`Sql::keys`] and [`Sql::keys_page`], [`Sql::bitmap`]), whose answers are the
//!    crate's answers.
//! 3. **Reading back** ([`decode`], [`decode_base64`]): portable Roaring, ClickHouse
//!    `groupBitmap` states and Doris/StarRocks `BITMAP` bytes become a [`RoaringBitmap`],
//!    every byte checked, so a segment computed in the engine becomes a tag
//!    ([`Store::add_tag_bulk`]) or a set for a query ([`Context::with_set`]).
//!
//! # On a cluster
//!
//! [`Tables::shards`] spreads every tag over several rows, one per shard: shard `s` holds
//! the ids of the 65,536-id blocks `b` with `b % shards == s`. Create the two tables on
//! every shard (as `ReplicatedMergeTree` where shards have replicas), then a `Distributed`
//! table over each, with that sharding key, and translate against the `Distributed`
//! tables' names:
//!
//! ```sql
//! CREATE TABLE audience_tags_all AS audience_tags
//! ENGINE = Distributed(shop_cluster, default, audience_tags, shard);
//! CREATE TABLE audience_customers_all AS audience_customers
//! ENGINE = Distributed(shop_cluster, default, audience_customers, intDiv(id, 65536));
//! ```
//!
//! The SQL merges a tag's rows with `groupBitmapMergeState` whatever the layout, so one
//! statement answers on one machine and on the cluster.
//!
//! # What is not translated
//!
//! Derived terms (`rfm.r`, `rfm.segment`, ...) are computed in this process, not stored:
//! write them to tags ([`RfmScores::score_assignment`](crate::RfmScores::score_assignment),
//! [`RfmScores::segment_assignment`](crate::RfmScores::segment_assignment) and
//! [`Assignment::write`](crate::Assignment::write)) and name their dimensions with
//! [`Tables::rfm_tags`]: the SQL then reads those tags. Without it, and for any other
//! provider's terms, translation refuses them. Tiers are tags already. An `@name` set is embedded in the SQL as a base64 state of at most [`MAX_SET_SQL_CHARS`]
//! characters; a larger one is loaded as a tag. Both are refused with
//! [`ErrorKind::Untranslatable`](crate::ErrorKind::Untranslatable). Days are ClickHouse
//! `Date32` values, 1900-01-01 to 2299-12-31: a store holding a day outside that range
//! (an attribute value or an assignment day) is refused by the writers with the same
//! error; query literals outside it are clamped, which selects the same customers.
//! Decimals are ClickHouse `Decimal(18, S)` values (fewer than 10^18 units, where the
//! crate's `i64` units reach 9.2 * 10^18): the same holds for them, and their literals are
//! written exactly, as `toDecimal64('35.50', 2)`.
//!
//! # Example
//!
//! ```
//! use audience::engine::{Tables, translate};
//! use audience::{Context, CustomerKey, Day, Edit, Query, Store, TagSpec};
//!
//! let today = Day::from_ymd(2025, 1, 1)?;
//! let mut store = Store::new();
//! let e = Edit::new("admin", today);
//! let vip = store.create_tag(&e, TagSpec::new("vip"))?;
//! let c = store.add_customer(CustomerKey::member("m-1")?)?;
//! store.add_tag(c, vip, today)?;
//!
//! let tables = Tables::new();
//! let (mut tags, mut customers) = (Vec::new(), Vec::new());
//! assert_eq!(tables.write_tags(&store, &mut tags)?, 1);
//! assert_eq!(tables.write_customers(&store, &mut customers)?, 1);
//! let sql = translate(&store, &Query::parse("vip")?, &Context::new(today), &tables)?;
//! assert!(sql.keys().ends_with(
//!     "SELECT id, `key` FROM audience_customers WHERE bitmapContains(`q-result`, id) ORDER BY id"
//! ));
//! # Ok::<(), audience::Error>(())
//! ```

mod decode;
mod sql;
mod tables;

pub use decode::{decode, decode_base64};
pub use sql::{MAX_SET_SQL_CHARS, Sql, translate};
pub use tables::{MAX_SHARDS, Tables};

#[cfg(doc)]
use crate::{Store, query::Context};
#[cfg(doc)]
use roaring::RoaringBitmap;

/// The engine named in errors.
const CLICKHOUSE: &str = "ClickHouse";
/// 1900-01-01, the first day of ClickHouse's `Date32`, in days since 1970-01-01.
const DATE32_MIN: i32 = -25_567;
/// 2299-12-31, the last day of ClickHouse's `Date32`.
const DATE32_MAX: i32 = 120_529;
