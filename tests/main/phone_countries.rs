//! Numbers read against a set of expected countries: the cases of a Hong Kong shop's list
//! (Hong Kong, Taiwan, mainland and Thai numbers) and a Thai exporter's, dialling prefixes,
//! labels, country letters and extensions, line types, and the messages of numbers that fit
//! no country or several; the importer's report of such a list, word for word.

use audience::import::{FailureKind, Importer, WarningKind};
use audience::phone::{
    Country, LineType, Phone, PhoneError, Reading, normalize_phone, normalize_phone_in, read_phone,
};
use audience::{Day, Edit, Store};
use proptest::prelude::*;

const MIXED: [Country; 4] = [Country::HK, Country::TW, Country::CN, Country::TH];

fn digits(raw: &str, countries: &[Country]) -> Result<String, String> {
    normalize_phone_in(raw, countries)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}

/// The misreads the issue lists, each now read right or refused with a message that says why.
#[test]
fn a_mixed_list_reads_each_number_in_its_country() {
    // `0912 345 678` (a Taiwanese mobile) and `0904-822-084` are valid mobiles in Taiwan and
    // in Thailand: in a list of both, the row fails, naming both readings.
    assert_eq!(
        digits("0912 345 678", &MIXED),
        Err(
            "number \"0912 345 678\" fits more than one expected country: 886912345678 in \
             Taiwan (+886) and 66912345678 in Thailand (+66); write it with its country code \
             (+886 or +66), or give the row's country"
                .into()
        )
    );
    assert!(matches!(
        normalize_phone_in("0904-822-084", &MIXED),
        Err(PhoneError::AmbiguousCountry { candidates, .. })
            if candidates == vec![Phone::from_u64(886904822084).unwrap(), Phone::from_u64(66904822084).unwrap()]
    ));
    // `2345 6789` (a Hong Kong landline): only Hong Kong has 8-digit numbers starting with 2
    // written without a trunk prefix; Taipei needs its area code.
    assert_eq!(digits("2345 6789", &MIXED), Ok("85223456789".into()));
    // `081 234 5678` (a Thai mobile) is Thai, not Taiwanese.
    assert_eq!(digits("081 234 5678", &MIXED), Ok("66812345678".into()));
    // A mainland mobile and landline.
    assert_eq!(digits("138 0013 8000", &MIXED), Ok("8613800138000".into()));
    assert_eq!(digits("010-6552 9988", &MIXED), Ok("861065529988".into()));
    // `(852) 5653 0010`: Hong Kong's own code in front.
    let parsed = read_phone("(852) 5653 0010", &MIXED).unwrap();
    assert_eq!(parsed.phone.to_string(), "85256530010");
    assert_eq!(parsed.read_as, Reading::CountryCode);
}

#[test]
fn one_country_cannot_tell_and_says_what_it_tried() {
    // With Thailand alone, a Taiwanese mobile is a valid Thai one: the list's countries must
    // be given to tell them apart (see the test above).
    assert_eq!(
        digits("0912 345 678", &[Country::TH]),
        Ok("66912345678".into())
    );
    // With Taiwan alone, a Thai mobile is no Taiwanese number, and the message says so and
    // what it would be in Thailand.
    assert_eq!(
        digits("081 234 5678", &[Country::TW]),
        Err(
            "number \"081 234 5678\" is not valid in the expected country: as a number of \
             Taiwan (+886) it would start with 81, which no number there does; as written it \
             is valid as 66812345678 in Thailand (+66): add that country to the expected \
             countries or write the number with its country code"
                .into()
        )
    );
    // `(852) 5653 0010` under a Thai default: Hong Kong, read through its country code.
    let parsed = read_phone("(852) 5653 0010", &[Country::TH]).unwrap();
    assert_eq!(parsed.phone.to_string(), "85256530010");
    assert_eq!(parsed.read_as, Reading::OtherCountryCode);
    assert_eq!(parsed.line_type, LineType::Mobile);
    // An eight-digit Taipei landline without its area code.
    assert_eq!(
        digits("2345 6789", &[Country::TW]),
        Err(
            "number \"2345 6789\" is missing its area code for Taiwan (+886): 8 digits is a \
             local number there; write the area code in front (02 for Taipei)"
                .into()
        )
    );
    assert_eq!(
        normalize_phone("2345 6789", Some(Country::TW)),
        Err(PhoneError::MissingAreaCode {
            input: "2345 6789".into(),
            country_code: 886
        })
    );
    assert_eq!(
        digits("02 2345 6789", &[Country::TW]),
        Ok("886223456789".into())
    );
    // Several countries, none fits: each one's reason.
    assert_eq!(
        digits("12 3456", &[Country::HK, Country::TW]),
        Err(
            "number \"12 3456\" is not valid in any expected country: as a number of Hong \
             Kong (+852) it would start with 1, which no number there does; as a number of \
             Taiwan (+886) it would start with 1, which no number there does"
                .into()
        )
    );
    assert_eq!(
        digits("2345 678", &[Country::HK, Country::TH]),
        Err(
            "number \"2345 678\" is not valid in any expected country: as a number of Hong \
             Kong (+852) it has 7 digits after the country code, at least 8 are needed; as a \
             number of Thailand (+66) it misses the area code (02 for Bangkok)"
                .into()
        )
    );
}

