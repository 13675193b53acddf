"""Static arena planning from tensor lifetimes.

Tensors that may share storage (RESHAPE output and input; the output of an
op that can run in place and the input it overwrites) are merged into one
buffer first. Buffers are then placed largest first at the lowest offset
that does not overlap any placed buffer alive at the same time (greedy
best-fit, as TFLM's GreedyMemoryPlanner does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 4


@dataclass
class Buffer:
    tensors: list[int]
    size: int
    first: int                     # first op index at which it is alive
    last: int                      # last op index at which it is alive
    offset: int = -1


@dataclass
class ArenaPlan:
    offsets: dict[int, int]        # tensor index -> byte offset in the arena
    arena_bytes: int
    buffers: list[Buffer] = field(default_factory=list)


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)


def plan_arena(
    sizes: dict[int, int],
    op_io: list[tuple[list[int], list[int]]],
    graph_inputs: list[int],
    graph_outputs: list[int],
    aliases: dict[int, int],
    inplace_candidates: dict[int, tuple[int, int]],
) -> ArenaPlan:
    """sizes: arena tensors -> bytes; op_io: (inputs, outputs) per op (arena tensors only);
    aliases: output -> input that always share storage (RESHAPE);
    inplace_candidates: op index -> (input, output) that may share storage when the
    input is dead after that op."""
    n_ops = len(op_io)
    groups = _Groups()
    for t in sizes:
        groups.find(t)

    def uses(t: int) -> tuple[int, int]:
        first, last = n_ops, -1
        for i, (ins, outs) in enumerate(op_io):
            if t in ins or t in outs:
                first, last = min(first, i), max(last, i)
        if t in graph_inputs:
            first = 0
        if t in graph_outputs:
            last = n_ops - 1
        return first, max(last, first)

    span = {t: uses(t) for t in sizes}

    def group_span(root: int) -> tuple[int, int]:
        members = [t for t in sizes if groups.find(t) == root]
        return min(span[t][0] for t in members), max(span[t][1] for t in members)

    for out, inp in aliases.items():
        groups.union(inp, out)
    for i in sorted(inplace_candidates):
        inp, out = inplace_candidates[i]
        root = groups.find(inp)
        if root == groups.find(out) or inp in graph_outputs:
            continue
        # every tensor sharing the input's storage must be dead after op i
        if group_span(root)[1] == i and sizes[out] <= max(sizes[t] for t in sizes if groups.find(t) == root):
            groups.union(inp, out)

    buffers: dict[int, Buffer] = {}
    for t in sizes:
        r = groups.find(t)
        b = buffers.setdefault(r, Buffer([], 0, n_ops, -1))
        b.tensors.append(t)
        b.size = max(b.size, sizes[t])
        b.first, b.last = min(b.first, span[t][0]), max(b.last, span[t][1])

    placed: list[Buffer] = []
    for b in sorted(buffers.values(), key=lambda b: (-b.size, b.first)):
        live = sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: p.offset)
        offset = 0
        for p in live:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        b.offset = offset
        placed.append(b)
    arena = max((_align(b.offset + b.size) for b in placed), default=0)
    offsets = {t: b.offset for b in placed for t in b.tensors}
    return ArenaPlan(offsets, arena, placed)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def check_plan(plan: ArenaPlan) -> None:
    """No two buffers alive at the same time overlap in memory (a self-check)."""
    bs = plan.buffers
    for i, a in enumerate(bs):
        for b in bs[i + 1:]:
            if a.first <= b.last and b.first <= a.last:
                if a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                    raise AssertionError(f"arena plan overlap: {a} and {b}")
