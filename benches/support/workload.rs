//! The workload data: generated in Rust with the model of `../shared/peers/gen_dataset.py`,
//! or loaded from a directory that script wrote.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::rng::Rng;
use super::spec::{
    Kind, SEG_EXTRA_ORDERS, SEG_INTERACT_TAU, SEG_P_PURCHASE, SEG_PRIOR, TAGS, TIER_CUTS,
};

/// "Today" of the workload: 2025-01-01 as days since 2020-01-01.
pub const REFERENCE_DAY: i32 = 1827;
/// The last day any generated event can fall on (2024-12-31).
pub const MAX_DAY: i32 = REFERENCE_DAY - 1;
/// `first_purchase_day` / `last_purchase_day` of customers who never purchased.
pub const NEVER_PURCHASED: i32 = -1;
/// The seed `gen_dataset.py` uses by default.
pub const DEFAULT_SEED: u64 = 20_240_601;
/// Environment variable naming the `--out` directory of `gen_dataset.py`; the data set for
/// `n` customers is read from its subdirectory `<n>/`.
pub const DATA_ENV: &str = "AUDIENCE_PEERS_DATA";

/// One tag of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagData {
    /// `<prefix>/<value>`, unique.
    pub name: String,
    /// One of the five dimensions (`purchasing_power`, `interests`, ...).
    pub dimension: String,
    /// Customer ids, sorted, unique, all below `n`.
    pub members: Vec<u32>,
}

/// The customer base: tags and attribute columns (index = customer id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Customers are `0..n`.
    pub n: u32,
    /// "Today" in days since 2020-01-01 (1827 = 2025-01-01).
    pub reference_day: i32,
    /// Index = tag id.
    pub tags: Vec<TagData>,
    /// Days since 2020-01-01 of the last interaction of any kind; always in `0..=MAX_DAY`.
    pub last_interaction_day: Vec<i32>,
    /// Days since 2020-01-01; -1 = never purchased.
    pub first_purchase_day: Vec<i32>,
    /// Days since 2020-01-01; -1 = never purchased.
    pub last_purchase_day: Vec<i32>,
    /// Number of orders; 0 = never purchased.
    pub purchase_count: Vec<u32>,
    /// Lifetime spend in cents; 0 when `purchase_count == 0`.
    pub monetary_cents: Vec<u64>,
}

impl Workload {
    /// Total number of (customer, tag) pairs.
    pub fn memberships(&self) -> u64 {
        self.tags.iter().map(|t| t.members.len() as u64).sum()
    }

    /// Customers with at least one purchase.
    pub fn purchasers(&self) -> u64 {
        self.purchase_count.iter().filter(|&&c| c > 0).count() as u64
    }

    /// The tag id of `name`, if it exists.
    pub fn tag_id(&self, name: &str) -> Option<usize> {
        self.tags.iter().position(|t| t.name == name)
    }

    /// The members of tag `name`; panics for an unknown name.
    pub fn members(&self, name: &str) -> &[u32] {
        let id = self
            .tag_id(name)
            .unwrap_or_else(|| panic!("unknown tag {name:?}"));
        &self.tags[id].members
    }

    /// The workload for `n` customers, deterministic for `seed`.
    ///
    /// The model is the one of `gen_dataset.py`: hidden segments and a latent wealth drive the
    /// purchase and recency attributes and the tag probabilities (Bernoulli tags with segment
    /// affinities, wealth and engagement factors; child tags tied to a parent interest;
    /// exclusive wealth tiers; stage and activity tags derived from the attributes; tiny tags
    /// of 7, 10, 0 ... members whatever `n`). The random streams are not numpy's, so the
    /// members differ from the script's output, but every tag has the same expected size and
    /// the attributes the same distributions. Work is spread over the available cores without
    /// changing the result.
    pub fn generate(n: u32, seed: u64) -> Workload {
        assert!(n > 0, "a workload needs at least one customer");
        let (attrs, latent) = gen_attributes(n, seed);
        let tags = gen_tags(n, seed, &attrs, &latent);
        Workload {
            n,
            reference_day: REFERENCE_DAY,
            tags,
            last_interaction_day: attrs.last_interaction_day,
            first_purchase_day: attrs.first_purchase_day,
            last_purchase_day: attrs.last_purchase_day,
            purchase_count: attrs.purchase_count,
            monetary_cents: attrs.monetary_cents,
        }
    }

