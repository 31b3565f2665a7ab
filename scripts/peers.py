#!/usr/bin/env python3
"""Times the workload's segment queries in CRoaring (through pyroaring) and numpy, so the
crate's benches can be compared with them in the same sitting on the same data.

    python3 -m venv target/peers-venv
    target/peers-venv/bin/pip install -r scripts/peers-requirements.txt
    target/peers-venv/bin/python gen_dataset.py --n 1000000 --out DATA   # the workload's generator
    target/peers-venv/bin/python scripts/peers.py DATA/1000000 queries.json
    AUDIENCE_PEERS_DATA=DATA cargo bench --bench queries    # the crate, same data

For each query: "count" returns the number of customers, "ids" the sorted ids as an array
(pyroaring `BitMap.to_array()`, numpy `flatnonzero`), the query included. Milliseconds,
the median of warm runs (at least 5 runs and 0.3 s per figure). Attribute predicates in
pyroaring are evaluated by numpy and turned into a bitmap, since CRoaring has no range
index. The ids are checked to be equal between the two engines.
"""
import csv
import json
import os
import statistics
import sys
import time

import numpy as np
from pyroaring import BitMap

DTYPES = {
    "last_interaction_day": np.int32,
    "first_purchase_day": np.int32,
    "last_purchase_day": np.int32,
    "purchase_count": np.uint32,
    "monetary_cents": np.uint64,
}
OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def load(data_dir):
    with open(os.path.join(data_dir, "tag_names.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    records = np.fromfile(os.path.join(data_dir, "tags.bin"), dtype="<u4").reshape(-1, 2)
    members = {}
    for row in rows:
        start, count = int(row["first_record"]), int(row["member_count"])
        members[row["name"]] = records[start : start + count, 0].copy()
    attrs = {
        name: np.fromfile(os.path.join(data_dir, f"attrs_{name}.bin"), dtype=dtype)
        for name, dtype in DTYPES.items()
    }
    n = len(attrs["purchase_count"])
    return n, members, attrs


def tags_of(expr, out):
    if "tag" in expr:
        out.add(expr["tag"])
    for key in ("and", "or"):
        for child in expr.get(key, []):
            tags_of(child, out)
    if "not" in expr:
        tags_of(expr["not"], out)
    return out


class Roaring:
    def __init__(self, n, members, attrs, names):
        self.n, self.attrs = n, attrs
        self.tags = {name: BitMap(members[name]) for name in names}
        for bitmap in self.tags.values():
            bitmap.run_optimize()

    def eval(self, e):
        if "tag" in e:
            return self.tags[e["tag"]]
        if "attr" in e:
            mask = OPS[e["op"]](self.attrs[e["attr"]], e["value"])
            return BitMap(np.flatnonzero(mask).astype(np.uint32))
        if "not" in e:
            return self.eval(e["not"]).flip(0, self.n)
        parts = [self.eval(c) for c in e.get("and", e.get("or"))]
        return BitMap.intersection(*parts) if "and" in e else BitMap.union(*parts)

    def count(self, e):
        return len(self.eval(e))

    def ids(self, e):
        return np.frombuffer(self.eval(e).to_array(), dtype=np.uint32)


class Numpy:
    def __init__(self, n, members, attrs, names):
        self.n, self.attrs = n, attrs
        self.tags = {}
        for name in names:
            mask = np.zeros(n, dtype=bool)
            mask[members[name]] = True
            self.tags[name] = mask

    def eval(self, e):
        if "tag" in e:
            return self.tags[e["tag"]]
        if "attr" in e:
            return OPS[e["op"]](self.attrs[e["attr"]], e["value"])
        if "not" in e:
            return ~self.eval(e["not"])
        parts = [self.eval(c) for c in e.get("and", e.get("or"))]
        reduce = np.logical_and if "and" in e else np.logical_or
        result = parts[0]
        for part in parts[1:]:
            result = reduce(result, part)
        return result

    def count(self, e):
        return int(np.count_nonzero(self.eval(e)))

    def ids(self, e):
        return np.flatnonzero(self.eval(e))


def median_ms(f, arg):
    times, spent = [], 0.0
    f(arg)  # warm
    while len(times) < 5 or spent < 0.3:
        start = time.perf_counter()
        f(arg)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times) * 1e3


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: peers.py DATA_DIR QUERIES_JSON")
    n, members, attrs = load(argv[1])
    with open(argv[2]) as f:
        queries = json.load(f)["queries"]
    names = set()
    for q in queries:
        tags_of(q["expr"], names)
    engines = [("pyroaring", Roaring(n, members, attrs, names)), ("numpy", Numpy(n, members, attrs, names))]
    print(f"{n} customers; ms (4 significant digits), median of warm runs")
    print("| query | ids | count: pyroaring | numpy | ids: pyroaring | numpy |")
    print("|---|---|---|---|---|---|")
    for q in queries:
        e = q["expr"]
        roaring_ids, numpy_ids = engines[0][1].ids(e), engines[1][1].ids(e)
        if not np.array_equal(roaring_ids, numpy_ids.astype(np.uint32)):
            sys.exit(f"{q['id']}: pyroaring and numpy disagree")
        counts = [median_ms(engine.count, e) for _, engine in engines]
        ids = [median_ms(engine.ids, e) for _, engine in engines]
        cells = " | ".join(f"{t:.4g}" for t in counts + ids)
        print(f"| {q['id']} | {len(roaring_ids):,} | {cells} |", flush=True)


if __name__ == "__main__":
    main(sys.argv)
