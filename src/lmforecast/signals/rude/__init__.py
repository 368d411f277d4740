"""RuDE: rubric-based discriminative evaluation (issue 19).

Rubrics are data (``rubrics/*.yaml``, validated by :mod:`.rubric`); each criterion names a
checker (:mod:`.checkers`) and a degrader (:mod:`.degraders`) by registered name, so a new domain
is a YAML file plus, where its criteria need them, new checkers and degraders. :mod:`.pairs`
turns a rubric and a task's docs into positive/negative pairs by controlled degradation.

This ``__init__`` imports nothing: the signal registry imports every module of
``lmforecast.signals`` on discovery, and RuDE's YAML/pydantic loading must not ride along.
"""
