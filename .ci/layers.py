#!/usr/bin/env python3
"""Fails when a module of src/ imports from a layer above its own.

The layers, bottom to top, are listed in LAYERS (ARCHITECTURE.md explains them). A module
belongs to the most specific entry that names it; `crate::a::b::...` paths in its code
(outside comments and `#[cfg(test)]` modules) are resolved the same way. A module may use
its own entry and entries of lower layers; entries that share a layer may not use each
other. lib.rs only declares and re-exports, so it is not checked; its `pub use` lines are read
so that a path through a re-export (`crate::Segment`) is checked as the module path it
names (`crate::segment::Segment`).

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
    # `Decimal` parsing reports through `Error` too; it shares the layer with `day`.
    (3, "decimal"),
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
    (13, "insights"),
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
    # Drop `#[cfg(test)] mod x { ... }` blocks (balanced braces), keeping what follows.
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
        if not m:
            break
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: m.start()] + text[i:]
    found = set()
    for m in re.finditer(r"\bcrate::", text):
        found.update(use_tree(text, m.end(), ""))
    return found


def use_tree(text, i, prefix):
    """The paths of the use tree (or plain path) starting at text[i]: `a::b`,
    `a::{b, c::{d, e}}`, `a as b`."""
    paths = set()
    m = re.match(r"\s*((?:\w+\s*::\s*)*)", text[i:])
    head = re.sub(r"\s", "", m.group(1))
    j = i + m.end()
    if j < len(text) and text[j] == "{":
        depth, k, start = 1, j + 1, j + 1
        while k < len(text) and depth:
            c = text[k]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if depth == 1 and c == "," or depth == 0:
                paths.update(use_tree(text, start, prefix + head) if text[start:k].strip() else set())
                start = k + 1
            k += 1
        return paths
    w = re.match(r"\w+", text[j:])
    if w:
        paths.add(prefix + head + w.group(0))
    elif head:
        paths.add(prefix + head.rstrip(":"))
    return paths


def expand(tree, prefix=""):
    """(path, name) pairs of a use tree's text: `a::{b, c as d}` gives (a::b, b), (a::c, d)."""
    tree = tree.strip()
    out = []
    brace = tree.find("{")
    if brace >= 0 and tree.endswith("}"):
        head = re.sub(r"\s", "", tree[:brace])
        inner, depth, start = tree[brace + 1 : -1], 0, 0
        parts = []
        for k, c in enumerate(inner):
            depth += {"{": 1, "}": -1}.get(c, 0)
            if c == "," and depth == 0:
                parts.append(inner[start:k])
                start = k + 1
        parts.append(inner[start:])
        for part in parts:
            if part.strip():
                out += expand(part, prefix + head)
        return out
    m = re.match(r"([\w:\s]+?)(?:\s+as\s+(\w+))?$", tree)
    if m:
        path = prefix + re.sub(r"\s", "", m.group(1))
        out.append((path, m.group(2) or path.split("::")[-1]))
    return out


def root_reexports(src):
    """Names the crate root re-exports, mapped to the module paths they come from, so that
    `crate::Segment` is checked as `crate::segment::Segment`."""
    try:
        text = open(os.path.join(src, "lib.rs"), encoding="utf-8").read()
    except OSError:
        return {}
    text = re.sub(r"//[^\n]*", "", text)
    names = {}
    for m in re.finditer(r"\bpub\s+use\s+([^;]+);", text):
        for path, name in expand(m.group(1)):
            names[name] = path.removeprefix("crate::")
    def resolve(path, seen=()):
        first, _, rest = path.partition("::")
        if first in names and first not in seen and names[first] != path:
            target = resolve(names[first], seen + (first,))
            return target + ("::" + rest if rest else "")
        return path
    return {name: resolve(path) for name, path in names.items()}


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    roots = root_reexports(src)
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
                first, _, rest = path.partition("::")
                if first in roots:
                    path = roots[first] + ("::" + rest if rest else "")
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