#[test]
fn another_countrys_code_is_read_when_no_national_reading_fits() {
    // 6621234567: a Thai landline in the canonical format, but also a mainland landline
    // written without its trunk prefix: with mainland China expected, the national reading
    // comes first, as before expected countries were a set. Written with + (or 00) it is
    // international, whatever the list.
    assert_eq!(
        digits("6621234567", &[Country::CN]),
        Ok("866621234567".into())
    );
    assert_eq!(
        digits("+66 2123 4567", &[Country::CN]),
        Ok("6621234567".into())
    );
    assert_eq!(
        digits("0066 2123 4567", &[Country::CN]),
        Ok("6621234567".into())
    );
}

/// Every international dialling prefix of the table, with a Hong Kong mobile behind it, and
/// the generic `00` from anywhere.
#[test]
fn every_dialling_prefix_in_the_table() {
    let table: &[(Country, &[&str])] = &[
        (
            Country::HK,
            &[
                "001", "002", "006", "0060", "007", "008", "009", "0030", "0050", "0059",
            ],
        ),
        (Country::TW, &["002", "005", "006", "007", "009", "019"]),
        (
            Country::TH,
            &[
                "001", "002", "003", "004", "005", "006", "007", "008", "009",
            ],
        ),
        // Russia and Kazakhstan share +7 and its prefixes (`Country::RU`).
        (
            Country::RU,
            &["810", "8~10", "8 10", "8-10", "8 ~ 10", "8～10", "8〜10"],
        ),
        (Country::CN, &["00"]),
        (Country::SA, &["00"]),
        (Country::AE, &["00"]),
    ];
    for &(country, prefixes) in table {
        for prefix in prefixes {
            // A number dialled abroad with the prefix whose digits, after `00`, are no
            // valid number (else `00` and that number would be read: see below).
            let targets = [
                ("86 138 0013 8000", "8613800138000"),
                ("7 912 345 67 89", "79123456789"),
                ("852 9123 4567", "85291234567"),
                ("66 81 234 5678", "66812345678"),
            ];
            let (number, want) = targets
                .into_iter()
                .find(|(number, _)| match prefix.strip_prefix("00") {
                    Some(tail) if !tail.is_empty() => {
                        normalize_phone_in(&format!("00{tail}{number}"), &[]).is_err()
                    }
                    _ => true,
                })
                .unwrap();
            let raw = format!("{prefix} {number}");
            let parsed = read_phone(&raw, &[country]).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(parsed.phone.to_string(), want, "{raw}");
            if *prefix != "00" {
                assert!(
                    matches!(parsed.read_as, Reading::DiallingPrefix { from, .. } if from == country)
                        || parsed.read_as == Reading::International,
                    "{raw}: {:?}",
                    parsed.read_as
                );
            }
        }
    }
    // The refusals: 002 from Taiwan, 001 from Thailand, 810 from Russia.
    assert_eq!(
        digits("002 852 9123 4567", &[Country::TW]),
        Ok("85291234567".into())
    );
    assert_eq!(
        digits("001 1 212 555 0100", &[Country::TH]),
        Ok("12125550100".into())
    );
    assert_eq!(
        digits("8 10 852 9123 4567", &[Country::RU]),
        Ok("85291234567".into())
    );
    // `8~10` as people write it, the tilde ("wait for the tone") only there.
    assert_eq!(
        digits("8~10 852 9123 4567", &[Country::RU]),
        Ok("85291234567".into())
    );
    let tilde = read_phone("8~10 852 9123 4567", &[Country::RU]).unwrap();
    assert_eq!(
        tilde.read_as,
        Reading::DiallingPrefix {
            from: Country::RU,
            prefix: "810"
        }
    );
    for misplaced in [
        "8~852 9123 4567",
        "~810 852 9123 4567",
        "081~234 5678",
        "+8~10 852 9123 4567",
    ] {
        let err = normalize_phone_in(misplaced, &[Country::RU, Country::TH]).unwrap_err();
        assert!(err.to_string().contains("'~'"), "{misplaced}: {err}");
    }
    assert_eq!(
        normalize_phone_in("081~234 5678", &[Country::TH])
            .unwrap_err()
            .to_string(),
        "number \"081~234 5678\" has an invalid character '~' at position 4"
    );
    let via = read_phone("002 852 9123 4567", &[Country::TW]).unwrap();
    assert_eq!(
        via.read_as,
        Reading::DiallingPrefix {
            from: Country::TW,
            prefix: "002"
        }
    );
    // `00` then a valid country code wins over a longer prefix: libphonenumber reads
    // 00852... from Hong Kong as 008 + Mexico; a seller means Hong Kong.
    assert_eq!(
        digits("00852 9123 4567", &[Country::HK]),
        Ok("85291234567".into())
    );
    // A prefix of a country that is not expected is not used: 019 is Taiwan's.
    assert!(normalize_phone_in("019 852 9123 4567", &[Country::HK]).is_err());
    // Where `00` and a longer prefix both give a number, `00` and a country code is read,
    // so that 00 before any number's E.164 digits reads it back.
    assert_eq!(
        digits("0030 886 912 345 678", &[Country::HK]),
        Ok("30886912345678".into())
    );
    assert_eq!(
        digits("008 66 81 234 5678", &[Country::HK]),
        Ok("866812345678".into())
    );
    assert_eq!(
        digits("00 979 000 000 000", &[Country::HK]),
        Ok("979000000000".into())
    );
}

