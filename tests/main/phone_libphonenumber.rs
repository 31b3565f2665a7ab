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
            "70#######",
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
const EXPLAINED: &[(u16, &str, bool, bool, &str)] = &[];

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
