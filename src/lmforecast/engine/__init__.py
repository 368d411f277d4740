"""The scoring engine: shared-prefix KV reuse, length-sorted batches, streamed vocabulary stats."""

from lmforecast.engine.config import ScoreConfig
from lmforecast.engine.encode import EncodedRequest, encode_pair, encode_requests
from lmforecast.engine.plan import PrefixGroup, WorkUnit, make_plan
from lmforecast.engine.records import RequestScore, ScoringCost
from lmforecast.engine.scorer import ScoringEngine, score_requests
from lmforecast.engine.vocab_stats import OutputHead, TokenStatistics, streamed_statistics

__all__ = [
    "EncodedRequest",
    "OutputHead",
    "PrefixGroup",
    "RequestScore",
    "ScoreConfig",
    "ScoringCost",
    "ScoringEngine",
    "TokenStatistics",
    "WorkUnit",
    "encode_pair",
    "encode_requests",
    "make_plan",
    "score_requests",
    "streamed_statistics",
]
