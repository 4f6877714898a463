"""Shared code of the attention course book.

What a chapter teaches stays visible in its notebook; what more than one notebook needs
lives here, tested, and is imported: data sets, models reused across chapters, plots,
widget demos, the training loop, lab checks and the lab generator.
"""

__version__ = "0.1.0"
