"""Plan the work: group requests under shared token prefixes, cut groups into stored units.

Few-shot prompts, repeated questions and RuDE pairs make many requests start with the same
tokens. Each group's shared prefix is run once and its KV cache reused by every request below it.
The plan depends only on the encoded requests and the configuration, never on what is already
stored, so a resumed run recomputes exactly the units a fresh run would: results are identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lmforecast.core.fingerprint import hash_json
from lmforecast.engine.config import ScoreConfig
from lmforecast.engine.encode import EncodedRequest


@dataclass(frozen=True)
class WorkUnit:
    """Requests scored together under one shared prefix; stored as one shard.

    ``prefix_length`` tokens of every member's input are identical and run once;
    ``members`` are request indices, longest suffix first (fewer padded positions per batch).
    """

    unit_id: str
    prefix_length: int
    members: tuple[int, ...]


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix.

    >>> common_prefix_length([1, 2, 3], [1, 2, 4, 5])
    2
    """
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def group_by_prefix(
    encoded: Sequence[EncodedRequest], min_prefix: int
) -> list[tuple[int, list[EncodedRequest]]]:
    """Greedy grouping of lexicographically sorted requests into (prefix length, members).

    A request joins the current group when the group's shared prefix stays at least
    ``min_prefix`` tokens and shrinking it costs less recomputation than the newcomer saves.
    A prefix never reaches a member's first scored position, so every logit that is scored is
    computed in the suffix pass. Groups of one have prefix length 0.

    >>> from lmforecast.engine.encode import EncodedRequest as E
    >>> reqs = [E(0, (1, 2, 3, 4, 5), (6,), 1), E(1, (1, 2, 3, 4, 9), (6,), 1)]
    >>> reqs.append(E(2, (7, 8), (6,), 1))
    >>> [(p, [r.index for r in m]) for p, m in group_by_prefix(reqs, 2)]
    [(4, [0, 1]), (0, [2])]
    """
    order = sorted(encoded, key=lambda r: r.input_ids)
    groups: list[tuple[int, list[EncodedRequest]]] = []
    members: list[EncodedRequest] = []
    prefix = 0
    for req in order:
        if members:
            shared = min(prefix, common_prefix_length(members[-1].input_ids, req.input_ids))
            shared = min(shared, req.score_start)
            lost = (prefix - shared) * len(members)
            if shared >= min_prefix and lost < shared:
                members.append(req)
                prefix = shared
                continue
            groups.append((prefix if len(members) > 1 else 0, members))
        members, prefix = [req], req.score_start
    if members:
        groups.append((prefix if len(members) > 1 else 0, members))
    return groups


def make_plan(encoded: Sequence[EncodedRequest], config: ScoreConfig) -> list[WorkUnit]:
    """Deterministic list of work units covering every request exactly once."""
    if config.prefix_sharing:
        groups = group_by_prefix(encoded, config.min_prefix_tokens)
    else:
        groups = [(0, list(encoded))]
    # Requests without a shared prefix are pooled into one prefix-free group.
    shared = [(p, m) for p, m in groups if p > 0]
    loose = [r for p, m in groups if p == 0 for r in m]
    if loose:
        shared.append((0, loose))
    units = []
    for prefix, members in shared:
        ordered = sorted(members, key=lambda r: (-(len(r.input_ids) - prefix), r.index))
        for start in range(0, len(ordered), config.unit_size):
            chunk = tuple(r.index for r in ordered[start : start + config.unit_size])
            unit_id = hash_json({"prefix": prefix, "members": chunk}, length=12)
            units.append(WorkUnit(unit_id=unit_id, prefix_length=prefix, members=chunk))
    return units
