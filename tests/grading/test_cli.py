"""The class grader's command line: a folder of submissions, each graded as it deserves.

The submissions are generated here from Lab 1's solution and generated lab (never
hand-edited notebooks): the solution, the unsolved lab, a half-solved one, an endless loop,
a cell that ignores interrupts, a kernel that exits, a memory blow-up, a cheat that
overwrites the checks in its kernel, a wrong answer whose check cells were edited and
deleted, a corrupted file and a notebook of another lab. One grading run of the whole
folder, through the command line, serves most tests.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import io
import signal
import subprocess
import sys
import time

import nbformat
import psutil
import pytest
import tomllib

from attention_course.grading import cli
from attention_course.grading.gradebook import (
    GRADED,
    KERNEL_DIED,
    MEMORY_LIMIT,
    TIME_LIMIT,
    UNREADABLE,
    WRONG_LAB,
)
from attention_course.grading.kernel import RECORD_MIME
from tests.helpers import ROOT

LAB1 = "01_rnn_bottlenecks"
CELL_SECONDS = 5
NOTEBOOK_SECONDS = 45
MEMORY_GIB = 3

EXERCISES = (
    "gru_step",
    "encode",
    "state_gradient_norms",
    "recall_by_position",
    "reading_the_bottleneck",
)
NOT_CHECKED_AFTER_ENCODE = (
    "not checked: state_gradient_norms, recall_by_position, reading_the_bottleneck"
)
# file -> points per exercise (in the order of EXERCISES), status, and words the
# gradebook's detail must contain
EXPECTED = {
    "solution.ipynb": ((3, 3, 2, 3, 1), GRADED, []),
    "unsolved.ipynb": ((0, 0, 0, 0, 0), GRADED, []),
    "bob/half_solved.ipynb": ((3, 3, 0, 0, 0), GRADED, []),
    "endless_loop.ipynb": (
        (3, 3, 0, 3, 1),
        TIME_LIMIT,
        ["the check of state_gradient_norms", f"within {CELL_SECONDS} s", "interrupted"],
    ),
    "ignores_interrupts.ipynb": (
        (3, 3, 0, 0, 0),
        TIME_LIMIT,
        ["did not stop when interrupted", NOT_CHECKED_AFTER_ENCODE],
    ),
    "kills_its_kernel.ipynb": (
        (3, 3, 0, 0, 0),
        KERNEL_DIED,
        [
            "def state_gradient_norms",
            "the kernel died (exit code 1)",
            NOT_CHECKED_AFTER_ENCODE,
        ],
    ),
    "memory_blow_up.ipynb": (
        (3, 3, 2, 3, 1),
        MEMORY_LIMIT,
        [f"ran out of memory (limit {MEMORY_GIB} GiB)"],
    ),
    # Its tricks inside its kernel change nothing: the checks judge outside the kernel.
    # Its encode returns zeros of the right shapes (2 cases of 7: the shapes, and zeros
    # at the padding); the later exercises are stubs.
    "overwrites_checks.ipynb": ((3, 0.86, 0, 0, 0), GRADED, []),
    # z and 1 - z swapped: only the shape is right (1 case of 7)
    "wrong_gru_edited_checks.ipynb": ((0.43, 3, 2, 3, 1), GRADED, []),
    "corrupted.ipynb": ((0, 0, 0, 0, 0), UNREADABLE, ["NotJSONError"]),
    "lab02_by_mistake.ipynb": ((0, 0, 0, 0, 0), WRONG_LAB, ["lab 02, not of lab 01"]),
}


def edited(notebook, old, new):
    """A copy with ``old`` replaced by ``new`` in the one cell that contains it."""
    notebook = copy.deepcopy(notebook)
    cells = [cell for cell in notebook.cells if old in cell.source]
    assert len(cells) == 1 and cells[0].source.count(old) == 1, old
    cells[0].source = cells[0].source.replace(old, new)
    return notebook


def after_solution_of(notebook, function, code):
    """A copy with top-level ``code`` appended to the cell that defines ``function``."""
    cell = next(cell for cell in notebook.cells if f"def {function}(" in cell.source)
    return edited(notebook, cell.source, cell.source + "\n" + code)


def write_submissions(folder):
    solution_path = ROOT / "solutions" / f"{LAB1}.ipynb"
    solution = nbformat.read(solution_path, as_version=4)
    lab = nbformat.read(ROOT / "labs" / f"{LAB1}.ipynb", as_version=4)

    def solved(notebook, *functions):
        notebook = copy.deepcopy(notebook)
        for function in functions:
            index = next(
                i for i, cell in enumerate(notebook.cells) if f"def {function}(" in cell.source
            )
            notebook.cells[index] = copy.deepcopy(
                next(cell for cell in solution.cells if f"def {function}(" in cell.source)
            )
        return notebook

    submissions = {
        "solution.ipynb": solution,
        "unsolved.ipynb": lab,
        # gru_step and encode solved, state_gradient_norms deleted
        "bob/half_solved.ipynb": solved(lab, "gru_step", "encode"),
        # The classic: the loop counter is never increased.
        "endless_loop.ipynb": edited(
            solution,
            "for x_t in inputs:\n        h = cell(x_t, h)",
            "t = 0\n    while t < len(inputs):\n        h = cell(inputs[t], h)",
        ),
        "ignores_interrupts.ipynb": after_solution_of(
            solution,
            "state_gradient_norms",
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        ),
        "kills_its_kernel.ipynb": after_solution_of(
            solution, "state_gradient_norms", "import os\nos._exit(1)"
        ),
        # 8 GiB at once: more than the memory limit, fine for the machine without it.
        "memory_blow_up.ipynb": after_solution_of(
            solution, "state_gradient_norms", "hog = torch.empty(2**31)"
        ),
        "wrong_gru_edited_checks.ipynb": edited(
            edited(solution, "return (1 - z) * n + z * h", "return z * n + (1 - z) * h"),
            "checks.check_gru_step(gru_step)",
            'print("✔ all checks passed")',
        ),
        "lab02_by_mistake.ipynb": edited(
            edited(solution, "checks import lab01", "checks import lab02"),
            "# Solution 1:",
            "# Solution 2:",
        ),
    }
    half = submissions["bob/half_solved.ipynb"]
    half.cells = [cell for cell in half.cells if "def state_gradient_norms(" not in cell.source]
    edited_checks = submissions["wrong_gru_edited_checks.ipynb"]
    edited_checks.cells = [
        cell for cell in edited_checks.cells if cell.source != "checks.check_encode(encode)"
    ]

    # Overwrites the checks so they always pass, patches NumPy so every comparison is
    # "close", and displays a fake call record of its own.
    cheat = solved(lab, "gru_step")
    cheat = edited(
        cheat,
        '    raise NotImplementedError("encode: not implemented yet")',
        "    import numpy\n"
        "    numpy.isclose = lambda a, b, **options: numpy.ones(numpy.shape(a), bool)\n"
        "    batch, time, _ = inputs.shape\n"
        "    return (torch.zeros(batch, time, cell.hidden_size),\n"
        "            torch.zeros(batch, cell.hidden_size))",
    )
    cheat = after_solution_of(
        cheat, "gru_step", 'checks.check_gru_step = lambda fn: print("✔ passed")'
    )
    cheat = after_solution_of(
        cheat,
        "state_gradient_norms",
        "from attention_course.checks import framework\n"
        "framework._judge_case = lambda case, outcome, trusted: framework.CaseResult("
        "case.name, framework.PASSED)\n"
        "from IPython.display import display\n"
        f"display({{{RECORD_MIME!r}: {{'lab': '01', 'exercise': 'gru_step', "
        "'calls': []}}, raw=True)",
    )
    submissions["overwrites_checks.ipynb"] = cheat

    for name, notebook in submissions.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
    (folder / "corrupted.ipynb").write_bytes(solution_path.read_bytes()[:500])
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*.ipynb")) == sorted(EXPECTED)


def fingerprint(folder):
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the generated folder once, through the command line, on 2 jobs."""
    base = tmp_path_factory.mktemp("grading")
    folder = base / "submitted"
    write_submissions(folder)
    before = fingerprint(folder)
    out, feedback = base / "grades.csv", base / "feedback"
    printed = io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(printed):
        code = cli.main(
            [
                str(folder),
                "--lab",
                "1",
                "--out",
                str(out),
                "--feedback",
                str(feedback),
                "--jobs",
                "2",
                "--cell-timeout",
                str(CELL_SECONDS),
                "--notebook-timeout",
                str(NOTEBOOK_SECONDS),
                "--memory-limit",
                str(MEMORY_GIB),
                "--no-progress",
            ]
        )
    seconds = time.monotonic() - start
    with open(out, newline="") as table:
        rows = {row["file"]: row for row in csv.DictReader(table)}
    return dict(
        code=code,
        rows=rows,
        feedback=feedback,
        printed=printed.getvalue(),
        seconds=seconds,
        before=before,
        after=fingerprint(folder),
    )


