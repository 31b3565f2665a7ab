//! The phone rules checked against Google's libphonenumber (its Python port `phonenumbers`,
//! version 9.0.43, installed by `scripts/chdb-venv` into the same virtual environment as
//! chDB): a table of a few hundred numbers of the covered countries, generated here from
//! each country's common ranges, written internationally (`+886 912345678`) and nationally
//! with the country as default (`0912345678` with Taiwan). Validity and digits must agree,
//! except for the differences in [`EXPLAINED`], each of which must occur.
//!
//! Skipped without the virtual environment, except under CI (`CI` set), where it fails:
//!
//! ```text
//! AUDIENCE_CHDB=$(scripts/chdb-venv) cargo test --release --test main libphonenumber
//! ```

// A test that reads the environment and starts Python.
#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use audience::phone::{Country, normalize_phone_in};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// The python of the virtual environment, or `None` (after saying why) outside CI.
fn python() -> Option<PathBuf> {
    let python = match std::env::var_os("AUDIENCE_CHDB") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let default = Path::new(MANIFEST).join("target/chdb-venv/bin/python");
            default.exists().then_some(default)
        }
    };
    match python {
        Some(p) if p.exists() => Some(p),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI needs phonenumbers for the libphonenumber comparison: run scripts/chdb-venv and set AUDIENCE_CHDB to the python it prints"
        ),
        _ => {
            eprintln!(
                "libphonenumber comparison skipped: no phonenumbers. Run it with\n    AUDIENCE_CHDB=$(scripts/chdb-venv) cargo test --release --test main libphonenumber"
            );
            None
        }
    }
}

/// Reads `input<TAB>region` lines; prints `valid<TAB>digits` or `invalid<TAB>` for each.
const SCRIPT: &str = r#"
import sys, phonenumbers
assert phonenumbers.__version__ == "9.0.43", phonenumbers.__version__
for line in sys.stdin:
    raw, region = line.rstrip("\n").split("\t")
    try:
        n = phonenumbers.parse(raw, region or None)
        ok = phonenumbers.is_valid_number(n)
        digits = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)[1:]
        print(("valid" if ok else "invalid") + "\t" + digits)
    except phonenumbers.NumberParseException:
        print("invalid\t")
"#;

/// Per covered country: its region, and national significant numbers as templates (`#` is
/// a random digit) from its mobile, fixed-line, toll-free and shared-cost ranges.
const TEMPLATES: &[(Country, &str, &[&str])] = &[
    (
        Country::HK,
        "HK",
        &[
            "9#######",
            "6#######",
            "5#######",
            "2#######",
            "3#######",
            "800######",
        ],
    ),
    (
        Country::TW,
        "TW",
        &[
            "9########",
            "2########",
            "4########",
            "3#######",
            "7#######",
            "800######",
        ],
    ),
    (
        Country::CN,
        "CN",
        &[
            "13#########",
            "15#########",
            "18#########",
            "10########",
            "21########",
            "755########",
            "400#######",
        ],
    ),
    (
        Country::TH,
        "TH",
        &[
            "8########",
            "9########",
            "6########",
            "2#######",
            "5#######",
            "1800######",
        ],
    ),
    (
        Country::RU,
        "RU",
        &[
            "9#########",
            "495#######",
            "812#######",
            "800#######",
            "70########",
            "77########",
        ],
    ),
    (
        Country::SA,
        "SA",
        &["5########", "11#######", "800#######", "920######"],
    ),
    (
        Country::AE,
        "AE",
        &[
            "50#######",
            "55#######",
            "4#######",
            "2#######",
            "600######",
            "800#######",
        ],
    ),
];

