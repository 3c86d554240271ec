#!/usr/bin/env python3
"""Dependency cycles between the core's modules (issue 15): none allowed.

Builds the graph of intunewin-core's modules from the code's references to other modules
(`crate::x`, `crate::{x, y}`, `super::x`, and a folder's `mod.rs` naming its own children),
comments and `#[cfg(test)]` modules left out, at two levels:

- files: one node per source file (`pack/mod.rs` is `pack`, `read/package.rs` is
  `read/package`); the old flat paths (`crate::package`, re-exported in lib.rs) resolve to
  their files, and names re-exported at the root (`crate::Package`) to the module they come
  from;
- folders: one node per layer folder (`format`, `content`, `read`, ...) and root file
  (`error`, `progress`, `lib`).

Prints each cycle (a strongly connected component of more than one node, with its edges and
the lines that make them) and exits 1 when there is one between files. Cycles between folders
are reported too; with --folders (as CI runs it) they fail, and so does any folder edge that
goes against the layer list in lib.rs's crate docs (`# Layers`: `N. `a`, `b`: ...`, a layer
using only those on earlier lines), or a folder missing from that list.

    python3 ci/module-cycles.py [--graph] [--folders]   # --graph also prints every edge
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "intunewin-core" / "src"


def module_of(path):
    """`pack/mod.rs` -> `pack`, `read/package.rs` -> `read/package`, `lib.rs` -> `lib`."""
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    return "/".join(parts)


def code_lines(text):
    """The file's lines without comments and without a trailing `#[cfg(test)] mod ...`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(
            r"\s*(pub(\(crate\))?\s+)?mod \w+\s*\{", lines[i + 1]
        ):
            lines = lines[:i]
            break
    out = []
    for n, line in enumerate(lines, 1):
        stripped = line.split("//", 1)[0] if '"' not in line else line
        if stripped.lstrip().startswith("//"):
            continue
        out.append((n, stripped))
    return out


def group_names(text, start):
    """Top-level names of the `{...}` group starting at `text[start] == '{'`."""
    depth, name, names, i = 0, "", [], start
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and c not in "{":
            if c == ",":
                names.append(name)
                name = ""
            else:
                name += c
        i += 1
    names.append(name)
    firsts = []
    for n in names:
        m = re.match(r"\s*(\w+)", n)
        if m:
            firsts.append(m.group(1))
    return firsts


def referenced(text, prefix):
    """(offset, name) of every name referenced as `prefix::name` or in a group; a folder's
    module is `folder/name` (`crate::files::setup::x` names `files/setup`)."""
    for m in re.finditer(r"\b" + prefix + r"::(\{|\w+)(?:::(\w+))?", text):
        if m.group(1) == "{":
            for name in group_names(text, m.start(1)):
                yield m.start(), name
        elif m.group(2):
            yield m.start(), m.group(1) + "/" + m.group(2)
        else:
            yield m.start(), m.group(1)


