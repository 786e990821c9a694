#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""Checks that the source tree keeps its layers.

src/ has one folder per layer, top to bottom:

    cli     the command line: picks a mode
    modes   the front ends: watch, top, ls, states, stats, hooks
    engine  the core every mode shares: session, events, owners, accounting,
            filters, socket dumps
    output  writers: JSON, tables, lines, names of states and addresses
    lib     small helpers with no knowledge of conntrace

A file may include headers of its own layer and of the layers below it,
never above. Only the engine touches the BPF skeleton. Modules (a .c and
its .h) never include each other in a cycle.

Prints one line per problem and exits 1 if there is any; the last line is
"layers: N passed, N failed" (one check per source file).
"""
import os
import re
import sys

LAYERS = ["lib", "output", "engine", "modes", "cli"]  # bottom first
# Front ends that still reach into the skeleton, until the engine gives
# them what they take from it. Empty this; never add to it.
SKELETON_TO_MOVE = set()
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    for layer in LAYERS:
        d = os.path.join(root, "src", layer)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                yield layer, os.path.join(layer, name)


def module(path):
    return os.path.splitext(path)[0]


def find_cycle(graph):
    """Returns one cycle of modules as a list, or None."""
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rank = {name: i for i, name in enumerate(LAYERS)}
    problems, bad, checked = [], set(), 0
    graph = {}
    for layer, rel in sources(root):
        checked += 1
        with open(os.path.join(root, "src", rel)) as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            if inc == "conntrace.skel.h":
                if layer != "engine" and rel not in SKELETON_TO_MOVE:
                    problems.append(f"{rel}: only the engine may use the BPF skeleton")
                    bad.add(rel)
                continue
            if "/" not in inc:
                continue  # include/conntrace.h, the kernel-side ABI
            top = inc.split("/", 1)[0]
            if top not in rank:
                problems.append(f"{rel}: includes {inc}, which is in no layer")
                bad.add(rel)
                continue
            if rank[top] > rank[layer]:
                problems.append(f"{rel}: {layer} includes {inc} from {top}, a layer above it")
                bad.add(rel)
            if module(inc) != module(rel):
                graph.setdefault(module(rel), set()).add(module(inc))
    cycle = find_cycle(graph)
    if cycle:
        problems.append("include cycle: " + " -> ".join(cycle))
        bad.add(cycle[0])
    for p in problems:
        print(p)
    print(f"layers: {checked - len(bad)} passed, {len(bad)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
