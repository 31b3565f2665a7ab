//! A store that loses nothing: an app loop that journals every change to a file with
//! `fsync`, a checkpoint (snapshot plus a new journal file), a crash in the middle of a
//! write, and the recovery, which prints what it applied and what it ignored.
//!
//! The library does no I/O; the app owns the files. After each unit of work it drains the
//! store's journal into the journal file and `fsync`s it: from then on the work survives a
//! crash. Recovery loads the last snapshot and replays the journal file onto it.
//!
//!     cargo run --release --example durable

// Examples and benches print and do I/O; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use audience::journal::replay;
use audience::{
    AttrKind, CustomerKey, Day, Edit, Importer, Query, Rule, RuleSet, Run, Store, TagSpec,
    TagTemplate, Value,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The app's two files: the last snapshot, and the journal of the changes since.
struct Files {
    snapshot: PathBuf,
    journal: PathBuf,
}

/// Takes the store's pending records and makes them durable.
fn commit(store: &mut Store, journal: &mut File) -> Res<u64> {
    let n = store.journal_mut().drain_into(&mut *journal)?;
    journal.sync_data()?;
    Ok(n)
}

/// The checkpoint procedure (one writer): drain into the journal, write the snapshot
/// beside the old one, `fsync`, rename it over the old one, then start an empty journal.
/// A crash before the rename recovers from the old snapshot and the whole journal; after
/// it, from the new snapshot, onto which the old journal's records are skipped.
fn checkpoint(store: &mut Store, files: &Files, journal: &mut File) -> Res<()> {
    commit(store, journal)?;
    let tmp = files.snapshot.with_extension("tmp");
    let mut out = File::create(&tmp)?;
    audience::snapshot::write(store, &mut out)?;
    out.sync_all()?;
    fs::rename(&tmp, &files.snapshot)?;
    let empty = files.journal.with_extension("new");
    File::create(&empty)?.sync_all()?;
    fs::rename(&empty, &files.journal)?;
    *journal = OpenOptions::new().append(true).open(&files.journal)?;
    store.journal_mut().mark_checkpoint();
    Ok(())
}

fn main() -> Res<()> {
    let dir = std::env::temp_dir().join(format!("audience-durable-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let files = Files {
        snapshot: dir.join("shop.snap"),
        journal: dir.join("shop.journal"),
    };
    let today = Day::from_ymd(2026, 3, 2)?;
    let staff = Edit::new("mei", today);

    // A new shop: an empty snapshot and an empty journal.
    let mut store = Store::new();
    fs::write(&files.snapshot, {
        let mut b = Vec::new();
        audience::snapshot::write(&store, &mut b)?;
        b
    })?;
    let mut journal = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.journal)?;

    // Monday: the customer list arrives, staff tag a VIP by hand, the weekly rules run.
    let spend = store.define_attribute("spend", AttrKind::Int)?;
    store.create_tag(&staff, TagSpec::new("VIP").dimension("power"))?;
    let csv: String = std::iter::once("phone,tags\n".to_string())
        .chain((0..2_000).map(|i| format!("+66 81 {:03} {:04},VIP\n", i / 100, i)))
        .collect();
    let report = Importer::new().import_str(&mut store, &csv, &Edit::new("import", today))?;
    println!("import: {} customers created", report.customers_created);
    commit(&mut store, &mut journal)?;
    for c in 0..2_000u32 {
        store.set_value(c, spend, i64::from(c % 97) * 100)?;
    }
    commit(&mut store, &mut journal)?;
    let rules = RuleSet::new().rule(
        Rule::new("big spender", Query::parse("spend >= 5000")?)
            .add_template(TagTemplate::new("big spender").dimension("power")),
    );
    rules.run(&mut store, &Run::new(today).by(Edit::new("rules", today)))?;
    commit(&mut store, &mut journal)?;
    println!(
        "journal so far: {} bytes, {} changes",
        fs::metadata(&files.journal)?.len(),
        store.journal().seq()
    );

    // A checkpoint: the snapshot takes over, a new journal starts after it.
    checkpoint(&mut store, &files, &mut journal)?;
    println!("checkpoint at change {}", store.journal().seq());

    // Tuesday: events one by one, each durable when it returns.
    let tuesday = today + 1;
    let vip = store.tag_id("power:VIP")?;
    for c in 0..50u32 {
        store.batch(|s| {
            s.set_value(c, spend, Value::Int(9_999))?;
            s.add_tag(c, vip, tuesday)
        })?;
        commit(&mut store, &mut journal)?;
    }
    let erased = store
        .customer(&CustomerKey::phone("66810000007")?)
        .unwrap_or(7);
    store.erase_customer(erased)?;
    commit(&mut store, &mut journal)?;
    let durable = snapshot_bytes(&store)?;
    let erased_since = store.journal().erased_since_checkpoint();
    println!(
        "durable: change {}, {erased_since} {} erased since the checkpoint",
        store.journal().seq(),
        if erased_since == 1 {
            "customer"
        } else {
            "customers"
        }
    );

    // A crash: the next batch (a new customer and their tag) reaches the file only in
    // part, cut in the middle of its second record.
    store.batch(|s| {
        let newcomer = s.add_customer(CustomerKey::phone("66899999999")?)?;
        s.add_tag(newcomer, vip, tuesday)
    })?;
    let pending = store.journal_mut().take();
    journal.write_all(&pending[..pending.len() - 5])?;
    journal.sync_data()?;
    drop(journal);
    drop(store);
    println!(
        "crash! {} of {} bytes of the last batch written",
        pending.len() - 5,
        pending.len()
    );

    // Recovery: the snapshot, then the journal.
    let (store, journal) = recover(&files)?;
    assert_eq!(
        snapshot_bytes(&store)?,
        durable,
        "everything made durable is back"
    );
    println!(
        "recovered: {} customers, {} with VIP, at change {}",
        store.customer_count(),
        store.members(store.tag_id("power:VIP")?)?.len(),
        store.journal().seq()
    );
    drop(journal);
    fs::remove_dir_all(&dir)?;
    Ok(())
}

fn recover(files: &Files) -> Res<(Store, File)> {
    // The snapshot read whole, then loaded in place (no copy of each section).
    let mut store = audience::snapshot::read_slice(&fs::read(&files.snapshot)?)?;
    println!("snapshot loaded at change {}", store.journal().seq());
    let bytes = fs::read(&files.journal)?;
    let report = replay(&mut store, &bytes)?;
    println!(
        "replayed: {} records in {} batches applied, {} skipped, up to change {}",
        report.records_applied, report.batches_applied, report.records_skipped, report.last_seq
    );
    if let Some(tail) = report.tail {
        println!(
            "ignored: {} bytes at the end ({tail:?}), cut off before appending again",
            report.bytes_ignored
        );
    }
    let journal = OpenOptions::new().write(true).open(&files.journal)?;
    journal.set_len(report.valid_bytes)?;
    journal.sync_all()?;
    let journal = OpenOptions::new().append(true).open(&files.journal)?;
    Ok((store, journal))
}

fn snapshot_bytes(store: &Store) -> Res<Vec<u8>> {
    let mut b = Vec::new();
    audience::snapshot::write(store, &mut b)?;
    Ok(b)
}
