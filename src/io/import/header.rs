//! Header names: which column holds the phone, member id or tags, in the five languages
//! customer lists arrive in.

use super::*;

/// A header cell as compared with the aliases: folded (case, width), letters and digits
/// only (so `Phone Number`, `phone_number` and `PHONE-NUMBER` are one name).
pub(super) fn header_key(cell: &str) -> String {
    fold(trim(cell))
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Phone column names (compared as [`header_key`] leaves them).
pub(super) const PHONE_ALIASES: &[&str] = &[
    // English
    "phone",
    "phonenumber",
    "phoneno",
    "mobile",
    "mobilenumber",
    "mobilephone",
    "mobileno",
    "cell",
    "cellphone",
    "tel",
    "telephone",
    "telephonenumber",
    "msisdn",
    "whatsapp",
    "whatsappnumber",
    "number",
    "contactnumber",
    "key",
    // Chinese (traditional and simplified)
    "電話",
    "電話號碼",
    "電話號",
    "手機",
    "手機號碼",
    "手機號",
    "聯絡電話",
    "號碼",
    "电话",
    "电话号码",
    "手机",
    "手机号码",
    "手机号",
    "联系电话",
    "号码",
    // Thai
    "โทรศัพท์",
    "เบอร์",
    "เบอร์โทร",
    "เบอร์โทรศัพท์",
    "หมายเลขโทรศัพท์",
    "มือถือ",
    // Russian
    "телефон",
    "номер",
    "номертелефона",
    "мобильный",
    "мобильныйтелефон",
    "тел",
    // Arabic
    "هاتف",
    "الهاتف",
    "رقمالهاتف",
    "جوال",
    "الجوال",
    "رقمالجوال",
    "موبايل",
    "رقم",
];

/// Member-id column names (compared as [`header_key`] leaves them).
pub(super) const MEMBER_ALIASES: &[&str] = &[
    "memberid",
    "member",
    "memberno",
    "membernumber",
    "customerid",
    "customer",
    "userid",
    "id",
    "key",
    "會員編號",
    "會員",
    "會員id",
    "会员编号",
    "会员",
    "会员id",
    "รหัสสมาชิก",
    "สมาชิก",
    "idклиента",
    "номерклиента",
    "клиент",
    "رقمالعضوية",
    "معرفالعميل",
    "العضو",
];

/// Tags column names (compared as [`header_key`] leaves them).
pub(super) const TAGS_ALIASES: &[&str] = &[
    "tags",
    "tag",
    "tagnames",
    "labels",
    "label",
    "標籤",
    "標簽",
    "标签",
    "แท็ก",
    "ป้ายกำกับ",
    "теги",
    "тег",
    "метки",
    "ярлыки",
    "وسوم",
    "الوسوم",
    "وسم",
    "علامات",
    "تصنيفات",
    "التصنيفات",
];

/// Phone column names that also match as the start of a longer name (`Phone (with
/// country code)`, `手機號碼(必填)`).
pub(super) const PHONE_PREFIXES: &[&str] = &[
    "phone",
    "mobile",
    "telephone",
    "whatsapp",
    "電話",
    "手機",
    "电话",
    "手机",
    "โทรศัพท์",
    "เบอร์",
    "телефон",
    "هاتف",
    "جوال",
];

/// Member-id column names that also match as the start of a longer name.
pub(super) const MEMBER_PREFIXES: &[&str] = &["memberid", "會員編號", "会员编号"];

/// The exact names and the prefixes of the key column.
pub(super) fn key_aliases(kind: KeyKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        KeyKind::Phone => (PHONE_ALIASES, PHONE_PREFIXES),
        KeyKind::MemberId => (MEMBER_ALIASES, MEMBER_PREFIXES),
    }
}

/// Country column names (compared as [`header_key`] leaves them).
pub(super) const COUNTRY_ALIASES: &[&str] = &[
    "country",
    "countrycode",
    "region",
    "國家",
    "國家代碼",
    "地區",
    "国家",
    "国家代码",
    "地区",
    "ประเทศ",
    "страна",
    "кодстраны",
    "الدولة",
    "دولة",
    "البلد",
];

/// A country cell: a covered country's two-letter code or name in the five languages, or a
/// calling code with or without `+` (any assigned code). `None` for anything else.
pub(super) fn country_of_cell(cell: &str) -> Option<Country> {
    let key = header_key(cell);
    let named = COUNTRY_NAMES.iter().find_map(|(names, country)| {
        names
            .iter()
            .any(|name| header_key(name) == key)
            .then_some(*country)
    });
    named.or_else(|| {
        let digits = trim(cell).strip_prefix('+').unwrap_or(trim(cell));
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().and_then(Country::from_calling_code)
    })
}

/// The covered countries' codes and names, as a country column writes them.
const COUNTRY_NAMES: &[(&[&str], Country)] = &[
    (
        &[
            "HK",
            "Hong Kong",
            "Hong Kong SAR",
            "香港",
            "ฮ่องกง",
            "Гонконг",
            "هونغ كونغ",
        ],
        Country::HK,
    ),
    (
        &[
            "TW",
            "Taiwan",
            "台灣",
            "臺灣",
            "台湾",
            "ไต้หวัน",
            "Тайвань",
            "تايوان",
        ],
        Country::TW,
    ),
    (
        &[
            "CN",
            "China",
            "Mainland China",
            "中國",
            "中国",
            "中國大陸",
            "中国大陆",
            "大陸",
            "大陆",
            "จีน",
            "Китай",
            "الصين",
        ],
        Country::CN,
    ),
    (
        &[
            "TH",
            "Thailand",
            "泰國",
            "泰国",
            "ไทย",
            "ประเทศไทย",
            "Таиланд",
            "تايلاند",
        ],
        Country::TH,
    ),
    (
        &[
            "RU",
            "Russia",
            "KZ",
            "Kazakhstan",
            "俄羅斯",
            "俄罗斯",
            "รัสเซีย",
            "Россия",
            "Казахстан",
            "روسيا",
        ],
        Country::RU,
    ),
    (
        &[
            "SA",
            "KSA",
            "Saudi Arabia",
            "沙特阿拉伯",
            "沙烏地阿拉伯",
            "ซาอุดีอาระเบีย",
            "Саудовская Аравия",
            "السعودية",
        ],
        Country::SA,
    ),
    (
        &[
            "AE",
            "UAE",
            "United Arab Emirates",
            "阿聯酋",
            "阿联酋",
            "สหรัฐอาหรับเอมิเรตส์",
            "ОАЭ",
            "الإمارات",
            "الامارات",
        ],
        Country::AE,
    ),
];
