#!/usr/bin/env python3
"""tone_writer.py FIFO [HZ] — writes a 48 kHz stereo s16le sine into FIFO in real time, for
loopcast's pipe: source in tests/soak.sh.

Paced on an absolute schedule (20 ms chunks), so it neither drifts nor bursts: the steady
listeners' rate and gap checks measure the server, not this writer. When the reader goes away
(server SIGTERMed and restarted) it waits for the next reader and starts a fresh schedule; the
soak's "source drops" are this process being SIGKILLed, which the server sees as EOF."""
import array
import math
import os
import sys
import time

RATE, CHUNK = 48000, 960  # 20 ms


def chunk(hz):
    # HZ must divide into a 20 ms chunk evenly (e.g. 400, 450, 500) so one chunk repeats seamlessly.
    a = array.array("h", [0] * (2 * CHUNK))
    for i in range(CHUNK):
        v = int(6000 * math.sin(2 * math.pi * hz * i / RATE))
        a[2 * i] = a[2 * i + 1] = v
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def main():
    if len(sys.argv) < 2:
        print("usage: tone_writer.py FIFO [HZ]", file=sys.stderr)
        return 2
    path, hz = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 400.0
    data = chunk(hz)
    while True:
        fd = os.open(path, os.O_WRONLY)  # blocks until the server has the read end open
        t0, k = time.monotonic(), 0
        try:
            while True:
                os.write(fd, data)
                k += 1
                d = t0 + k * CHUNK / RATE - time.monotonic()
                if d > 0:
                    time.sleep(d)
                elif d < -0.5:  # descheduled for long: restart the schedule rather than burst
                    t0, k = time.monotonic(), 0
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)
        time.sleep(0.05)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
