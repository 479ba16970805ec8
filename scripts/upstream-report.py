#!/usr/bin/env python3
"""Summarises scripts/upstream-suite.sh results: a table per file and the failures by test.

    scripts/upstream-report.py <trove.jsonl> [<mlflow-reference.jsonl> [<skew.tsv>]]

A test that fails on Trove and also fails (or errors) in the reference run against MLflow's own
server is counted as version skew (the test checkout is newer than the 3.18 client and server).
Tests marked xfail upstream count as not applicable, with the N/A ones the plugin skipped.
skew.tsv lists, one per line as "<node id>\t<reason>", failures shown to be version skew by other
means (the reference server could not run the test, or the difference is in the 3.18 client).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                entry = json.loads(line)
                out[entry["nodeid"]] = entry
    return out


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    trove = load(args[0])
    reference = load(args[1]) if len(args) > 1 else {}
    manual_skew = {}
    if len(args) > 2:
        with open(args[2]) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    nodeid, _, reason = line.rstrip("\n").partition("\t")
                    manual_skew[nodeid] = reason
    rows = defaultdict(lambda: defaultdict(int))
    failures = []
    for nodeid, entry in sorted(trove.items()):
        file = nodeid.split("::")[0].rsplit("/", 1)[-1]
        outcome = entry["outcome"]
        row = rows[file]
        row["total"] += 1
        if outcome == "not_applicable" or (outcome == "skipped" and "xfail" in entry["message"].lower()):
            row["not_applicable"] += 1
            continue
        if outcome == "skipped":
            row["not_applicable"] += 1
            continue
        ref = reference.get(nodeid)
        if outcome in ("failed", "error"):
            if nodeid in manual_skew:
                row["version_skew"] += 1
                failures.append((file, nodeid, "version skew", entry["message"], manual_skew[nodeid]))
                continue
            if ref is not None and ref["outcome"] == "failed":
                row["version_skew"] += 1
                failures.append((file, nodeid, "version skew", entry["message"], ref["message"]))
                continue
            row["applicable"] += 1
            failures.append((file, nodeid, "FAILS", entry["message"], ref["message"] if ref else "(no reference run)"))
            continue
        row["applicable"] += 1
        row["passed"] += 1
    print("| file | total | not applicable | version skew | applicable | passed | % |")
    print("|---|---|---|---|---|---|---|")
    for file in sorted(rows):
        r = rows[file]
        pct = 100.0 * r["passed"] / r["applicable"] if r["applicable"] else 100.0
        print(f"| {file} | {r['total']} | {r['not_applicable']} | {r['version_skew']} | {r['applicable']} | {r['passed']} | {pct:.0f}% |")
    print()
    for file, nodeid, kind, message, ref_message in failures:
        name = nodeid.split("::", 1)[1]
        print(f"- [{kind}] {file}::{name}\n    trove: {message}\n    mlflow 3.18: {ref_message}")


if __name__ == "__main__":
    main(sys.argv[1:])
