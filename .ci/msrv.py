#!/usr/bin/env python3
"""Checks the declared `rust-version` of Cargo.toml without a second toolchain: no crate the
library depends on (normal dependencies, all features) declares a newer one, and the
toolchain at hand is not older. (Clippy's `incompatible_msrv` lint, run by CI, checks that
our own code uses no std API newer than the declared version.)"""
import json
import subprocess
import sys


def parse(v):
    parts = [int(x) for x in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"]
    )
)
pkgs = {p["id"]: p for p in meta["packages"]}
root = meta["resolve"]["root"]
ours = pkgs[root]
declared = ours.get("rust_version")
if not declared:
    sys.exit("Cargo.toml declares no rust-version")
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

# Walk normal (non-dev, non-build) dependencies from the root.
seen, todo = set(), [root]
while todo:
    pid = todo.pop()
    for dep in nodes[pid]["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if pid == root and kinds <= {"dev"}:
            continue
        if dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])

newer = [
    (pkgs[p]["name"], pkgs[p]["version"], pkgs[p]["rust_version"])
    for p in seen
    if pkgs[p].get("rust_version") and parse(pkgs[p]["rust_version"]) > parse(declared)
]
rustc = subprocess.check_output(["rustc", "--version"], text=True).split()[1].split("-")[0]
bad = False
if parse(rustc) < parse(declared):
    print(f"rustc {rustc} is older than the declared rust-version {declared}")
    bad = True
for name, version, rv in sorted(newer):
    print(f"{name} {version} needs Rust {rv}, newer than the declared rust-version {declared}")
    bad = True
if bad:
    sys.exit(1)
print(f"rust-version {declared}: {len(seen)} dependencies need no newer Rust; rustc {rustc}")