#[test]
fn labels_and_country_letters_are_taken_off() {
    let cases: &[(&str, &[Country], &str)] = &[
        ("Tel. 9123 4567", &[Country::HK], "85291234567"),
        ("Tel: +852 9123 4567", &[], "85291234567"),
        ("Phone: 0912-345-678", &[Country::TW], "886912345678"),
        ("тел. 8 912 345-67-89", &[Country::RU], "79123456789"),
        ("Тел.: +7 912 345 67 89", &[], "79123456789"),
        ("電話 0912 345 678", &[Country::TW], "886912345678"),
        ("電話：0912 345 678", &[Country::TW], "886912345678"),
        ("手机 138 0013 8000", &[Country::CN], "8613800138000"),
        ("โทร 081 234 5678", &[Country::TH], "66812345678"),
        ("โทร. 081-234-5678", &[Country::TH], "66812345678"),
        ("هاتف 050 123 4567", &[Country::SA], "966501234567"),
        ("هاتف: ٠٥٠ ١٢٣ ٤٥٦٧", &[Country::SA], "966501234567"),
        ("WhatsApp: +971 50 123 4567", &[], "971501234567"),
        // Country letters: the country of the number, whatever the list expects.
        ("HK 9123 4567", &[Country::TW], "85291234567"),
        ("HK9123 4567", &[], "85291234567"),
        ("TW 0912 345 678", &[Country::TH], "886912345678"),
        ("tw 0912 345 678", &[Country::TH], "886912345678"),
        ("TH 081 234 5678", &[Country::TW], "66812345678"),
        ("CN 138 0013 8000", &[], "8613800138000"),
        ("KZ 8 701 234 56 78", &[], "77012345678"),
        ("HK +852 9123 4567", &[], "85291234567"),
        ("Tel. HK 9123 4567", &[], "85291234567"),
    ];
    for &(raw, countries, want) in cases {
        assert_eq!(digits(raw, countries), Ok(want.to_string()), "{raw}");
    }
    let parsed = read_phone("HK 9123 4567", &[Country::TW]).unwrap();
    assert_eq!(parsed.read_as, Reading::CountryLetters(Country::HK));
    assert_eq!(
        digits("HK +886 912 345 678", &[]),
        Err(
            "number \"HK +886 912 345 678\" is marked as Hong Kong (+852) but its country code \
             is +886: fix one of them"
                .into()
        )
    );
    // A word that only begins like a label, or letters that are no country we know.
    assert_eq!(
        digits("Telex 9123 4567", &[Country::HK]),
        Err("number \"Telex 9123 4567\" has an invalid character 'T' at position 1".into())
    );
    assert_eq!(
        digits("UK 7911 123456", &[Country::HK]),
        Err("number \"UK 7911 123456\" has an invalid character 'U' at position 1".into())
    );
}

