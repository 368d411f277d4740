"""Adapters that put lmforecast inside other tools (lm-evaluation-harness)."""
