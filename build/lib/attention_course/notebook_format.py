"""The conventions of the book's notebooks, defined once.

The lab generator (``tools/notebooks.py``), the class grader and the tests all read
notebooks by these marks: the Colab set-up cell's tag, the markers around a solution, how
a check cell and the score cell are written, and how a lab's title and checks name it.
"""

import re

SETUP_TAG = "colab-setup"  # the first cell of every notebook: installs the package in Colab
BEGIN_SOLUTION = "### BEGIN SOLUTION"  # in solutions/, around the body a student writes
END_SOLUTION = "### END SOLUTION"
NOTEBOOK_FOLDERS = ("chapters", "solutions", "labs")

# A check cell is one call `checks.check_<exercise>(<the student's functions>)`; the last
# cell of a lab is `checks.score()`.
CHECK_CALL = re.compile(r"\bchecks\.check_(\w+)\(")
SCORE_CALL = re.compile(r"^checks\.score\(\)", re.MULTILINE)
# How a notebook says which lab it is: its checks import and its title.
CHECKS_IMPORT = [
    re.compile(r"attention_course\.checks\s+import\s+lab(\d+)"),
    re.compile(r"attention_course\.checks\.lab(\d+)"),
]
TITLE = re.compile(r"^#\s+(?:Lab|Solution)\s+(\d+)\b", re.MULTILINE)


def is_setup_cell(cell) -> bool:
    return SETUP_TAG in cell.get("metadata", {}).get("tags", [])


def lab_number(name: str) -> str:
    """``"03_bahdanau_attention"`` (a notebook's name) -> ``"03"``."""
    return name.split("_", 1)[0]
