//! Imports a messy customer list, as users of WhatsApp and LINE tagging tools export it from Excel, and prints the
//! report; then exports the imported VIPs for an ad platform and a distributed engine.
//!
//! ```sh
//! cargo run --release --example import_csv
//! ```

// Examples and benches print and time what they do; the library itself may not.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use audience::export::{AdPlatform, BitmapFormat, Export, base64, write_hashed_phones};
use audience::import::{ImportError, Importer, TagMode, UnknownTags};
use audience::{Country, CustomerKey, Day, Edit, Query, Store, TagSpec, dimensions};

/// A Hong Kong shop's list: a BOM and a Chinese header, CRLF line ends, national and
/// international spellings, tags in quotes or typed after the number, full-width and
/// ideographic commas, a blank line, trailing separators, a note in a column without a
/// header (ignored, not made a tag), a duplicate, a number without its last digit, one
/// Excel turned into scientific notation, and a misspelled tag.
const FILE: &str = "\u{feff}手機號碼,標籤,\r\n\
    +852 9123 4567,\"VIP, 化妝品\",\r\n\
    9123 4568,化妝品，母嬰\r\n\
    (852) 6123-4569,vip、 618未購買\r\n\
    \r\n\
    852-9123-4567,VIP\r\n\
    5123 456,化妝品\r\n\
    8.52912E+10,VIP\r\n\
    6234 5670,\"VIP,化粧品\"\r\n\
    +852 5234 5671,618未購買,回頭客\r\n\
    '85262345672,母嬰\r\n\
    00852 9345 6673,VIP\r\n";

fn main() -> Result<(), audience::Error> {
    let today = Day::from_ymd(2025, 6, 20)?;
    let admin = Edit::new("admin", Day::from_ymd(2025, 1, 2)?);
    let mut store = Store::new();
    store.create_tag(
        &admin,
        TagSpec::new("VIP").dimension(dimensions::PURCHASING_POWER),
    )?;
    store.create_tag(
        &admin,
        TagSpec::new("化妝品").dimension(dimensions::INTERESTS),
    )?;
    store.create_tag(
        &admin,
        TagSpec::new("母嬰").dimension(dimensions::INTERESTS),
    )?;
    // One customer is already known, with a tag the file does not list.
    let known = store.add_customer(CustomerKey::phone("85291234568")?)?;
    store.add_tag(known, store.tag_id("VIP")?, Day::from_ymd(2025, 3, 1)?)?;

    let importer = Importer::new()
        .default_country(Country::HK)
        .unknown_tags(UnknownTags::create_in("campaign"))
        .mode(TagMode::Merge);

    println!("== Dry run with the import guides' rule (refuse when over 10% of rows fail)\n");
    let edit = Edit::new("import", today);
    let preview = importer.dry_run_str(&store, FILE, &edit)?;
    println!("{preview}\n");
    match importer.import_str(&mut store, FILE, &edit) {
        Ok(_) => println!("(imported)"),
        Err(e) => {
            println!("import: {e}\n");
            // A refused import carries its report; its summary form ({:#}) gives the counts
            // and the first failures of each reason, short even for a file of thousands.
            if let audience::ErrorKind::Import(ImportError::Refused { report, .. }) = e.kind() {
                println!("{report:#}\n");
            }
        }
    }

    println!("== The same file with the fixable rows accepted (limit raised to 30%)\n");
    let report = importer
        .clone()
        .max_failed_share(0.30)?
        .import_str(&mut store, FILE, &edit)?;
    println!("{report}\n");
    println!(
        "{} customers, tags: {}",
        store.customer_count(),
        store
            .tags()
            .map(|t| format!(
                "{} ({})",
                t.name,
                store.members(t.id).map_or(0, |m| m.len())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    println!("\n== VIPs out\n");
    let vips = store.select(&Query::parse("VIP")?, today)?;
    let mut csv = Vec::new();
    let written = Export::new()
        .id_column()
        .write_csv(&store, vips.bitmap(), &mut csv)?;
    print!("{}", String::from_utf8_lossy(&csv));
    println!("({written})");
    let mut hashed = Vec::new();
    let hashes = write_hashed_phones(&store, vips.bitmap(), AdPlatform::Meta, &mut hashed)?;
    println!("\nMeta custom audience (SHA-256 of the digits):");
    print!("{}", String::from_utf8_lossy(&hashed));
    println!("({hashes})");
    println!(
        "\nClickHouse groupBitmap state, base64: {}",
        base64(&BitmapFormat::ClickHouse.encode(vips.bitmap()))
    );
    println!(
        "Doris/StarRocks BITMAP, base64:       {}",
        base64(&BitmapFormat::Doris.encode(vips.bitmap()))
    );
    Ok(())
}