@pytest.mark.parametrize("name", EXPECTED)
def test_each_submission_gets_the_grade_and_status_it_deserves(graded, name):
    assert graded["code"] == 0
    row = graded["rows"][name]
    points, status, words = EXPECTED[name]
    got = tuple(float(row[e]) for e in EXERCISES)
    assert (got, row["status"]) == (points, status), row
    assert float(row["total"]) == pytest.approx(sum(points))
    assert (row["lab"], float(row["maximum"])) == ("01", 12)
    for word in words:
        assert word in row["detail"], row["detail"]


def test_gradebook_has_one_row_per_submission_with_its_columns(graded):
    assert sorted(graded["rows"]) == sorted(EXPECTED)
    assert list(next(iter(graded["rows"].values()))) == [
        "file",
        "lab",
        *EXERCISES,
        "total",
        "maximum",
        "status",
        "seconds",
        "detail",
    ]


def test_submitted_files_are_left_byte_identical_and_alone(graded):
    assert graded["after"] == graded["before"]


def test_grading_time_is_bounded_by_the_limits(graded):
    seconds = {name: float(row["seconds"]) for name, row in graded["rows"].items()}
    assert max(seconds.values()) < NOTEBOOK_SECONDS, seconds
    # An endless loop costs its cell's limit once; a loop deaf to interrupts, twice.
    assert seconds["endless_loop.ipynb"] < NOTEBOOK_SECONDS / 2
    assert seconds["ignores_interrupts.ipynb"] < NOTEBOOK_SECONDS / 2
    assert graded["seconds"] < 2 * NOTEBOOK_SECONDS