def main():
    files = sorted(SRC.rglob("*.rs"))
    modules = {module_of(f): f for f in files}
    # Flat names: `crate::package` -> `read/package`; folders and root files by their name.
    flat = {}
    for mod in modules:
        flat.setdefault(mod.split("/")[-1], mod)
        if "/" not in mod:
            flat[mod] = mod
    # Names re-exported at the root: `pub use package::{Package, ...}` -> `read/package`.
    lib = (SRC / "lib.rs").read_text()
    for m in re.finditer(r"pub(?:\(crate\))?\s+use\s+((?:\w+::)+)(\{[^}]*\}|\w+)\s*;", lib):
        segments = m.group(1).rstrip(":").split("::")
        source = flat.get(segments[0])
        if source and len(segments) > 1 and f"{source}/{segments[1]}" in modules:
            source = f"{source}/{segments[1]}"
        if not source:
            continue
        for name in re.findall(r"\w+", m.group(2)):
            if name != "self" and name not in flat:
                flat[name] = source

    edges = {}  # (from, to) -> [where]
    for mod, path in modules.items():
        lines = code_lines(path.read_text())
        text = "\n".join(l for _, l in lines)
        starts = [0]
        for _, l in lines:
            starts.append(starts[-1] + len(l) + 1)

        def where(offset):
            i = max(k for k in range(len(starts)) if starts[k] <= offset)
            return f"{path.relative_to(SRC.parent.parent)}:{lines[min(i, len(lines) - 1)][0]}"

        folder = mod.rsplit("/", 1)[0] if "/" in mod else None
        is_folder_root = path.name == "mod.rs"
        def resolve(name):
            """A flat name, or `a/b`: the module `a/b` when `a` is a folder holding `b`, else `a`."""
            if "/" in name:
                head, tail = name.split("/", 1)
                folder_mod = flat.get(head)
                if folder_mod and f"{folder_mod}/{tail}" in modules:
                    return f"{folder_mod}/{tail}"
                return folder_mod
            return flat.get(name)

        refs = [(o, resolve(n)) for o, n in referenced(text, "crate")]
        if folder or is_folder_root:
            parent = mod if is_folder_root else folder
            for o, n in referenced(text, "super"):
                n = n.split("/")[0]
                if is_folder_root:
                    refs.append((o, flat.get(n)))
                else:
                    target = f"{parent}/{n}"
                    refs.append((o, target if target in modules else parent))
        if is_folder_root:
            for m in re.finditer(r"\b(\w+)::", text):
                target = f"{mod}/{m.group(1)}"
                if target in modules:
                    refs.append((m.start(), target))
        for o, target in refs:
            if target and target != mod:
                edges.setdefault((mod, target), []).append(where(o))

    status = 0
    for level in ("files", "folders"):
        graph = {}
        sites = {}
        for (a, b), w in edges.items():
            if level == "folders":
                a, b = a.split("/")[0], b.split("/")[0]
                if a == b:
                    continue
            graph.setdefault(a, set()).add(b)
            sites.setdefault((a, b), []).extend(w)
        nodes = set(graph) | {b for bs in graph.values() for b in bs}
        if "--graph" in sys.argv:
            print(f"{level}: {sum(len(b) for b in graph.values())} edges")
            for a in sorted(graph):
                print(f"  {a} -> {', '.join(sorted(graph[a]))}")
        if level == "folders" and "--folders" in sys.argv:
            status |= check_layers(layers(lib), graph, sites)
        cycles = [c for c in sccs(nodes, graph) if len(c) > 1]
        if not cycles:
            print(f"{level}: {len(nodes)} modules, no cycles")
            continue
        if level == "files" or "--folders" in sys.argv:
            status = 1
        print(f"{level}: {len(nodes)} modules, {len(cycles)} cycle(s)")
        for c in cycles:
            print(f"  cycle: {' <-> '.join(sorted(c))}")
            for a in sorted(c):
                for b in sorted(graph.get(a, ())):
                    if b in c:
                        shown = sorted(set(sites[(a, b)]))
                        more = f" (+{len(shown) - 3})" if len(shown) > 3 else ""
                        print(f"    {a} -> {b}: {', '.join(shown[:3])}{more}")
    return status


def layers(lib):
    """Each folder's layer number, from the `# Layers` list in lib.rs's crate docs."""
    ranks = {}
    for m in re.finditer(r"^//! (\d+)\. ((?:`\w+`(?:, )?)+):", lib, re.M):
        for name in re.findall(r"`(\w+)`", m.group(2)):
            ranks[name] = int(m.group(1))
    return ranks


def check_layers(ranks, graph, sites):
    """Prints every folder edge the layer list forbids; 1 when there is one."""
    if not ranks:
        print("layers: no `# Layers` list in lib.rs's crate docs")
        return 1
    bad = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if a == "lib":
                continue
            if a not in ranks or b not in ranks:
                missing = a if a not in ranks else b
                bad.append((a, b, f"`{missing}` is not in lib.rs's layer list"))
            elif ranks[b] >= ranks[a]:
                bad.append((a, b, f"layer {ranks[a]} uses layer {ranks[b]}"))
    if not bad:
        print(f"layers: {len(ranks)} folders in {len(set(ranks.values()))} layers, every edge downwards")
        return 0
    print(f"layers: {len(bad)} edge(s) against lib.rs's layer list")
    for a, b, why in bad:
        shown = sorted(set(sites[(a, b)]))
        more = f" (+{len(shown) - 3})" if len(shown) > 3 else ""
        print(f"  {a} -> {b} ({why}): {', '.join(shown[:3])}{more}")
    return 1


def sccs(nodes, graph):
    """Tarjan's strongly connected components."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