#[test]
fn extensions_are_split_off_and_kept() {
    let cases: &[(&str, &[Country], &str, &str)] = &[
        ("+852 2123 4567 ext. 12", &[], "85221234567", "12"),
        ("2123 4567 #12", &[Country::HK], "85221234567", "12"),
        ("2123 4567#12", &[Country::HK], "85221234567", "12"),
        (
            "8 (495) 123-45-67 доб. 12",
            &[Country::RU],
            "74951234567",
            "12",
        ),
        (
            "8 495 123 45 67 ДОБ 345",
            &[Country::RU],
            "74951234567",
            "345",
        ),
        ("02 123 4567 ต่อ 12", &[Country::TH], "6621234567", "12"),
        ("02-2345-6789 轉 12", &[Country::TW], "886223456789", "12"),
        ("02-2345-6789 分機 12", &[Country::TW], "886223456789", "12"),
        (
            "010 6552 9988 转 8001",
            &[Country::CN],
            "861065529988",
            "8001",
        ),
        ("+852 2123 4567 x12", &[], "85221234567", "12"),
        ("+852 2123 4567 X 12", &[], "85221234567", "12"),
        ("tel:+852-2123-4567;ext=12", &[], "85221234567", "12"),
        ("+852 2123 4567 extension 9", &[], "85221234567", "9"),
    ];
    for &(raw, countries, want, ext) in cases {
        let parsed = read_phone(raw, countries).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(parsed.phone.to_string(), want, "{raw}");
        assert_eq!(
            parsed.extension.map(|e| e.to_string()).as_deref(),
            Some(ext),
            "{raw}"
        );
    }
    assert_eq!(read_phone("+852 9123 4567", &[]).unwrap().extension, None);
}

#[test]
fn line_types_of_the_covered_countries() {
    let cases: &[(&str, LineType)] = &[
        ("+852 9123 4567", LineType::Mobile),
        ("+852 2123 4567", LineType::FixedLine),
        ("+852 7123 4567", LineType::Pager),
        ("+852 800 123 456", LineType::TollFree),
        ("+886 912 345 678", LineType::Mobile),
        ("+886 2 2345 6789", LineType::FixedLine),
        ("+886 70 1234 5678", LineType::Voip),
        ("+886 800 123 456", LineType::TollFree),
        ("+86 138 0013 8000", LineType::Mobile),
        ("+86 10 6552 9988", LineType::FixedLine),
        ("+86 400 123 4567", LineType::SharedCost),
        ("+66 81 234 5678", LineType::Mobile),
        ("+66 2 123 4567", LineType::FixedLine),
        ("+66 1800 123 456", LineType::TollFree),
        ("+7 912 345 67 89", LineType::Mobile),
        ("+7 495 123 45 67", LineType::FixedLine),
        ("+7 701 234 56 78", LineType::Mobile),
        ("+966 50 123 4567", LineType::Mobile),
        ("+966 11 234 5678", LineType::FixedLine),
        ("+966 9200 12345", LineType::SharedCost),
        ("+971 50 123 4567", LineType::Mobile),
        ("+971 4 123 4567", LineType::FixedLine),
        ("+44 7911 123456", LineType::Unknown),
    ];
    for &(raw, want) in cases {
        assert_eq!(read_phone(raw, &[]).unwrap().line_type, want, "{raw}");
    }
}

