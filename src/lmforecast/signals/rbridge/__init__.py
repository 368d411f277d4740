"""rBridge (Koh et al., ICLR 2026): a proxy's NLL on a frontier model's reasoning traces,
weighted token by token by the frontier's own confidence.

- :mod:`.traces`: the JSON-lines trace format users bring, its reader and writer;
- :mod:`.weights`: characters -> proxy-token weights, MinMax, trace and task scores (pure);
- :mod:`.family`: the ``rbridge``, ``rbridge@task`` and ``rbridge_plain_nll`` signals;
- :mod:`.score`: scoring traces under a task's prompts through the engine (imported on use:
  it loads the engine).

Importing the package registers the signals (the signal registry imports every module of
``lmforecast.signals``, this package among them).
"""

from lmforecast.signals.rbridge import family as family
from lmforecast.signals.rbridge.traces import Trace, TraceError, read_traces, write_traces

__all__ = ["Trace", "TraceError", "read_traces", "write_traces"]
