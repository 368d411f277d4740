"""The bottom layer: record types, errors, the typed registry, fingerprints, paths, readers.

Imports nothing else of the package, so every other layer can depend on it.
"""
