#!/usr/bin/env python3
"""Writes BENCHMARKS.md from what `scripts/bench.sh` collected in its log directory.

    bench_md.py OUT LOGS

LOGS holds `header.md` and, for each section the run measured, `section-<name>.md` (its text
between `<!-- bench-<name>: ... -->` and `<!-- /bench-<name> -->`) and `sum-<name>.md` (its
rows of the targets table). A section the run did not measure keeps its text and its rows
from OUT as they were, so `BENCH_ONLY=<name>` rewrites only its own section.

The memory row of the targets table (7.) is made here, every time, from the
`<!-- peak-rss-mib: <MiB> | <what> -->` comments of every section in the written file: the
largest peak RSS of any Tessera process over the benchmarks, whichever run measured it.
"""
import os
import re
import sys

# Sections in the order of the file, with the benchmark number their rows of the targets
# table start with (`| 1. ...`).
SECTIONS = [
    ("okta", "1"),
    ("stub", "2"),
    ("storm", "3"),
    ("members", "4"),
    ("wasm", "5"),
    ("scim", "6"),
    ("profile", None),
]
MEMORY_TARGET_MB = 60.0

TABLE_HEAD = "| benchmark | figure | value | target | verdict |\n| --- | --- | --- | --- | --- |"


def read(path, default=""):
    return open(path, encoding="utf-8").read() if os.path.exists(path) else default


def block_of(text, name):
    m = re.search(r"<!-- bench-%s:.*?<!-- /bench-%s -->\n?" % (name, name), text, re.S)
    return m.group(0) if m else None


def unmarked_section(text, number):
    """A section an older BENCHMARKS.md wrote without markers: `## <number>. ...` up to the
    next heading of its level or marker."""
    m = re.search(r"^## %s\. .*?(?=^## |^<!-- bench-|\Z)" % number, text, re.S | re.M)
    return m.group(0).rstrip() + "\n" if m else None


def unmarked_profile(text):
    m = re.search(r"^## Profiles.*?(?=^<!-- bench-|\Z)", text, re.S | re.M)
    return m.group(0).rstrip() + "\n" if m else None


def wrap(name, body):
    by = "`make bench`" if name == "profile" else "`make bench-%s` or `make bench`" % name
    return "<!-- bench-%s: written by %s -->\n%s<!-- /bench-%s -->\n" % (name, by, body, name)


def verdict_at_most(value, target):
    if value <= target:
        return "**met**"
    return "**missed** by %.2f (%.1f× the target)" % (value - target, value / target)


def memory_row(text):
    marks = re.findall(r"<!-- peak-rss-mib: ([0-9.]+) \| (.*?) -->", text)
    if not marks:
        return "| 7. memory | largest peak RSS of any Tessera process | no figure | ≤ %.0f MB | no figure |" % MEMORY_TARGET_MB
    mib, what = max(((float(v), w) for v, w in marks), key=lambda m: m[0])
    benches = sorted({w.split(",")[0] for _, w in marks})
    mb = mib * 1048576 / 1e6
    return (
        "| 7. memory | largest peak RSS of any Tessera process (%d measured, in %s; VmHWM): %s "
        "| %.1f MiB = %.1f MB | ≤ %.0f MB | %s |"
        % (len(marks), ", ".join(benches), what, mib, mb, MEMORY_TARGET_MB,
           verdict_at_most(mb, MEMORY_TARGET_MB))
    )


def main():
    out, logs = sys.argv[1], sys.argv[2]
    old = read(out)
    blocks, rows = [], []
    for name, number in SECTIONS:
        new = read(os.path.join(logs, "section-%s.md" % name), None)
        if new is not None:
            blocks.append(new)
        else:
            kept = block_of(old, name)
            if kept is None:
                body = unmarked_profile(old) if number is None else unmarked_section(old, number)
                kept = wrap(name, body) if body else None
            if kept:
                blocks.append(kept)
        if number is None:
            continue
        sums = read(os.path.join(logs, "sum-%s.md" % name), None)
        if sums is not None:
            rows += [l for l in sums.splitlines() if l.strip()]
        else:
            rows += [l for l in old.splitlines() if l.startswith("| %s. " % number)]
    body = "\n".join(b.rstrip("\n") + "\n" for b in blocks)
    text = (
        read(os.path.join(logs, "header.md")).rstrip("\n")
        + "\n\n## Targets at a glance\n\n"
        + TABLE_HEAD
        + "\n"
        + "\n".join(rows + [memory_row(body)])
        + "\n\nEach section below says how its figures were made and when; the last one says what "
        "bounds the missed targets.\n\n"
        + body
    )
    open(out, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
