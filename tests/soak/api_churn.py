#!/usr/bin/env python3
"""api_churn.py — the soak's API client: changes the volume, mute and name of known sessions
through PATCH /api/v1/sessions/ID without pause, and remembers the last value the server
acknowledged (200 with that value in the body) per session and field, in --acked (a JSON file
rewritten atomically after every change). tests/soak/check_store.py compares the server's
sessions.json and GET /sessions with that file.

Pausing (so no request is in flight when the server is SIGTERMed, which would leave its outcome
unknown): the soak writes a number to CTL/pause; this script finishes its request, writes the same
number to CTL/paused and waits until CTL/pause is gone. CTL/stop ends it. Every request made while
not paused must be answered 200; anything else is counted in "errors" (a soak failure)."""
import argparse
import http.client
import json
import os
import random
import sys
import time

NAMES = ["Kitchen", "Living room", "Küche", "居間", "Salle à manger", "\U0001F3B5 speaker",
         'say "hi"', "back\\slash", "tab-free name 42", "x" * 64, ""]


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--pool", required=True, help="file of session GUIDs, one a line")
    ap.add_argument("--steady", required=True, help="GUID never muted (the steady listeners')")
    ap.add_argument("--acked", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--interval", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    token = read(a.token_file).splitlines()[0]
    pool = [g for g in read(a.pool).split() if g] + [a.steady]
    st = {"sessions": {}, "changes": 0, "errors": 0, "error_samples": [], "max_ms": 0.0}
    hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    conn = None

    def request(method, guid, body):
        nonlocal conn
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        t = time.monotonic()
        try:
            conn.request(method, "/api/v1/sessions/" + guid, body=json.dumps(body).encode(), headers=hdr)
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            conn = None
            return None, str(e)
        st["max_ms"] = max(st["max_ms"], (time.monotonic() - t) * 1000)
        return r.status, data

    def fail(msg):
        st["errors"] += 1
        if len(st["error_samples"]) < 10:
            st["error_samples"].append(msg)

    def save():
        write_atomic(a.acked, json.dumps(st, ensure_ascii=False))

    # Every pool session exists from the start with known settings (PUT sets all three fields).
    for g in pool:
        body = {"volume": rnd.randint(0, 100), "muted": False, "name": rnd.choice(NAMES)}
        code, data = request("PUT", g, body)
        if code in (200, 201):
            st["sessions"][g] = body
        else:
            fail(f"PUT {g}: {code} {data!r}")
    save()
    last_seq = None
    while read(os.path.join(a.ctl, "stop")) is None:
        seq = read(os.path.join(a.ctl, "pause"))
        if seq is not None:
            if conn is not None:  # the server may be restarted while paused: a fresh connection after
                conn.close()
                conn = None
            if seq != last_seq:
                save()
                write_atomic(os.path.join(a.ctl, "paused"), seq)
                last_seq = seq
            time.sleep(0.05)
            continue
        g = rnd.choice(pool)
        field = rnd.choice(["volume", "muted", "name"] if g != a.steady else ["volume", "name"])
        value = {"volume": lambda: rnd.randint(0, 100), "muted": lambda: rnd.random() < 0.5,
                 "name": lambda: rnd.choice(NAMES) + (str(rnd.randint(0, 99)) if rnd.random() < 0.5 else "")}[field]()
        if field == "name" and len(value.encode()) > 64:
            value = value[:60]
        code, data = request("PATCH", g, {field: value})
        if code == 200:
            try:
                got = json.loads(data)[field]
            except (ValueError, KeyError) as e:
                got = f"unparsable ({e})"
            if got != value:
                fail(f"PATCH {g} {field}={value!r}: answered {got!r}")
            else:
                st["sessions"][g][field] = value
                st["changes"] += 1
        else:
            fail(f"PATCH {g} {field}={value!r}: {code} {data!r}")
        if st["changes"] % 50 == 0:
            save()
        time.sleep(a.interval * (0.5 + rnd.random()))
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
