"""End-to-end settings composed from the parts (``lmforecast experiment <name>``); no math here."""