fn day() -> Day {
    Day::from_ymd(2026, 3, 2).unwrap()
}

/// A Hong Kong shop's list with each case, imported with its four countries: the report,
/// word for word.
#[test]
fn the_mixed_list_report() {
    let file = "phone,tags\n\
                0912 345 678,VIP\n\
                2345 6789,VIP\n\
                081 234 5678,VIP\n\
                (852) 5653 0010,VIP\n\
                138 0013 8000 轉 12,VIP\n\
                Tel. 9123 4567,VIP\n\
                HK 6123 4567,VIP\n\
                002 852 5123 4567,VIP\n\
                0904-822-084,VIP\n\
                12 3456,VIP\n";
    let mut store = Store::new();
    let edit = Edit::new("import", day());
    store
        .create_tag(&edit, audience::TagSpec::new("VIP"))
        .unwrap();
    let importer = Importer::new()
        .countries(&MIXED)
        .unwrap()
        .max_failed_share(0.5)
        .unwrap();
    let report = importer.import_str(&mut store, file, &edit).unwrap();
    assert_eq!(report.rows_imported, 7);
    assert_eq!(report.failure_counts[&FailureKind::AmbiguousCountry], 2);
    assert_eq!(report.warning_counts[&WarningKind::Extension], 1);
    assert_eq!(report.warning_counts[&WarningKind::NotMobile], 1);
    assert_eq!(
        report.to_string(),
        "10 rows read: 7 imported, 3 skipped.\n\
         Customers: 7 created, 0 updated, 0 unchanged. Memberships: 7 added, 0 removed.\n\
         Failed rows: 3 of 10 (30%), with 3 failures:\n\
         \x20 invalid phone number: 1\n\
         \x20 phone number fits several countries: 2\n\
         \x20 line 2, column 1 (phone): \"0912 345 678\": number \"0912 345 678\" fits more than one expected country: 886912345678 in Taiwan (+886) and 66912345678 in Thailand (+66); write it with its country code (+886 or +66), or give the row's country; row skipped\n\
         \x20 line 10, column 1 (phone): \"0904-822-084\": number \"0904-822-084\" fits more than one expected country: 886904822084 in Taiwan (+886) and 66904822084 in Thailand (+66); write it with its country code (+886 or +66), or give the row's country; row skipped\n\
         \x20 line 11, column 1 (phone): \"12 3456\": number \"12 3456\" is not valid in any expected country: as a number of Hong Kong (+852) it would start with 1, which no number there does; as a number of Taiwan (+886) it would start with 1, which no number there does; as a number of mainland China (+86) it would start with 12, which no number there does; as a number of Thailand (+66) it would start with 12, which no number there does; row skipped\n\
         Warnings: 2 (rows imported; check them).\n\
         \x20 extension split off: 1\n\
         \x20 not a mobile number: 1\n\
         \x20 line 3, column 1 (phone): \"2345 6789\": a fixed-line number (85223456789): WhatsApp and LINE reach mobiles, so messages may not arrive; row imported\n\
         \x20 line 6, column 1 (phone): \"138 0013 8000 轉 12\": extension 12 split off, the number 8613800138000 kept; row imported\n\
         Within the 50% of failed rows allowed; fix the rows above and import them again."
    );
}

/// A Thai exporter's list with a country column in Thai.
#[test]
fn a_country_column_decides_for_its_row() {
    let file = "เบอร์โทร,ประเทศ,แท็ก\n\
                0912 345 678,TW,VIP\n\
                0912 345 678,ไทย,VIP\n\
                050 123 4567,السعودية,VIP\n\
                050 123 4567,+971,VIP\n\
                081 234 5678,,VIP\n\
                (852) 5653 0010,,VIP\n\
                081 234 5678,Narnia,VIP\n";
    let mut store = Store::new();
    let edit = Edit::new("import", day());
    store
        .create_tag(&edit, audience::TagSpec::new("VIP"))
        .unwrap();
    let importer = Importer::new()
        .countries(&[Country::TH, Country::SA, Country::AE])
        .unwrap()
        .max_failed_share(0.5)
        .unwrap();
    let report = importer.dry_run_str(&store, file, &edit).unwrap();
    assert_eq!(report.country_column, Some(2));
    assert_eq!(report.tags_column, Some(3));
    assert_eq!(report.rows_imported, 6);
    assert_eq!(
        report.failures[0].to_string(),
        "line 8, column 2 (country): \"Narnia\": unknown country: write a country code (HK, \
         TW, CN, TH, RU, SA, AE), its name, or its calling code (852); row skipped"
    );
    assert_eq!(
        report.warnings[0].to_string(),
        "line 7, column 1 (phone): \"(852) 5653 0010\": read as 85256530010 with the country \
         code +852, which is not an expected country, since no expected country's number \
         fits; row imported"
    );
}

