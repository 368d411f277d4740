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
class PrefixGroup:
    """Requests whose first ``prefix_length`` input tokens are identical (run once).

    ``members`` are request indices, longest suffix first (fewer padded positions per batch).
    """

    prefix_length: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class WorkUnit:
    """Requests scored together; stored as one shard.

    Usually one group under one shared prefix. Small groups (a multiple-choice question's
    four answers under its own prompt) are packed several to a unit: their prefixes run as
    one batch and their suffixes are batched together, so a short group no longer costs a
    pass of its own and a shard of its own.
    """

    unit_id: str
    groups: tuple[PrefixGroup, ...]

    @property
    def members(self) -> tuple[int, ...]:
        return tuple(i for g in self.groups for i in g.members)

    def prefix_lengths(self) -> dict[int, int]:
        """Each member's shared-prefix length."""
        return {i: g.prefix_length for g in self.groups for i in g.members}


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
    encoded: Sequence[EncodedRequest], min_prefix: int, pack: bool = False
) -> list[tuple[int, list[EncodedRequest]]]:
    """Greedy grouping of lexicographically sorted requests into (prefix length, members).

    A request joins the current group when the group's shared prefix stays at least
    ``min_prefix`` tokens and shrinking it costs less recomputation than the newcomer saves.
    A prefix never reaches a member's first scored position, so every logit that is scored is
    computed in the suffix pass. Groups of one have prefix length 0.

    With ``pack`` (small groups packed into units whose prefixes' common part runs once), a new
    group costs only its prefix beyond what it shares with the current one, so a request
    starts one when that is less than the shrinking would lose: the four answers of each
    multiple-choice question get a group of their own under the shared few-shot prompt.

    >>> from lmforecast.engine.encode import EncodedRequest as E
    >>> reqs = [E(0, (1, 2, 3, 4, 5), (6,), 1), E(1, (1, 2, 3, 4, 9), (6,), 1)]
    >>> reqs.append(E(2, (7, 8), (6,), 1))
    >>> [(p, [r.index for r in m]) for p, m in group_by_prefix(reqs, 2)]
    [(4, [0, 1]), (0, [2])]
    """
    order = sorted(encoded, key=lambda r: (r.input_ids, r.targets, r.index))
    groups: list[tuple[int, list[EncodedRequest]]] = []
    members: list[EncodedRequest] = []
    prefix = 0
    for req in order:
        if members:
            shared = min(prefix, common_prefix_length(members[-1].input_ids, req.input_ids))
            shared = min(shared, req.score_start)
            lost = (prefix - shared) * len(members)
            fresh = req.score_start - shared if pack else shared  # the cost of a new group
            join = (len(members) == 1 or lost <= fresh) if pack else lost < fresh
            if shared >= min_prefix and join:
                members.append(req)
                prefix = shared
                continue
            groups.append((prefix if len(members) > 1 else 0, members))
        members, prefix = [req], req.score_start
    if members:
        groups.append((prefix if len(members) > 1 else 0, members))
    return groups


def make_plan(
    encoded: Sequence[EncodedRequest], config: ScoreConfig, pack: bool = True
) -> list[WorkUnit]:
    """Deterministic list of work units covering every request exactly once.

    A group of ``unit_size`` requests or more is cut into units of its own (its prefix runs
    once for all of them: the scorer keeps the last prefix's cache). Smaller shared groups are
    packed, in plan order, into units of at most ``unit_size`` requests when ``pack`` (the
    scorer turns it off for models whose sliding-window attention would see the padding
    between packed prefixes and their suffixes). A group is never split across packed units.

    >>> from lmforecast.engine.encode import EncodedRequest as E
    >>> reqs = [E(i, (1, 2, 10 + i // 2, 11, 12, 13, 9), (6,), 1) for i in range(6)]
    >>> [[(g.prefix_length, g.members) for g in u.groups] for u in make_plan(reqs, ScoreConfig(
    ...     min_prefix_tokens=2, unit_size=4))]
    [[(6, (0, 1)), (6, (2, 3))], [(6, (4, 5))]]
    """
    if config.prefix_sharing:
        groups = group_by_prefix(encoded, config.min_prefix_tokens, pack)
    else:
        groups = [(0, list(encoded))]
    # Requests without a shared prefix are pooled into one prefix-free group.
    shared = [(p, m) for p, m in groups if p > 0]
    loose = [r for p, m in groups if p == 0 for r in m]
    if loose:
        shared.append((0, loose))
    units: list[WorkUnit] = []
    pending: list[PrefixGroup] = []
    for prefix, members in shared:
        ordered = sorted(members, key=lambda r: (-(len(r.input_ids) - prefix), r.index))
        indices = tuple(r.index for r in ordered)
        if pack and prefix > 0 and len(indices) < config.unit_size:
            if sum(len(g.members) for g in pending) + len(indices) > config.unit_size:
                units.append(_unit(pending))
                pending = []
            pending.append(PrefixGroup(prefix, indices))
            continue
        for start in range(0, len(indices), config.unit_size):
            units.append(_unit([PrefixGroup(prefix, indices[start : start + config.unit_size])]))
    if pending:
        units.append(_unit(pending))
    return units


def _unit(groups: Sequence[PrefixGroup]) -> WorkUnit:
    if len(groups) == 1:  # the same id as before packing existed
        key: object = {"prefix": groups[0].prefix_length, "members": groups[0].members}
    else:
        key = {"groups": [[g.prefix_length, g.members] for g in groups]}
    return WorkUnit(unit_id=hash_json(key, length=12), groups=tuple(groups))
