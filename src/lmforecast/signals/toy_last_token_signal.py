"""A toy signal for tests/test_architecture.py (written and removed by the test)."""

import numpy as np

from lmforecast.signals.base import TaskScores, signal


@signal("toy_last_token_xent", higher_is_better=False, description="-log p of the last token")
def toy_last_token_xent(scores: TaskScores) -> np.ndarray:
    return np.array([-r.logprob[-1] for r in scores.records])
