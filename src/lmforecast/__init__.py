"""lmforecast: forecast downstream performance of language models from cheap proxy signals.

The public API is re-exported lazily from the submodules; see DESIGN.md for the map.
"""

__version__ = "0.1.0"