#[test]
fn importer_countries_are_validated_and_serialised() {
    let many: Vec<Country> = (1..=999).filter_map(Country::from_calling_code).collect();
    let err = Importer::new().countries(&many[..17]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid setting Importer::countries: a list has at most 16 expected countries, got 17"
    );
    let importer = Importer::new()
        .countries(&[Country::HK, Country::TW, Country::HK])
        .unwrap();
    let json = serde_json::to_string(&importer).unwrap();
    assert!(json.contains("\"countries\":[852,886]"), "{json}");
    let back: Importer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, importer);
    // Options saved with one default country still load.
    let old = json.replace("\"countries\":[852,886]", "\"default_country\":66");
    let back: Importer = serde_json::from_str(&old).unwrap();
    assert_eq!(back, Importer::new().default_country(Country::TH));
}

/// Country sets the properties draw from: none, the covered countries, and a few under the
/// generic rule.
fn country_sets() -> impl Strategy<Value = Vec<Country>> {
    let pool: Vec<Country> = vec![
        Country::HK,
        Country::TW,
        Country::CN,
        Country::TH,
        Country::RU,
        Country::SA,
        Country::AE,
        Country::from_calling_code(1).unwrap(),
        Country::from_calling_code(44).unwrap(),
        Country::from_calling_code(65).unwrap(),
    ];
    prop::sample::subsequence(pool, 0..=5).prop_shuffle()
}

/// Decorated phone-like text: labels, letters, prefixes, digits, separators, extensions.
fn decorated() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "",
            "Tel. ",
            "тел. ",
            "電話 ",
            "โทร ",
            "هاتف ",
            "HK ",
            "TW ",
            "+",
            "00",
            "002 ",
            "001 ",
            "810 ",
        ]),
        "[0-9 \\-()]{4,16}",
        prop::sample::select(vec![
            "",
            " ext. 12",
            " #3",
            " доб. 45",
            " ต่อ 6",
            " 轉 7",
            " x",
        ]),
    )
        .prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

proptest! {
    /// Whatever is accepted, under whatever countries: its E.164 digits with `+` (or `00`)
    /// read back to it under any country set, and its bare digits under no country or any
    /// set that holds its own country.
    #[test]
    fn accepted_numbers_read_back_to_themselves(
        raw in prop_oneof![decorated(), "[0-9+ ]{4,18}"],
        countries in country_sets(),
        other in country_sets(),
    ) {
        let Ok(parsed) = read_phone(&raw, &countries) else { return Ok(()) };
        let digits = parsed.phone.to_string();
        prop_assert_eq!(normalize_phone_in(&format!("+{digits}"), &other), Ok(parsed.phone));
        prop_assert_eq!(normalize_phone_in(&format!("00{digits}"), &other), Ok(parsed.phone));
        prop_assert_eq!(normalize_phone_in(&digits, &[]), Ok(parsed.phone));
        let own = Country::from_calling_code(parsed.phone.country_code()).unwrap();
        let mut with_own = other.clone();
        with_own.push(own);
        prop_assert_eq!(normalize_phone_in(&digits, &with_own), Ok(parsed.phone));
        prop_assert_eq!(digits.parse::<Phone>(), Ok(parsed.phone));
    }

    /// A national number valid in exactly one of the expected countries is that country's,
    /// whatever the order of the set.
    #[test]
    fn the_order_of_the_countries_does_not_matter(
        raw in decorated(),
        countries in country_sets(),
    ) {
        let mut reversed = countries.clone();
        reversed.reverse();
        prop_assert_eq!(
            normalize_phone_in(&raw, &countries).ok(),
            normalize_phone_in(&raw, &reversed).ok()
        );
    }
}
