"""In-training probes (Liu et al., 2026): light models on a checkpoint's hidden states of a
prompt that predict its pass@1 on that prompt before anything is generated.

- :mod:`.cache`: prompt features (``engine.features``) stored in the results store, keyed by the
  model fingerprint, the prompts, the layers and whether per-token states are kept;
- :mod:`.probes`: the :class:`~.probes.Probe` protocol, the ``PROBES`` registry and the
  scikit-learn probe (``logreg``), with the shared input handling and inner cross-validation;
- :mod:`.torch_probes`: the ``mlp`` and ``attention`` probes (soft-label BCE in torch);
- :mod:`.submodel`: the ``submodel`` probe (a frozen copy of a checkpoint's last k blocks);
- :mod:`.evaluate`: out-of-fold evaluation split by problem, and checkpoint-to-checkpoint
  transfer, with the metrics of :mod:`lmforecast.forecast.classification`.

This package registers no signal, and imports nothing heavy when the signal registry walks the
``signals`` package: import the submodules you use.
"""
