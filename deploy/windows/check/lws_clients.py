#!/usr/bin/env python3
"""lws_clients.py — N WebSocket clients against check/lws_fanout.c (deploy/windows/lws_test.sh).

Opens N connections at once, then checks in rounds that EVERY open connection still gets ticks
(server -> client) and an echo of a message it sends (client -> server -> client). Between rounds
it closes connections from the middle of the server's table — the case where libwebsockets moves
its last socket into the gap. Standard library only. Exit status 0 when every check passed.
usage: lws_clients.py PORT N
"""
import os, selectors, socket, struct, sys, time, base64

PORT, N = int(sys.argv[1]), int(sys.argv[2])
ROUND_S = 2.0


class Client:
    def __init__(self, i):
        self.i, self.buf, self.ticks, self.echoes, self.closed = i, b"", 0, set(), False
        self.sock = None

    def open(self):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Protocol: fanout\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(4096)
            if not d:
                raise OSError("closed during the handshake")
            head += d
        if not head.startswith(b"HTTP/1.1 101"):
            raise OSError(head.split(b"\r\n")[0].decode(errors="replace"))
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        s.setblocking(False)
        self.sock = s

    def send(self, text, opcode=1):
        data, mask = text.encode(), os.urandom(4)
        hdr = bytes([0x80 | opcode])
        hdr += bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(data))
        self.sock.sendall(hdr + mask + bytes(b ^ mask[k % 4] for k, b in enumerate(data)))

    def feed(self):
        while True:
            if len(self.buf) < 2:
                return
            ln, off = self.buf[1] & 0x7F, 2
            if ln == 126:
                if len(self.buf) < 4:
                    return
                ln, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif ln == 127:
                if len(self.buf) < 10:
                    return
                ln, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < off + ln:
                return
            op, payload, self.buf = self.buf[0] & 0x0F, self.buf[off:off + ln], self.buf[off + ln:]
            if op == 1:
                t = payload.decode()
                if t.startswith("tick "):
                    self.ticks += 1
                elif t.startswith("echo "):
                    self.echoes.add(t[5:])
            elif op == 8:
                self.closed = True

    def close(self):
        try:
            self.send("", opcode=8)
        except OSError:
            pass
        self.sock.close()
        self.closed = True


sel = selectors.DefaultSelector()
clients, failed = [], []
t0 = time.monotonic()
for i in range(N):
    c = Client(i)
    try:
        c.open()
        clients.append(c)
        sel.register(c.sock, selectors.EVENT_READ, c)
    except OSError as e:
        failed.append(f"#{i}: {e}")
print(f"connect: {len(clients)}/{N} handshakes ok in {time.monotonic() - t0:.2f} s"
      + (f"; failed: {', '.join(failed[:5])}{' ...' if len(failed) > 5 else ''}" if failed else ""))
ok = not failed


def pump(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                d = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                c.closed = True
                sel.unregister(c.sock)
                continue
            c.buf += d
            c.feed()


def check_round(name):
    live = [c for c in clients if not c.closed]
    for c in live:
        c.ticks = 0
        try:
            c.send(f"{name}-{c.i}")
        except OSError:
            c.closed = True
    pump(ROUND_S)
    bad = [c for c in live if c.closed or c.ticks < 10 or f"{name}-{c.i}" not in c.echoes]
    ticks = sorted(c.ticks for c in live)
    print(f"round {name}: {len(live) - len(bad)}/{len(live)} connections got ticks and their echo"
          f" (ticks in {ROUND_S:.0f} s: min {ticks[0] if ticks else 0}, median"
          f" {ticks[len(ticks) // 2] if ticks else 0})"
          + (f"; stuck: {' '.join('#%d(ticks %d%s%s)' % (c.i, c.ticks, ', no echo' if f'{name}-{c.i}' not in c.echoes else '', ', closed' if c.closed else '') for c in bad[:8])}"
             f"{' ...' if len(bad) > 8 else ''}" if bad else ""))
    return not bad


pump(0.5)
ok &= check_round("A")
# close 30 % from the middle of the table (the server's fds order is the connect order here)
for c in clients[N // 10: N // 10 + N * 3 // 10]:
    sel.unregister(c.sock)
    c.close()
pump(0.5)
ok &= check_round("B")
# and every third of those left
for c in [c for c in clients if not c.closed][1::3]:
    sel.unregister(c.sock)
    c.close()
pump(0.5)
ok &= check_round("C")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
