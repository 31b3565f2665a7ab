#!/usr/bin/env python3
"""Fails when a module of src/ imports from a layer above its own.

The layers, bottom to top, are listed in LAYERS (ARCHITECTURE.md explains them). A module
belongs to the most specific entry that names it; `crate::a::b::...` paths in its code
(outside comments and `#[cfg(test)]` modules) are resolved the same way. A module may use
its own entry and entries of lower layers; entries that share a layer may not use each
other. lib.rs only declares and re-exports, so it is not checked.

Usage: layers.py [SRC_DIR]      exit 0: imports only go down; exit 1: lists each violation.
"""
import os
import re
import sys

# (layer, module path). Lower layers first.
LAYERS = [
    (0, "base"),
    (1, "phone"),
    (2, "error"),
    # `Day` parsing reports through `Error`, so `day` sits above the error layer.
    (3, "day"),
    (4, "store::directory"),
    (4, "store::membership"),
    (5, "store::attribute"),
    (6, "store::policy"),
    (7, "store::taxonomy"),
    (8, "store"),
    (9, "segment"),
    (10, "query"),
    (11, "aggregate"),
    (11, "tiers"),
    (12, "rfm"),
    (13, "health"),
    (13, "rules"),
    (13, "campaign"),
    (14, "io"),
    # ClickHouse tables, SQL and bitmap decoding: built on the export's bitmap formats.
    (15, "io::engine"),
]
RANK = {path: layer for layer, path in LAYERS}


def entry_of(path):
    """The most specific LAYERS entry for a module path like `store::taxonomy::x`."""
    parts = path.split("::")
    for n in range(len(parts), 0, -1):
        candidate = "::".join(parts[:n])
        if candidate in RANK:
            return candidate
    return None


def module_path(src, file):
    rel = os.path.relpath(file, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return "::".join(rel)


def imports(text, parent):
    text = re.sub(r"//[^\n]*", "", text)
    # `super::x` is `crate::<parent>::x`
    text = re.sub(r"\bsuper::", f"crate::{parent}::" if parent else "crate::", text)
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    if m:
        text = text[: m.start()]
    found = set()
    for m in re.finditer(r"\bcrate::((?:\w+::)*)(\{[^}]*\}|\w+)", text):
        prefix = m.group(1)
        tail = m.group(2)
        if tail.startswith("{"):
            for item in tail[1:-1].split(","):
                item = item.strip()
                if item:
                    found.add(prefix + item.split(" as ")[0].strip())
        else:
            found.add(prefix + tail)
    return found


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    bad = []
    files = 0
    for root, _, names in os.walk(src):
        for name in sorted(names):
            if not name.endswith(".rs") or (root == src and name in ("lib.rs", "main.rs")):
                continue
            files += 1
            file = os.path.join(root, name)
            path_of_file = module_path(src, file)
            me = entry_of(path_of_file)
            if me is None:
                bad.append(f"{file}: not in any layer: add it to LAYERS in .ci/layers.py")
                continue
            text = open(file, encoding="utf-8").read()
            parent = "::".join(path_of_file.split("::")[:-1])
            for path in sorted(imports(text, parent)):
                them = entry_of(path.rstrip(":"))
                if them is None or them == me:
                    continue
                if me.startswith(them + "::") or them.startswith(me + "::"):
                    # a folder module and its own submodules
                    if RANK[them] < RANK[me] or them.startswith(me + "::"):
                        continue
                if RANK[them] >= RANK[me]:
                    bad.append(
                        f"{file}: `{me}` (layer {RANK[me]}) imports `crate::{path}` "
                        f"from `{them}` (layer {RANK[them]})"
                    )
    if bad:
        print("\n".join(bad))
        print(f"{len(bad)} upward or sideways import(s): imports must go down the layers")
        sys.exit(1)
    print(f"layers: {files} files, every import goes down")


main()
