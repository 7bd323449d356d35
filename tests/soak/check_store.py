#!/usr/bin/env python3
"""check_store.py ACKED SESSIONS_JSON [LABEL] — the soak's store-consistency check.

ACKED is api_churn.py's file (the last value the API acknowledged per session and field);
SESSIONS_JSON is either the server's sessions.json or a saved GET /api/v1/sessions answer (both
have a "sessions" list of objects with id/name/volume/muted). Every acknowledged session must be
there with exactly the acknowledged volume, mute and name; every other session (made by a
listener that came without a GUID) must still have the defaults (100, unmuted, no name), since
nothing ever changed it. Prints one line of figures; exit 1 on any difference."""
import json
import sys

DEFAULTS = {"volume": 100, "muted": False, "name": ""}


def main():
    if len(sys.argv) < 3:
        print("usage: check_store.py ACKED SESSIONS_JSON [LABEL]", file=sys.stderr)
        return 2
    label = sys.argv[3] if len(sys.argv) > 3 else sys.argv[2]
    with open(sys.argv[1]) as f:
        acked = json.load(f)["sessions"]
    try:
        with open(sys.argv[2]) as f:
            have = {s["id"].lower(): s for s in json.load(f)["sessions"]}
    except (OSError, ValueError, KeyError) as e:
        print(f"store {label}: cannot read: {e}")
        return 1
    bad = []
    for g, want in acked.items():
        s = have.get(g.lower())
        if s is None:
            bad.append(f"{g}: missing")
            continue
        for k, v in want.items():
            if s.get(k) != v:
                bad.append(f"{g}: {k} is {s.get(k)!r}, last acknowledged {v!r}")
    others = [s for g, s in have.items() if g not in {x.lower() for x in acked}]
    for s in others:
        for k, v in DEFAULTS.items():
            if s.get(k) != v:
                bad.append(f"{s['id']} (never changed): {k} is {s.get(k)!r}, expected default {v!r}")
    print(f"store {label}: {len(acked)} changed sessions, {len(others)} untouched, "
          f"{len(bad)} differences")
    for b in bad[:20]:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