/// Deliberate differences: (calling code, leading digits of the national number, ours
/// valid, libphonenumber's valid, why).
///
/// All of one kind: the rules here check a number's leading digits (one to four) and its
/// length, and libphonenumber knows which blocks of a range are allocated. A number in an
/// unallocated block of a valid range passes here (the module documentation says so under
/// "What is not validated"): a customer list is checked for misreads, not for numbers in
/// service, and allocations change more often than this crate is released.
const EXPLAINED: &[(u16, &str, bool, bool, &str)] = &[
    (
        852,
        "5",
        true,
        false,
        "Hong Kong 5 is mobile here; the 508x block is not allocated",
    ),
    (
        852,
        "3",
        true,
        false,
        "Hong Kong 3 is fixed line here; 32x and 33x are not allocated",
    ),
    (
        886,
        "29",
        true,
        false,
        "Taipei (2) with 8 digits here; its exchanges begin 2[2-8]",
    ),
    (
        886,
        "4",
        true,
        false,
        "Taiwan 4 with 8-9 digits here; 40x, 46x-48x are not allocated",
    ),
    (
        886,
        "30",
        true,
        false,
        "Taiwan 3 with 8 digits here; 30 is not an area code",
    ),
    (
        86,
        "154",
        true,
        false,
        "mainland 13-19 with 11 digits is mobile here; 154 is not allocated",
    ),
    (
        86,
        "210",
        true,
        false,
        "Shanghai 21 with 8 digits here; 210 is a carrier block there",
    ),
    (
        66,
        "69",
        true,
        false,
        "Thai 6 with 9 digits is mobile here; 69 is not allocated",
    ),
    (
        66,
        "5",
        true,
        false,
        "Thai 5 with 8 digits is fixed line here; 50 and 58 are not area codes",
    ),
    (
        7,
        "70",
        true,
        false,
        "Kazakh 70 is mobile here; 703 and 704 are not allocated",
    ),
    (
        7,
        "77",
        true,
        false,
        "Kazakh 77 is mobile here; only 771 and 775-778 are allocated",
    ),
    (
        966,
        "52",
        true,
        false,
        "Saudi 5 is mobile here; 52 is not allocated",
    ),
    (
        971,
        "4",
        true,
        false,
        "UAE fixed lines are 8 digits here; the second digit must be 2-8",
    ),
    (
        971,
        "600",
        true,
        false,
        "UAE 600 is a UAN here; only 6002 and 6005 are allocated",
    ),
];

struct Row {
    input: String,
    region: &'static str,
    country: Country,
    national: String,
}

fn table() -> Vec<Row> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut rows = Vec::new();
    for &(country, region, templates) in TEMPLATES {
        for template in templates {
            for _ in 0..8 {
                let national: String = template
                    .chars()
                    .map(|c| match c {
                        '#' => char::from(b'0' + (next() % 10) as u8),
                        c => c,
                    })
                    .collect();
                rows.push(Row {
                    input: format!("+{} {national}", country.calling_code()),
                    region: "",
                    country,
                    national: national.clone(),
                });
                let trunk = country.trunk_prefix().unwrap_or("");
                rows.push(Row {
                    input: format!("{trunk}{national}"),
                    region,
                    country,
                    national,
                });
            }
        }
    }
    rows
}

#[test]
fn libphonenumber_agrees_on_the_covered_countries() {
    let Some(python) = python() else { return };
    let rows = table();
    assert!(rows.len() >= 300, "{}", rows.len());
    let mut child = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().unwrap();
    for row in &rows {
        writeln!(stdin, "{}\t{}", row.input, row.region).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    let answers: Vec<(bool, String)> = out
        .lines()
        .map(|l| {
            let (v, d) = l.split_once('\t').unwrap();
            (v == "valid", d.to_string())
        })
        .collect();
    assert_eq!(answers.len(), rows.len());

    let mut unexplained = Vec::new();
    let mut used = vec![false; EXPLAINED.len()];
    for (row, (theirs_valid, theirs)) in rows.iter().zip(&answers) {
        let countries: &[Country] = if row.region.is_empty() {
            &[]
        } else {
            &[row.country]
        };
        let ours = normalize_phone_in(&row.input, countries).map(|p| p.to_string());
        let ours_valid = ours.is_ok();
        if ours_valid == *theirs_valid && (!ours_valid || ours.as_deref() == Ok(theirs.as_str())) {
            continue;
        }
        let code = row.country.calling_code();
        match EXPLAINED.iter().position(|&(c, lead, o, t, _)| {
            c == code && row.national.starts_with(lead) && o == ours_valid && t == *theirs_valid
        }) {
            Some(i) => used[i] = true,
            None => unexplained.push(format!(
                "{} ({}): ours {:?}, libphonenumber {} {}",
                row.input,
                if row.region.is_empty() {
                    "-"
                } else {
                    row.region
                },
                ours,
                if *theirs_valid { "valid" } else { "invalid" },
                theirs
            )),
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} differences not explained:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    let unused: Vec<_> = EXPLAINED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(e, _)| e)
        .collect();
    assert!(
        unused.is_empty(),
        "explained differences that no longer occur: {unused:?}"
    );
}
