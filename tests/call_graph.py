#!/usr/bin/env python3
"""call_graph.py OBJECT... — which source file calls which, read from the compiled objects of one
library (`nm`: a file's undefined symbols that another file defines), and whether they call each
other in a circle. Prints the graph; exit status 1 naming every circle found, 0 when there is none.
Registered as the test server_call_graph over lc_server's objects (docs/server.md: "no circles")."""
import os
import subprocess
import sys


def graph(objects):
    defs, uses = {}, {}
    for o in objects:
        name = os.path.basename(o).split('.')[0]
        out = subprocess.run(['nm', o], capture_output=True, text=True, check=True).stdout
        uses[name] = set()
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in 'TDBR':
                defs[f[2]] = name
            elif len(f) == 2 and f[0] == 'U':
                uses[name].add(f[1])
    return {n: {defs[s] for s in u if s in defs and defs[s] != n} for n, u in uses.items()}


def circles(g):
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index, low, on, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def main():
    # ctest hands $<TARGET_OBJECTS:...> over as one ;-separated argument
    objects = [o for a in sys.argv[1:] for o in a.split(';') if o]
    if not objects:
        print('usage: call_graph.py OBJECT...', file=sys.stderr)
        return 2
    g = graph(objects)
    for n in sorted(g):
        print(f'{n:12} -> {", ".join(sorted(g[n])) or "(leaf)"}')
    found = circles(g)
    for c in found:
        print('FAIL: these files call each other in a circle: ' + ', '.join(c))
    if not found:
        print(f'ok: {len(g)} files, no circle')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