def test_summary_lists_every_submission_and_counts_statuses(graded):
    printed = graded["printed"]
    for name in EXPECTED:
        assert name in printed
    assert "11 submissions graded in" in printed
    assert "5 graded, 2 time limit" in printed


def test_feedback_repeats_the_check_messages(graded):
    feedback = graded["feedback"]
    assert sorted(p.name for p in feedback.iterdir()) == sorted(
        name.replace("/", "__").replace(".ipynb", ".txt") for name in EXPECTED
    )
    wrong = (feedback / "wrong_gru_edited_checks.txt").read_text()
    assert "Score: 9.43 / 12 (graded)" in wrong
    assert "✘ equals nn.GRUCell with the same weights: h_t is wrong: z and 1 - z" in wrong
    assert "✔ context is the last state c = h_n" in wrong  # its deleted check still ran
    half = (feedback / "bob__half_solved.txt").read_text()
    assert "… not implemented yet" in half and "3 / 3 points" in half
    assert (
        "✘ your function is defined: name 'state_gradient_norms' is not defined: was its "
        "cell deleted or renamed, or did it raise?"
    ) in half
    died = (feedback / "kills_its_kernel.txt").read_text()
    assert "the kernel died" in died and "not checked: the notebook stopped" in died
    cheat = (feedback / "overwrites_checks.txt").read_text()
    assert (
        "✘ states equal nn.RNN's outputs at the real positions: states at the real positions "
        "differs from the expected values"
    ) in cheat


def test_command_line_refuses_what_it_cannot_grade(tmp_path, capsys):
    assert cli.main([str(tmp_path), "--lab", "1"]) == 2
    assert "no .ipynb files" in capsys.readouterr().err
    (tmp_path / "a.ipynb").write_text("{}")
    assert cli.main([str(tmp_path), "--lab", "42"]) == 2
    assert "expected one solution notebook" in capsys.readouterr().err
    assert cli.main([str(tmp_path / "missing"), "--lab", "1"]) == 2


def test_ctrl_c_stops_the_grading_and_every_kernel(tmp_path):
    solution = nbformat.read(ROOT / "solutions" / f"{LAB1}.ipynb", as_version=4)
    nbformat.write(
        after_solution_of(solution, "gru_step", "while True:\n    pass"), tmp_path / "endless.ipynb"
    )
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "attention_course.grading",
            str(tmp_path),
            "--lab",
            "1",
            "--out",
            str(tmp_path / "grades.csv"),
            "--no-progress",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        kernels = []
        while not kernels and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.5)
            kernels = [
                child
                for child in psutil.Process(grader.pid).children()
                if "ipykernel" in " ".join(child.cmdline())
            ]
        assert kernels, "no kernel started"
        time.sleep(2)  # the kernel is busy in the endless loop
        grader.send_signal(signal.SIGINT)
        _, err = grader.communicate(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 130 and "interrupted: no gradebook written" in err, err
    assert not (tmp_path / "grades.csv").exists()
    gone, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive


def test_console_script_runs_the_grader(capsys):
    # (`python -m attention_course.grading` runs in the Ctrl-C test above.)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"attention-course-grade": "attention_course.grading.cli:main"}
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0 and "--lab" in capsys.readouterr().out
