"""Maintainers' tools, run from a clone (``python -m tools.X``); not in the installed package."""