    /// Reads the data set `gen_dataset.py` wrote into `dir` (its `<out>/<n>/` directory):
    /// `tag_names.csv`, `tags.bin` and the five `attrs_<column>.bin` files, checking their
    /// sizes, the member counts and order, and `n_customers` in `manifest.json` when present.
    pub fn load_dir(dir: &Path, n: u32) -> io::Result<Workload> {
        load_dir(dir, n)
    }

    /// The data set for `n` customers from the directory named by `AUDIENCE_PEERS_DATA`
    /// (`<dir>/<n>/`), so benches measure on the very data of the other engines; otherwise
    /// (variable unset or no data set for this `n`) the Rust generator with the default seed.
    /// Says on stderr which source it used. Panics when the data set exists but is invalid.
    #[allow(clippy::disallowed_methods)] // bench support: reads the environment and a clock
    pub fn from_env_or_generate(n: u32) -> Workload {
        let start = Instant::now();
        if let Some(out) = std::env::var_os(DATA_ENV) {
            let dir = PathBuf::from(out).join(n.to_string());
            if dir.join("tags.bin").is_file() {
                let w = Workload::load_dir(&dir, n)
                    .unwrap_or_else(|e| panic!("{DATA_ENV}: cannot load {}: {e}", dir.display()));
                eprintln!(
                    "workload: {n} customers, {} memberships loaded from {} ({:.1} s)",
                    w.memberships(),
                    dir.display(),
                    start.elapsed().as_secs_f64()
                );
                return w;
            }
            eprintln!(
                "workload: {DATA_ENV} is set but {} holds no data set; generating instead",
                dir.display()
            );
        }
        let w = Workload::generate(n, DEFAULT_SEED);
        eprintln!(
            "workload: {n} customers, {} memberships generated in Rust (seed {DEFAULT_SEED}, \
             {:.1} s); set {DATA_ENV} to the --out directory of gen_dataset.py to use its data",
            w.memberships(),
            start.elapsed().as_secs_f64()
        );
        w
    }
}

// ------------------------------------------------------------------------------------------
// Generator

/// Customers per attribute chunk: each chunk has its own random stream, so the result does
/// not depend on how chunks are spread over threads.
const CHUNK: usize = 1 << 16;
/// Stream ids of the tags start here (chunk streams are numbered from 0).
const TAG_STREAMS: u64 = 1 << 40;
/// Distinct values of `REFERENCE_DAY - last_interaction_day` (1..=1827) plus one.
const RECENCY: usize = REFERENCE_DAY as usize + 1;

struct Attrs {
    last_interaction_day: Vec<i32>,
    first_purchase_day: Vec<i32>,
    last_purchase_day: Vec<i32>,
    purchase_count: Vec<u32>,
    monetary_cents: Vec<u64>,
}

/// Per-customer hidden variables the tags depend on.
struct Latent {
    seg: Vec<u8>,
    wealth: Vec<f32>,
    /// `seg * RECENCY + (REFERENCE_DAY - last_interaction_day)`: the engagement tags'
    /// probability depends on nothing else.
    seg_recency: Vec<u16>,
    /// Number of customers per `seg_recency` value.
    seg_recency_hist: Vec<u64>,
}

