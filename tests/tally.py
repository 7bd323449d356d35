#!/usr/bin/env python3
"""tests/tally.py — what tests/run.sh counts, from ctest's own JUnit report, not from its summary.

  tally.py record JUNIT FLAVOUR      appends "FLAVOUR NAME OUTCOME" lines (passed|failed|skipped)
                                     to stdout, one per test case in JUNIT (ctest --output-junit)
  tally.py check EXPECTED RESULTS MODE
                                     compares RESULTS (the recorded lines) with tests/expected.txt
                                     for MODE (full|quick); prints each difference, exits 1 if any

Why JUnit: ctest's "N tests failed out of M" counts a skipped test as not failed, so
passed = M - failed would count a skip as a pass. The report says which case was skipped.
"""
import sys
import xml.etree.ElementTree as ET


def record(junit, flavour):
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"tally: cannot read {junit}: {e}", file=sys.stderr)
        return 1
    for case in root.iter("testcase"):
        if case.find("skipped") is not None:
            outcome = "skipped"
        elif case.get("status") == "run" and case.find("failure") is None:
            outcome = "passed"
        else:  # failed, timed out, crashed, or could not be started ("notrun" without <skipped>)
            outcome = "failed"
        print(f"{flavour} {case.get('name')} {outcome}")
    return 0


def expected_pairs(path, mode):
    pairs = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) != 3 or line[1] not in ("normal", "asan", "tsan", "fuzz") \
                    or line[2] not in ("run", "skip", "-"):
                raise ValueError(f"{path}:{n}: want 'TEST FLAVOUR run|skip|-', got {' '.join(line)}")
            name, flavour, quick = line
            if mode == "full":
                pairs.add((flavour, name))
            elif quick != "-":  # --quick runs every test once, in the normal build
                pairs.add(("normal", name))
    return pairs


def check(expected, results, mode):
    try:
        want = expected_pairs(expected, mode)
    except (OSError, ValueError) as e:
        print(f"tally: {e}", file=sys.stderr)
        return 1
    got, bad = {}, 0
    with open(results, encoding="utf-8") as f:
        for line in f:
            flavour, name, outcome = line.split()
            if flavour == "long":  # --long's soak: counted, but no fixed part of the suite
                continue
            if (flavour, name) in got:
                print(f"ran twice: {name} ({flavour})")
                bad += 1
            got[(flavour, name)] = outcome
    for pair in sorted(want - set(got)):
        print(f"listed in tests/expected.txt but did not run: {pair[1]} ({pair[0]})")
        bad += 1
    for pair in sorted(set(got) - set(want)):
        print(f"ran but is not listed in tests/expected.txt: {pair[1]} ({pair[0]})")
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "record":
        sys.exit(record(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 5 and sys.argv[1] == "check" and sys.argv[4] in ("full", "quick"):
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
