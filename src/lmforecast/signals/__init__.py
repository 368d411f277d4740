"""Cheap proxy signals computed from per-token records, one file per signal family."""
