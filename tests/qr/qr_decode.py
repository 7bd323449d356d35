#!/usr/bin/env python3
"""qr_decode.py LOG [--surround dark|light] — finds the QR code that loopcast drew on its console
(rows of the half blocks ▀ ▄ █ and spaces, each row optionally painted by ANSI SGR 30;107), turns
it into a picture the way a terminal shows it, and prints what zbarimg (a real decoder) reads.

A terminal cell is one module wide and two high (upper half, lower half). Plain rows: the glyphs
are the terminal's light text on its dark background. ANSI rows: black glyphs on bright white.
--surround is the terminal's own background around the drawing: dark (the default) or light, so
the ANSI drawing can be checked on both kinds of terminal. Exit status 1 when no QR rows were
found or zbarimg read nothing."""
import re
import subprocess
import sys
import tempfile

SGR = re.compile(r'\x1b\[[0-9;]*m')
HALF = {' ': (0, 0), '\u2580': (1, 0), '\u2584': (0, 1), '\u2588': (1, 1)}
SCALE = 6      # pixels a module: what a phone's camera resolves with room to spare
MARGIN = 8     # modules of terminal background around the drawing


def rows_of(text):
    """The longest run of consecutive lines made only of half blocks (after SGR removal); a row
    of spaces counts when it is painted (the ANSI drawing's quiet zone)."""
    best, cur = [], []
    for line in text.splitlines():
        ansi = '\x1b[' in line
        bare = SGR.sub('', line)
        if bare and all(c in HALF for c in bare) and (ansi or any(c != ' ' for c in bare)):
            cur.append((bare, ansi))
        else:
            best, cur = max(best, cur, key=len), []
    return max(best, cur, key=len)


def main():
    args = sys.argv[1:]
    surround = 'dark'
    if '--surround' in args:
        i = args.index('--surround')
        surround = args[i + 1]
        del args[i:i + 2]
    text = open(args[0], encoding='utf-8').read()
    rows = rows_of(text)
    if len(rows) < 10:
        print(f'qr_decode: no QR drawing in {args[0]} ({len(rows)} block rows)', file=sys.stderr)
        return 1
    width = max(len(r) for r, _ in rows)
    bg = 0 if surround == 'dark' else 255
    mods = [[bg] * (width + 2 * MARGIN) for _ in range(2 * len(rows) + 2 * MARGIN)]
    for y, (row, ansi) in enumerate(rows):
        for x, c in enumerate(row):
            for half, on in enumerate(HALF[c]):
                if ansi:   # black ink on the row's white paint
                    v = 0 if on else 255
                else:      # the terminal's light text on its own background
                    v = 255 if on else bg
                mods[MARGIN + 2 * y + half][MARGIN + x] = v
    h, w = len(mods) * SCALE, len(mods[0]) * SCALE
    pix = bytearray()
    for r in mods:
        line = bytearray()
        for v in r:
            line += bytes([v]) * SCALE
        pix += bytes(line) * SCALE
    with tempfile.NamedTemporaryFile(suffix='.pgm') as f:
        f.write(b'P5\n%d %d\n255\n' % (w, h) + bytes(pix))
        f.flush()
        out = subprocess.run(['zbarimg', '-q', '--raw', f.name], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        print(f'qr_decode: zbarimg read nothing (exit {out.returncode}) {out.stderr.strip()}',
              file=sys.stderr)
        return 1
    print(out.stdout.strip())
    return 0


if __name__ == '__main__':
    sys.exit(main())
