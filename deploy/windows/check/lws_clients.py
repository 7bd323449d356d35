#!/usr/bin/env python3
"""lws_clients.py — N WebSocket clients against check/lws_fanout.c (deploy/windows/lws_test.sh).

Opens N connections at once (every second one as /quiet: no ticks, like an idle listener), then
checks in rounds that EVERY open connection gets an echo of a message it sends (client -> server ->
client) and every ticking one still gets ticks (server -> client). Between rounds
it closes connections from the middle of the server's table — the case where libwebsockets moves
its last socket into the gap. Standard library only. Exit status 0 when every check passed.
usage: lws_clients.py PORT N
"""
import os, selectors, socket, struct, sys, time, base64

PORT, N = int(sys.argv[1]), int(sys.argv[2])
ROUND_S = 3.0
MIN_TICKS = 2  # Wine makes every Winsock call a wineserver round trip: with 100 sockets one
               # service pass takes ~0.1-0.3 s on a busy 2-core machine, so ticks coalesce; a
               # hung connection gets none at all


class Client:
    def __init__(self, i):
        self.i, self.buf, self.ticks, self.echoes, self.closed = i, b"", 0, set(), False
        self.sock = None

    def start(self):
        """connect and send the upgrade request; handshake() reads the answer"""
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.quiet = self.i % 2 == 1  # every second connection is idle but for its echo
        s.sendall((f"GET {'/quiet' if self.quiet else '/'} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Protocol: fanout\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        s.setblocking(False)
        self.sock, self.head = s, b""

    def handshake(self):
        """None while the answer is incomplete, else True (101) or raises"""
        try:
            d = self.sock.recv(4096)
        except BlockingIOError:
            return None
        if not d:
            raise OSError("closed during the handshake")
        self.head += d
        if b"\r\n\r\n" not in self.head:
            return None
        if not self.head.startswith(b"HTTP/1.1 101"):
            raise OSError(self.head.split(b"\r\n")[0].decode(errors="replace"))
        self.buf = self.head.split(b"\r\n\r\n", 1)[1]
        return True

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
clients, failed, pending = [], [], {}
t0 = time.monotonic()
for i in range(N):  # all connections at once: the server holds N sockets before any is served
    c = Client(i)
    try:
        c.start()
        pending[c.sock] = c
        sel.register(c.sock, selectors.EVENT_READ, c)
    except OSError as e:
        failed.append(f"#{i}: {e}")
deadline = time.monotonic() + 30
while pending and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.1):
        c = key.data
        if c.sock not in pending:
            continue
        try:
            if c.handshake():
                del pending[c.sock]
                clients.append(c)
        except OSError as e:
            del pending[c.sock]
            sel.unregister(c.sock)
            c.sock.close()
            failed.append(f"#{c.i}: {e}")
for c in pending.values():
    failed.append(f"#{c.i}: no answer in 30 s")
    sel.unregister(c.sock)
    c.sock.close()
clients.sort(key=lambda c: c.i)
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
    bad = [c for c in live if c.closed or (not c.quiet and c.ticks < MIN_TICKS)
           or f"{name}-{c.i}" not in c.echoes]
    ticks = sorted(c.ticks for c in live if not c.quiet)
    print(f"round {name}: {len(live) - len(bad)}/{len(live)} connections got their echo (and the ticking half ticks)"
          f" (ticks in {ROUND_S:.0f} s: min {ticks[0] if ticks else 0}, median"
          f" {ticks[len(ticks) // 2] if ticks else 0})"
          + (f"; stuck: {' '.join('#%d(ticks %d%s%s)' % (c.i, c.ticks, ', no echo' if f'{name}-{c.i}' not in c.echoes else '', ', closed' if c.closed else '') for c in bad[:8])}"
             f"{' ...' if len(bad) > 8 else ''}" if bad else ""))
    return not bad


pump(0.5)
ok &= check_round("A")
# close 30 % from the middle of the table (the server's fds order is about the connect order)
for c in [c for c in clients[N // 10: N // 10 + N * 3 // 10] if not c.closed]:
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
live = [c for c in clients if not c.closed]
if live:
    live[0].send("quit")  # the server prints its summary and exits
    pump(0.5)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
