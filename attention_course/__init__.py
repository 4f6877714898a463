"""Shared code of the attention course book.

What a chapter teaches stays visible in its notebook; what more than one notebook needs
lives here, tested, and is imported: data sets, models reused across chapters, plots,
widget demos, the training loop, lab checks and the lab generator.
"""

from importlib.metadata import PackageNotFoundError, version

try:  # the version in pyproject.toml, as installed: said once, there
    __version__ = version("attention-course")
except PackageNotFoundError:  # imported from a clone that was never installed
    __version__ = "unknown"
