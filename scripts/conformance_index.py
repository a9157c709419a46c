#!/usr/bin/env python3
"""Which tests cite which conformance item.

Reads the item IDs (W-01, PUSH-02, API-07, ...) from docs/CONFORMANCE.md, finds every test
function under src/, tests/, sim/ and loom-tests/ (``#[test]`` functions, those inside
``proptest!`` blocks included), and prints a Markdown table of the tests that cite each item,
then a summary.

A test cites an item when
  * a comment or doc line directly attached to it (the comment/attribute lines right above
    ``#[test]`` with no blank line in between, and those between ``#[test]`` and ``fn``)
    contains the literal ID, e.g. ``/// L-07, L-11: ...`` cites L-07 and L-11; or
  * its name, split on ``_``, has a token that is the ID in lowercase without the dash:
    ``fn l07_linger_...`` cites L-07, ``fn w18_w31_...`` cites W-18 and W-31.

Without options the script only informs and always exits 0. With ``--strict`` it exits 1 when
the document's ``ferromq`` column disagrees with the code: an item marked ``tested:`` that no
test cites, or a test named in the column (after ``tested:``, or after ``tests:`` in a
``partly:`` cell) that does not exist or does not cite that item. Tests that cite an item
without being named in its cell are reported as warnings.

Standard library only; run from anywhere:  python3 scripts/conformance_index.py [--strict]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join("docs", "CONFORMANCE.md")
SCAN = ("src", "tests", "sim", "loom-tests")
SKIP_DIRS = {"target", ".git", "node_modules"}

ID_CELL = re.compile(r"^([A-Z]+)-(\d{2})$")
TEST_ATTR = re.compile(r"^#\[\s*(?:[A-Za-z_][A-Za-z0-9_]*::)*test\s*(?:\(.*\))?\s*\]")
FN_LINE = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")
NAME_TOKEN = re.compile(r"^([a-z]+)(\d{2})$")
STATUSES = ("tested", "partly", "not yet", "optional")
MAX_ATTACHED = 60  # lines scanned above `#[test]` / between it and `fn`


@dataclass
class Item:
    id: str
    status: str  # one of STATUSES, or "" if the cell is missing/unknown
    cell: str
    listed: list[str] = field(default_factory=list)  # test names named in the cell
    line: int = 0


@dataclass
class Test:
    name: str
    path: str
    line: int
    cites: set[str] = field(default_factory=set)


def split_row(line: str) -> list[str]:
    """Cells of a Markdown table row; `|` inside backticks or escaped as `\\|` is kept."""
    cells, cur, tick = [], [], False
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if c == "`":
            tick = not tick
        if c == "|" and not tick:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def names_after(marker: str, cell: str) -> list[str]:
    """Test names listed after `marker` (e.g. 'tested:'), up to ';' or the end of the cell."""
    m = re.search(re.escape(marker) + r"\s*(.*)", cell, re.IGNORECASE)
    if not m:
        return []
    text = m.group(1).split(";")[0]
    out = []
    for part in text.split(","):
        part = part.strip().strip("`").strip()
        # Allow a trailing remark in parentheses after a name: `name` (engine part)
        part = re.split(r"\s|\(", part, maxsplit=1)[0].strip("`")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out.append(part)
    return out


def parse_doc(path: str) -> tuple[list[Item], list[str]]:
    items: list[Item] = []
    problems: list[str] = []
    seen: set[str] = set()
    status_col = None  # index of the "ferromq" column of the current table
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        if not line.lstrip().startswith("|"):
            status_col = None  # a table ends at the first line that is not a row
            continue
        cells = split_row(line)
        low = [c.lower() for c in cells]
        if "ferromq" in low and not ID_CELL.match(cells[0]):
            status_col = low.index("ferromq")
            continue
        if not ID_CELL.match(cells[0]):
            continue
        iid = cells[0]
        if iid in seen:
            problems.append(f"{path}:{n}: {iid} appears twice")
            continue
        seen.add(iid)
        cell = cells[status_col] if status_col is not None and status_col < len(cells) else ""
        status = ""
        lc = cell.lower().lstrip("*_ ")
        for s in STATUSES:
            if lc.startswith(s):
                status = s
                break
        if not status:
            problems.append(f"{path}:{n}: {iid}: no status in the ferromq column ({cell!r})")
        listed = names_after("tested:", cell) if status == "tested" else names_after("tests:", cell)
        items.append(Item(iid, status, cell, listed, n))
    return items, problems


def rust_files(root: str):
    for top in SCAN:
        base = os.path.join(root, top)
        for dp, dn, fn in os.walk(base):
            dn[:] = sorted(d for d in dn if d not in SKIP_DIRS)
            for f in sorted(fn):
                if f.endswith(".rs"):
                    yield os.path.join(dp, f)


def is_comment(s: str) -> bool:
    return s.startswith("//") and not s.startswith("//!")


def attached_text(lines: list[str], i: int) -> tuple[list[str], int | None]:
    """Comment lines attached to the `#[test]` at line i, and the index of its `fn` line."""
    text = []
    # Upwards: comments and outer attributes, up to the first blank line or other code. The
    # last line of a multi-line attribute (`)]`) is followed up to its `#[` line, through
    # lines that look like attribute arguments only.
    j = i - 1
    while j >= 0 and i - j <= MAX_ATTACHED:
        s = lines[j].strip()
        if is_comment(s):
            text.append(s)
        elif s.startswith("#["):
            if "//" in s:  # `#[ignore] // W-03 ...`: a trailing comment counts too
                text.append(s[s.index("//"):])
            elif not s.endswith("]"):
                break
        elif s.endswith(")]") and not s.startswith("#"):
            k = j - 1
            while k >= 0 and j - k <= 10:
                t = lines[k].strip()
                if t.startswith("#["):
                    break
                if not t or t.startswith("//") or t.endswith((";", "{", "}")):
                    k = -1
                    break
                k -= 1
            if k < 0 or j - k > 10:
                break
            j = k
        else:
            break  # blank line, `#![...]`, `}` or any other code: not attached
        j -= 1
    # Downwards to the fn line: other attributes and comments.
    k = i
    fn_at = None
    while k < len(lines) and k - i <= MAX_ATTACHED:
        s = lines[k].strip()
        if k > i and is_comment(s):
            text.append(s)
        elif k > i and s.startswith("#[") and "//" in s:
            text.append(s[s.index("//"):])
        if FN_LINE.search(s) and not is_comment(s):
            fn_at = k
            break
        k += 1
    return text, fn_at


def find_tests(root: str, id_re: re.Pattern, prefixes: set[str]) -> list[Test]:
    tests: list[Test] = []
    for path in rust_files(root):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        rel = os.path.relpath(path, root)
        for i, line in enumerate(lines):
            s = line.strip()
            if not TEST_ATTR.match(s):
                continue
            text, fn_at = attached_text(lines, i)
            if fn_at is None:
                continue
            name = FN_LINE.search(lines[fn_at]).group(1)
            t = Test(name, rel, fn_at + 1)
            for c in text:
                t.cites.update(m.group(0) for m in id_re.finditer(c))
            for tok in name.split("_"):
                m = NAME_TOKEN.match(tok)
                if m and m.group(1).upper() in prefixes:
                    t.cites.add(f"{m.group(1).upper()}-{m.group(2)}")
            tests.append(t)
    return tests


def cut(s: str, width: int) -> str:
    return s if len(s) <= width else s[: width - 1].rstrip(", ") + "…"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if the doc's ferromq column claims tests the code lacks")
    ap.add_argument("--root", default=ROOT, help="repository root (default: this script's)")
    ap.add_argument("--width", type=int, default=100,
                    help="truncate the test-name column to this many characters (0: never)")
    ap.add_argument("--files", action="store_true", help="show file:line for each test")
    args = ap.parse_args()

    doc = os.path.join(args.root, DOC)
    try:
        items, problems = parse_doc(doc)
    except OSError as e:
        print(f"cannot read {doc}: {e}", file=sys.stderr)
        return 1 if args.strict else 0
    prefixes = {i.id.split("-")[0] for i in items}
    if not prefixes:
        print(f"no item IDs found in {doc}", file=sys.stderr)
        return 1 if args.strict else 0
    id_re = re.compile(r"\b(?:" + "|".join(sorted(prefixes, key=len, reverse=True)) + r")-\d{2}\b")
    tests = find_tests(args.root, id_re, prefixes)

    by_id: dict[str, list[Test]] = {i.id: [] for i in items}
    unknown: dict[str, list[Test]] = {}
    for t in tests:
        for c in sorted(t.cites):
            if c in by_id:
                by_id[c].append(t)
            else:
                unknown.setdefault(c, []).append(t)

    def names(ts: list[Test]) -> list[str]:
        out = []
        for t in ts:
            label = f"{t.name} ({t.path}:{t.line})" if args.files else t.name
            if label not in out:
                out.append(label)
        return out

    print("| ID | status | tests | test names |")
    print("|---|---|---:|---|")
    for it in items:
        ns = names(by_id[it.id])
        joined = ", ".join(ns)
        if args.width:
            joined = cut(joined, args.width)
        print(f"| {it.id} | {it.status or '?'} | {len(ns)} | {joined} |")

    errors: list[str] = list(problems)
    warnings: list[str] = []
    for it in items:
        found = {t.name for t in by_id[it.id]}
        if it.status == "tested" and not found:
            errors.append(f"{it.id}: marked tested, but no test cites it")
        for n in it.listed:
            if n not in found:
                errors.append(f"{it.id}: names test {n}, which does not exist or does not cite it")
        if it.status == "tested":
            extra = sorted(found - set(it.listed))
            if extra:
                warnings.append(f"{it.id}: cited also by {', '.join(extra)} (not named in the doc)")
        elif it.status in ("not yet", "optional") and found:
            warnings.append(f"{it.id}: marked {it.status}, yet cited by {', '.join(sorted(found))}")
    for c, ts in sorted(unknown.items()):
        warnings.append(f"{c}: cited by {', '.join(sorted({t.name for t in ts}))}, "
                        "but not an item of the doc")

    with_test = sum(1 for it in items if by_id[it.id])
    missing = [it.id for it in items if not by_id[it.id] and it.status != "optional"]
    counts = {s: sum(1 for it in items if it.status == s) for s in STATUSES}
    print()
    print(f"{len(items)} items, {with_test} with at least one test "
          f"({len(tests)} test functions scanned; doc: "
          + ", ".join(f"{counts[s]} {s}" for s in STATUSES) + ").")
    print(f"Non-optional items with no test ({len(missing)}): " + (", ".join(missing) or "none"))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    for e in errors:
        print(f"{'error' if args.strict else 'note'}: {e}", file=sys.stderr)
    return 1 if args.strict and errors else 0


if __name__ == "__main__":
    sys.exit(main())