/// Runs `f(0..jobs)` on the available cores; results in job order.
fn par_map<T: Send>(jobs: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(jobs)
        .max(1);
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let job = next.fetch_add(1, Ordering::Relaxed);
                        if job >= jobs {
                            return out;
                        }
                        out.push((job, f(job)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("generator thread panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|&(job, _)| job);
    done.into_iter().map(|(_, t)| t).collect()
}

fn gen_attributes(n: u32, seed: u64) -> (Attrs, Latent) {
    let n = n as usize;
    let mut cum_prior = [0.0; 8];
    let mut acc = 0.0;
    for (c, p) in cum_prior.iter_mut().zip(SEG_PRIOR) {
        acc += p;
        *c = acc;
    }
    let chunks = n.div_ceil(CHUNK);
    let parts = par_map(chunks, |chunk| {
        let mut rng = Rng::stream(seed, chunk as u64);
        let len = CHUNK.min(n - chunk * CHUNK);
        let mut a = Attrs {
            last_interaction_day: Vec::with_capacity(len),
            first_purchase_day: Vec::with_capacity(len),
            last_purchase_day: Vec::with_capacity(len),
            purchase_count: Vec::with_capacity(len),
            monetary_cents: Vec::with_capacity(len),
        };
        let mut seg_out = Vec::with_capacity(len);
        let mut wealth_out = Vec::with_capacity(len);
        for _ in 0..len {
            let u = rng.f64();
            let seg = cum_prior.iter().position(|&c| u < c).unwrap_or(7);
            let wealth = rng.normal() as f32;
            let w = f64::from(wealth);
            // purchase propensity: segment base, modulated by wealth
            let p_buy = SEG_P_PURCHASE[seg] * (1.0 + 0.15 * w.clamp(-2.0, 2.0));
            let purchased = rng.f64() < p_buy;
            // exponential recency by segment
            let d = (rng.exp1() * SEG_INTERACT_TAU[seg]).floor();
            let mut last_interaction = (f64::from(MAX_DAY) - d).max(0.0) as i32;
            let (mut first, mut last, mut count, mut money) =
                (NEVER_PURCHASED, NEVER_PURCHASED, 0, 0);
            if purchased {
                // 1 + negative binomial (heavy tail), mean extra orders by segment and wealth
                let m_extra = SEG_EXTRA_ORDERS[seg] * (0.3 * w).exp();
                let r = 0.7;
                let extra = rng.negative_binomial(r, r / (r + m_extra));
                count = u32::try_from(1 + extra).unwrap_or(u32::MAX);
                // first purchase over the 5 years, biased later (growing customer base);
                // more orders put the last purchase closer to the end of the window
                first = (f64::from(MAX_DAY) * rng.f64().sqrt()).floor() as i32;
                let span = f64::from(MAX_DAY - first);
                let v = rng.f64();
                last = if count > 1 {
                    first + (span * v.powf(1.0 / f64::from(count))).floor() as i32
                } else {
                    first
                };
                // per-order value lognormal around $40 scaled by wealth
                let order_value = (40f64.ln() + 0.5 * w + 0.6 * rng.normal()).exp();
                money = (f64::from(count) * order_value * 100.0).round() as u64;
                last_interaction = last_interaction.max(last);
            }
            seg_out.push(seg as u8);
            wealth_out.push(wealth);
            a.last_interaction_day.push(last_interaction);
            a.first_purchase_day.push(first);
            a.last_purchase_day.push(last);
            a.purchase_count.push(count);
            a.monetary_cents.push(money);
        }
        (a, seg_out, wealth_out)
    });

    let mut attrs = Attrs {
        last_interaction_day: Vec::with_capacity(n),
        first_purchase_day: Vec::with_capacity(n),
        last_purchase_day: Vec::with_capacity(n),
        purchase_count: Vec::with_capacity(n),
        monetary_cents: Vec::with_capacity(n),
    };
    let mut seg = Vec::with_capacity(n);
    let mut wealth = Vec::with_capacity(n);
    for (a, s, w) in parts {
        attrs
            .last_interaction_day
            .extend_from_slice(&a.last_interaction_day);
        attrs
            .first_purchase_day
            .extend_from_slice(&a.first_purchase_day);
        attrs
            .last_purchase_day
            .extend_from_slice(&a.last_purchase_day);
        attrs.purchase_count.extend_from_slice(&a.purchase_count);
        attrs.monetary_cents.extend_from_slice(&a.monetary_cents);
        seg.extend_from_slice(&s);
        wealth.extend_from_slice(&w);
    }
    let mut seg_recency_hist = vec![0u64; 8 * RECENCY];
    let seg_recency: Vec<u16> = seg
        .iter()
        .zip(&attrs.last_interaction_day)
        .map(|(&s, &li)| {
            let key = usize::from(s) * RECENCY + (REFERENCE_DAY - li) as usize;
            seg_recency_hist[key] += 1;
            key as u16
        })
        .collect();
    (
        attrs,
        Latent {
            seg,
            wealth,
            seg_recency,
            seg_recency_hist,
        },
    )
}

/// A threshold on a uniform `u32` that is always passed.
const ALWAYS: u64 = 1 << 32;

/// Probability `p` (capped at 0.99, as in the model) as a threshold on a uniform `u32`:
/// `u64::from(x) < threshold(p)` with probability `p`.
fn threshold(p: f64) -> u64 {
    (p.clamp(0.0, 0.99) * 4_294_967_296.0) as u64
}

/// Customers `i` for which a fresh uniform `u32` is below `thr(i)`, in increasing order.
fn bernoulli(n: usize, rng: &mut Rng, thr: impl Fn(usize) -> u64) -> Vec<u32> {
    let mut out = vec![0u32; n];
    let mut len = 0;
    let mut i = 0;
    while i + 1 < n {
        let r = rng.next_u64();
        out[len] = i as u32;
        len += usize::from((r & 0xFFFF_FFFF) < thr(i));
        out[len] = i as u32 + 1;
        len += usize::from((r >> 32) < thr(i + 1));
        i += 2;
    }
    if i < n {
        out[len] = i as u32;
        len += usize::from((rng.next_u64() >> 32) < thr(i));
    }
    out.truncate(len);
    out.shrink_to_fit();
    out
}

/// Customers `i` for which `keep(i)`, in increasing order.
fn filter(n: usize, keep: impl Fn(usize) -> bool) -> Vec<u32> {
    let mut out = vec![0u32; n];
    let mut len = 0;
    for i in 0..n {
        out[len] = i as u32;
        len += usize::from(keep(i));
    }
    out.truncate(len);
    out.shrink_to_fit();
    out
}

/// `engage^gamma` per recency value, `engage = exp(-recency / 90)`, capped at 10 for
/// disengagement-driven tags (`gamma < 0`).
fn engagement_factors(gamma: f32) -> Vec<f64> {
    (0..RECENCY)
        .map(|r| {
            if gamma == 0.0 {
                return 1.0;
            }
            let g = f64::from((-(r as f32) / 90.0).exp().powf(gamma));
            if gamma < 0.0 { g.min(10.0) } else { g }
        })
        .collect()
}

fn gen_tags(n: u32, seed: u64, a: &Attrs, l: &Latent) -> Vec<TagData> {
    let nu = n as usize;
    let purchasers = a.purchase_count.iter().filter(|&&c| c > 0).count();
    let one_tag = |tid: usize, parents: &[Vec<u32>]| -> Vec<u32> {
        let spec = &TAGS[tid];
        let mut rng = Rng::stream(seed, TAG_STREAMS + tid as u64);
        match spec.kind {
            Kind::Bern {
                share,
                aff,
                beta,
                gamma,
            } => {
                let g = engagement_factors(gamma);
                if beta == 0.0 {
                    // the probability depends on (segment, recency) only: one threshold each
                    let m = |key: usize| f64::from(aff[key / RECENCY]) * g[key % RECENCY];
                    let total: f64 = l
                        .seg_recency_hist
                        .iter()
                        .enumerate()
                        .map(|(k, &c)| c as f64 * m(k))
                        .sum();
                    let scale = share * nu as f64 / total;
                    let thr: Vec<u64> = (0..8 * RECENCY).map(|k| threshold(scale * m(k))).collect();
                    bernoulli(nu, &mut rng, |i| thr[usize::from(l.seg_recency[i])])
                } else {
                    let m: Vec<f32> = (0..nu)
                        .map(|i| {
                            let key = usize::from(l.seg_recency[i]);
                            aff[key / RECENCY]
                                * (beta * l.wealth[i]).exp()
                                * g[key % RECENCY] as f32
                        })
                        .collect();
                    let total: f64 = m.iter().map(|&x| f64::from(x)).sum();
                    let scale = (share * nu as f64 / total) as f32 * 4_294_967_296.0;
                    let cap = threshold(0.99) as f32;
                    bernoulli(nu, &mut rng, |i| (m[i] * scale).min(cap) as u64)
                }
            }
            Kind::Child { parent, c1, c0 } => {
                let pid = TAGS
                    .iter()
                    .position(|t| t.name == parent)
                    .expect("parent tag");
                let mut inside = vec![0u64; nu.div_ceil(64)];
                for &m in &parents[pid] {
                    inside[m as usize / 64] |= 1 << (m % 64);
                }
                let thr = [threshold(f64::from(c0)), threshold(f64::from(c1))];
                bernoulli(nu, &mut rng, |i| {
                    thr[(inside[i / 64] >> (i % 64)) as usize & 1]
                })
            }
            Kind::Tier(index) => filter(nu, |i| {
                let w = l.wealth[i];
                TIER_CUTS.iter().filter(|&&c| c <= w).count() == usize::from(index)
            }),
            Kind::Tiny(k) => {
                let k = k.min(n) as usize;
                let mut ids: Vec<u32> = Vec::with_capacity(k);
                while ids.len() < k {
                    let id = rng.below(n);
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids.sort_unstable();
                ids
            }
            Kind::Derived => derived(spec.name, nu, &mut rng, a, l, purchasers),
        }
    };

    // Every tag but the child tags, then the child tags, which need their parents.
    let is_child = |tid: usize| matches!(TAGS[tid].kind, Kind::Child { .. });
    let first: Vec<usize> = (0..TAGS.len()).filter(|&t| !is_child(t)).collect();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); TAGS.len()];
    for (tid, m) in first
        .iter()
        .zip(par_map(first.len(), |j| one_tag(first[j], &[])))
    {
        members[*tid] = m;
    }
    let second: Vec<usize> = (0..TAGS.len()).filter(|&t| is_child(t)).collect();
    let children = par_map(second.len(), |j| one_tag(second[j], &members));
    for (tid, m) in second.iter().zip(children) {
        members[*tid] = m;
    }
    TAGS.iter()
        .zip(members)
        .map(|(spec, members)| TagData {
            name: spec.name.to_owned(),
            dimension: spec.dimension.to_owned(),
            members,
        })
        .collect()
}

/// The stage and activity tags computed from the attribute columns.
fn derived(
    name: &str,
    n: usize,
    rng: &mut Rng,
    a: &Attrs,
    l: &Latent,
    purchasers: usize,
) -> Vec<u32> {
    const R: i32 = REFERENCE_DAY;
    let li = &a.last_interaction_day;
    let lp = &a.last_purchase_day;
    let fp = &a.first_purchase_day;
    let c = &a.purchase_count;
    let bought = |i: usize| c[i] >= 1;
    match name {
        "stage/purchased" => filter(n, bought),
        "stage/registered" => {
            // every purchaser is registered; others with probability q so that share ~ 0.92
            let p = purchasers as f64 / n as f64;
            let q = threshold(((0.92 - p) / (1.0 - p).max(1e-9)).max(0.0));
            bernoulli(n, rng, |i| if bought(i) { ALWAYS } else { q })
        }
        "stage/browsed" => {
            // purchasers, plus others by engagement exp(-recency / 180)
            let e: Vec<f64> = (0..RECENCY).map(|r| (-(r as f64) / 180.0).exp()).collect();
            let total: f64 = l
                .seg_recency_hist
                .iter()
                .enumerate()
                .map(|(k, &cnt)| cnt as f64 * e[k % RECENCY])
                .sum();
            let mean = total / n as f64;
            let thr: Vec<u64> = e
                .iter()
                .map(|&x| threshold((0.70 * x / mean).min(0.99) * 0.75))
                .collect();
            bernoulli(n, rng, |i| {
                if bought(i) {
                    ALWAYS
                } else {
                    thr[(R - li[i]) as usize]
                }
            })
        }
        "stage/repurchased" => filter(n, |i| c[i] >= 2),
        "stage/loyal_5plus" => filter(n, |i| c[i] >= 5),
        "stage/purchased_30d" => filter(n, |i| lp[i] >= R - 30),
        "stage/purchased_90d" => filter(n, |i| lp[i] >= R - 90),
        "stage/purchased_365d" => filter(n, |i| lp[i] >= R - 365),
        "stage/lapsed_365d" => filter(n, |i| bought(i) && lp[i] < R - 365),
        "stage/first_purchase_90d" => filter(n, |i| fp[i] >= R - 90),
        "stage/prospect" => filter(n, |i| !bought(i) && li[i] >= R - 90),
        "activity/active_7d" => filter(n, |i| li[i] >= R - 7),
        "activity/active_30d" => filter(n, |i| li[i] >= R - 30),
        "activity/active_90d" => filter(n, |i| li[i] >= R - 90),
        "activity/dormant_180d" => filter(n, |i| li[i] < R - 180),
        "activity/dormant_365d" => filter(n, |i| li[i] < R - 365),
        other => unreachable!("no rule for derived tag {other}"),
    }
}

// ------------------------------------------------------------------------------------------
// Loader

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// The integer value of a top-level `"key": <int>` of `manifest.json` (written by Python's
/// `json.dump`); enough for the two numbers checked here without a JSON parser.
fn manifest_int(text: &str, key: &str) -> Option<i64> {
    let at = text.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = text[at..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

struct TagRow {
    name: String,
    dimension: String,
    member_count: u64,
    first_record: u64,
}

fn parse_tag_names(text: &str) -> io::Result<Vec<TagRow>> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header != "tag_id,name,dimension,member_count,first_record" {
        return Err(invalid(format!(
            "tag_names.csv: unexpected header {header:?}"
        )));
    }
    let mut rows = Vec::new();
    for (row, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
        let bad = |what: &str| invalid(format!("tag_names.csv line {}: {what}: {line:?}", row + 2));
        if line.contains('"') {
            return Err(bad("quoted fields are not expected"));
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 5 {
            return Err(bad("expected 5 fields"));
        }
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad("not a number"));
        if num(f[0])? != rows.len() as u64 {
            return Err(bad("tag ids must be 0, 1, 2, ... in order"));
        }
        rows.push(TagRow {
            name: f[1].to_owned(),
            dimension: f[2].to_owned(),
            member_count: num(f[3])?,
            first_record: num(f[4])?,
        });
    }
    Ok(rows)
}

#[allow(clippy::disallowed_methods)] // bench support: reads files
fn read_column<T, const W: usize>(
    dir: &Path,
    column: &str,
    n: u32,
    from_le: fn([u8; W]) -> T,
) -> io::Result<Vec<T>> {
    let path = dir.join(format!("attrs_{column}.bin"));
    let bytes = std::fs::read(&path)?;
    if bytes.len() != n as usize * W {
        return Err(invalid(format!(
            "{}: {} bytes, expected {n} values of {W} bytes",
            path.display(),
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(W)
        .map(|c| from_le(c.try_into().expect("chunk of W bytes")))
        .collect())
}

#[allow(clippy::disallowed_methods)] // bench support: reads files
fn load_dir(dir: &Path, n: u32) -> io::Result<Workload> {
    let manifest = dir.join("manifest.json");
    let mut reference_day = REFERENCE_DAY;
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest)?;
        match manifest_int(&text, "n_customers") {
            Some(m) if m == i64::from(n) => {}
            other => {
                return Err(invalid(format!(
                    "manifest.json: n_customers {other:?}, expected {n}"
                )));
            }
        }
        if let Some(day) = manifest_int(&text, "reference_day") {
            reference_day = i32::try_from(day).map_err(|_| invalid("reference_day"))?;
        }
    }

    let rows = parse_tag_names(&std::fs::read_to_string(dir.join("tag_names.csv"))?)?;
    let tags_path = dir.join("tags.bin");
    let file = File::open(&tags_path)?;
    let records = file.metadata()?.len() / 8;
    let expected: u64 = rows.iter().map(|r| r.member_count).sum();
    if file.metadata()?.len() != expected * 8 {
        return Err(invalid(format!(
            "tags.bin has {records} records, tag_names.csv counts {expected}"
        )));
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut tags = Vec::with_capacity(rows.len());
    let mut next_record = 0u64;
    let mut buf = vec![0u8; 8 << 16];
    for (tid, row) in rows.into_iter().enumerate() {
        if row.first_record != next_record {
            return Err(invalid(format!(
                "tag {}: first_record {} != {next_record}",
                row.name, row.first_record
            )));
        }
        let mut members = Vec::with_capacity(row.member_count as usize);
        let mut left = row.member_count as usize;
        while left > 0 {
            let take = left.min(buf.len() / 8);
            reader.read_exact(&mut buf[..take * 8])?;
            for rec in buf[..take * 8].chunks_exact(8) {
                let customer = u32::from_le_bytes(rec[..4].try_into().expect("4 bytes"));
                let tag = u32::from_le_bytes(rec[4..].try_into().expect("4 bytes"));
                if tag as usize != tid
                    || customer >= n
                    || members.last().is_some_and(|&l| l >= customer)
                {
                    return Err(invalid(format!(
                        "tags.bin: record ({customer}, {tag}) out of order or out of range in tag {}",
                        row.name
                    )));
                }
                members.push(customer);
            }
            left -= take;
        }
        next_record += row.member_count;
        tags.push(TagData {
            name: row.name,
            dimension: row.dimension,
            members,
        });
    }

    Ok(Workload {
        n,
        reference_day,
        tags,
        last_interaction_day: read_column(dir, "last_interaction_day", n, i32::from_le_bytes)?,
        first_purchase_day: read_column(dir, "first_purchase_day", n, i32::from_le_bytes)?,
        last_purchase_day: read_column(dir, "last_purchase_day", n, i32::from_le_bytes)?,
        purchase_count: read_column(dir, "purchase_count", n, u32::from_le_bytes)?,
        monetary_cents: read_column(dir, "monetary_cents", n, u64::from_le_bytes)?,
    })
}

/// Fails the bench when the data does not have the workload's shape (README of
/// `../shared/peers/`).
pub fn check_shape(w: &Workload) {
    let n = u64::from(w.n);
    assert_eq!(w.tags.len(), 200, "200 tags");
    let m = w.memberships();
    assert!(
        (135 * n / 10..=155 * n / 10).contains(&m),
        "~14.4 memberships per customer, got {m}"
    );
    let empty = w.tags.iter().filter(|t| t.members.is_empty()).count();
    assert_eq!(empty, 3, "3 empty tags");
    let large = w
        .tags
        .iter()
        .filter(|t| t.members.len() as u64 * 10 > 4 * n)
        .count();
    assert_eq!(large, 6, "6 tags over 40% of customers");
    let buyers = w.purchasers();
    assert!(
        (44 * n / 100..=52 * n / 100).contains(&buyers),
        "~48% purchasers, got {buyers}"
    );
    assert!(
        w.last_interaction_day
            .iter()
            .all(|d| (0..=MAX_DAY).contains(d))
    );
    for t in &w.tags {
        assert!(
            t.members.windows(2).all(|p| p[0] < p[1]),
            "{} sorted and unique",
            t.name
        );
        assert!(
            t.members.last().is_none_or(|&l| l < w.n),
            "{} ids below n",
            t.name
        );
    }
}

/// Customers to bench with: `AUDIENCE_BENCH_N` (e.g. 10000000 for the 10M runs made by
/// hand), 1M by default.
#[allow(clippy::disallowed_methods)] // bench code, not the library: it may read the environment
pub fn bench_customers() -> u32 {
    std::env::var("AUDIENCE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// "1M", "10M" or the plain number, for bench group names.
pub fn size_label(n: u32) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else {
        n.to_string()
    }
}
