"""In-training probes (METHODS.md section 4): evaluating probes on a checkpoint's prompt states.

``evaluate`` fits a probe (:mod:`lmforecast.signals.probes`) with splits by problem and scores
it with :mod:`lmforecast.forecast.classification`; it lives here, above both layers.
"""
