"""The class grader's command line on a folder of honest, broken and hostile submissions.

The folder (see :mod:`tests.grading.submissions`) is graded once, through the command
line, on 2 jobs, each notebook in its sandbox; most tests read that one run.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import tomllib

from attention_course.grading import cgroups, cli
from attention_course.grading.gradebook import (
    CHECK_ERROR,
    GRADED,
    INCOMPLETE,
    KERNEL_DIED,
    MEMORY_LIMIT,
    OUTPUT_LIMIT,
    TIME_LIMIT,
    UNREADABLE,
    WRONG_LAB,
    display_name,
    spreadsheet_safe,
)
from attention_course.grading.plan import load_plan
from attention_course.grading.sandbox import remove_stale_folders, run_folders
from tests.grading.submissions import (
    OUTLIVER,
    SOLUTION_PATH,
    after_solution_of,
    fingerprint,
    honest_points,
    write_submissions,
)
from tests.grading.test_sandbox import has_whole_sandbox_limits
from tests.helpers import ROOT

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
FULL = (3, 3, 2, 3, 1)
NONE = (0, 0, 0, 0, 0)
MAXIMUM = sum(FULL)
NOT_CHECKED_AFTER_ENCODE = (
    "not checked: state_gradient_norms, recall_by_position, reading_the_bottleneck"
)
HONEST = "the points its functions earn honestly"  # judged in the test's process
AT_MOST_HONEST = "at most the points its functions earn honestly"


# file -> points per exercise, status (or statuses), and words the row's detail contains
EXPECTED = {
    # controls
    "solution.ipynb": (FULL, GRADED, []),
    "unsolved.ipynb": (NONE, GRADED, []),
    "bob/half_solved.ipynb": ((3, 3, 0, 0, 0), GRADED, []),
    "zeros.ipynb": (HONEST, GRADED, []),
    # broken
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
    "memory_blow_up.ipynb": (FULL, MEMORY_LIMIT, [f"ran out of memory (limit {MEMORY_GIB} GiB)"]),
    # z and 1 - z swapped: only the shape is right (1 case of 7)
    "wrong_gru_edited_checks.ipynb": ((0.43, 3, 2, 3, 1), GRADED, []),
    "corrupted.ipynb": (NONE, UNREADABLE, ["NotJSONError"]),
    "lab02_by_mistake.ipynb": (NONE, WRONG_LAB, ["lab 02, not of lab 01"]),
    # forgeries: what they change in their kernel changes nothing
    # Its encode returns zeros of the right shapes (2 cases of 7: the shapes, and zeros
    # at the padding); the later exercises are stubs.
    "overwrites_checks.ipynb": ((3, 0.86, 0, 0, 0), GRADED, []),
    "forge/replaces_grader.ipynb": (AT_MOST_HONEST, (GRADED, CHECK_ERROR), []),
    "forge/switches_off_checks.ipynb": (NONE, CHECK_ERROR, ["failed in the kernel"]),
    "forge/replaces_results.ipynb": (AT_MOST_HONEST, (GRADED, CHECK_ERROR), []),
    "forge/patches_isclose_code.ipynb": (HONEST, GRADED, []),
    "forge/patches_builtins_abs.ipynb": (HONEST, GRADED, []),
    "forge/patches_rnncell_forward.ipynb": (HONEST, GRADED, []),
    "forge/reads_expected.ipynb": (HONEST, GRADED, []),
    "forge/copies_the_solution.ipynb": (NONE, GRADED, []),
    # harm: what they try outside their kernel fails
    "harm/kills_the_grader.ipynb": (FULL, GRADED, []),
    "harm/stops_the_grader.ipynb": (FULL, GRADED, []),
    "harm/stops_its_kernel.ipynb": (FULL, TIME_LIMIT, ["did not stop when interrupted"]),
    "harm/prints_forever.ipynb": (FULL, OUTPUT_LIMIT, ["output went over 16 MiB"]),
    # (its own cell may run over its time limit on a busy machine)
    "harm/forks_memory_hogs.ipynb": (FULL, (GRADED, TIME_LIMIT), []),
    "harm/rewrites_files.ipynb": (FULL, GRADED, []),
    "harm/outlives_grading.ipynb": (FULL, GRADED, []),
    # names and files
    "a/b.ipynb": (FULL, GRADED, []),
    "a__b.ipynb": (NONE, GRADED, []),
    "=1+2.ipynb": (FULL, GRADED, []),
    "evil\x1b[2J.ipynb": (FULL, GRADED, []),
    "system_file.ipynb": (NONE, UNREADABLE, ["a symbolic link: not followed"]),
    "link_to_a_classmate.ipynb": (NONE, UNREADABLE, ["a symbolic link: not followed"]),
    "named_pipe.ipynb": (NONE, UNREADABLE, ["a named pipe, not a file"]),
    "huge.ipynb": (NONE, UNREADABLE, ["larger than 64 MiB"]),
}


def row_name(name: str) -> str:
    """How the gradebook writes a submission's name."""
    return spreadsheet_safe(display_name(name))


def short_private_tmp() -> Path:
    """An empty TMPDIR for a grader, short enough for the kernels' socket paths (under a
    long one the grader uses /tmp), removed after the tests."""
    folder = Path(tempfile.mkdtemp(prefix="ac-tests-", dir="/tmp"))
    _PRIVATE_TMPS.append(folder)
    return folder


_PRIVATE_TMPS: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _remove_private_tmps():
    yield
    for folder in _PRIVATE_TMPS:
        shutil.rmtree(folder, ignore_errors=True)


def own_processes() -> list[psutil.Process]:
    """Processes this test started (and theirs), and any that outlived a submission."""
    found = psutil.Process().children(recursive=True)
    for process in psutil.process_iter(["cmdline"]):
        if OUTLIVER in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def own_cgroups() -> list[str]:
    own = cgroups._own_groups()
    return [
        str(folder)
        for mount, path in own.values()
        for folder in [os.path.join(mount + path.rstrip("/"), f"{cgroups.PREFIX}{os.getpid()}")]
        if os.path.exists(folder)
    ]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the generated folder once, through the command line, on 2 jobs."""
    base = tmp_path_factory.mktemp("grading")
    folder = base / "submitted"
    private_tmp = short_private_tmp()
    out, feedback = base / "grades.csv", base / "feedback"
    out.write_text("a gradebook of an earlier run\n")
    twins = write_submissions(
        folder, protected=[SOLUTION_PATH, ROOT / "attention_course" / "checks" / "lab01.py", out]
    )
    plan = load_plan("1", ROOT / "solutions")
    twin_points = {name: honest_points(notebook, plan) for name, notebook in twins.items()}
    watched = (folder, ROOT / "solutions", ROOT / "attention_course")
    before = fingerprint(*watched)
    processes_before = {p.pid for p in own_processes()}
    printed, errors = io.StringIO(), io.StringIO()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.monotonic()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(printed),
        contextlib.redirect_stderr(errors),
    ):
        patch.setattr(tempfile, "tempdir", str(private_tmp))
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
    with open(out, newline="", encoding="utf-8") as table:
        rows = {row["file"]: row for row in csv.DictReader(table)}
    time.sleep(1)  # what a submission left running would show by now
    return dict(
        code=code,
        rows=rows,
        raw=out.read_text(encoding="utf-8"),
        feedback=feedback,
        printed=printed.getvalue(),
        errors=errors.getvalue(),
        seconds=seconds,
        before=before,
        after=fingerprint(*watched),
        twins=twin_points,
        processes=[p for p in own_processes() if p.pid not in processes_before],
        left_in_tmp=sorted(os.listdir(private_tmp)) + run_folders("/tmp", os.getpid()),
        cgroups=own_cgroups(),
        peak_growth=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before,
    )


@pytest.mark.parametrize("name", EXPECTED)
def test_each_submission_gets_the_grade_and_status_it_deserves(graded, name):
    assert graded["code"] == 0, graded["errors"]
    row = graded["rows"][row_name(name)]
    points, status, words = EXPECTED[name]
    got = tuple(float(row[e]) for e in EXERCISES)
    if points in (HONEST, AT_MOST_HONEST):
        honest = tuple(graded["twins"][name][e] for e in EXERCISES)
        if points == HONEST:
            assert got == honest, row
        else:
            assert all(g <= h for g, h in zip(got, honest)), (got, honest, row)
    else:
        assert got == points, row
    assert row["status"] in (status if isinstance(status, tuple) else (status,)), row
    assert float(row["total"]) == pytest.approx(sum(got))
    assert (row["lab"], float(row["maximum"])) == ("01", MAXIMUM)
    for word in words:
        assert word in row["detail"], row["detail"]


def test_forgeries_earn_nothing_they_forged(graded):
    """Functions that return zeros earn the same points with or without an attack."""
    honest = graded["twins"]["zeros.ipynb"]
    assert 0 < sum(honest.values()) < MAXIMUM  # shape cases pass, the rest fail
    for name in EXPECTED:
        if name.startswith("forge/"):
            row = graded["rows"][name]
            assert float(row["total"]) <= sum(honest.values()), row


def test_gradebook_has_one_row_per_submission_with_its_columns(graded):
    assert sorted(graded["rows"]) == sorted(row_name(name) for name in EXPECTED)
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


def test_submissions_solutions_and_package_are_left_byte_identical(graded):
    changed = {
        path
        for path in graded["before"].keys() | graded["after"].keys()
        if graded["before"].get(path) != graded["after"].get(path)
    }
    assert not changed


def test_nothing_outlives_the_run(graded):
    assert not graded["processes"], [(p.pid, p.cmdline()) for p in graded["processes"]]
    assert graded["left_in_tmp"] == []
    assert graded["cgroups"] == []


def test_the_grader_holds_little_of_what_kernels_send(graded):
    """A submission printing without end, or forking memory hogs, does not grow the grader."""
    assert graded["peak_growth"] < 2**30, graded["peak_growth"] / 2**20


def test_the_sandbox_and_its_limits_are_announced(graded):
    assert "each notebook runs in a bubblewrap sandbox" in graded["errors"]
    if has_whole_sandbox_limits():
        assert f"memory {MEMORY_GIB:g} GiB, at most 256 processes" in graded["errors"]


def test_hostile_cells_were_refused_not_silent(graded):
    """The attacks did run (and failed where they ran), so their rows prove something."""
    feedback = graded["feedback"]
    copied = (feedback / "forge__copies_the_solution.txt").read_text()
    assert "Cells that raised an error" in copied and "raised IndexError" in copied
    rewrote = (feedback / "harm__rewrites_files.txt").read_text()
    assert "AssertionError" not in rewrote  # no secret was read
    assert "Cells that raised an error" not in rewrote


def test_unreadable_files_are_named_not_echoed(graded):
    row = graded["rows"]["system_file.ipynb"]
    assert "root:" not in row["detail"] and "root:" not in graded["raw"]
    assert all("linked_folder" not in name for name in graded["rows"])


def test_spreadsheet_formulas_and_terminal_escapes_are_defused(graded):
    assert "\n'=1+2.ipynb," in graded["raw"]
    assert "\x1b" not in graded["raw"] and "\x1b" not in graded["printed"]
    assert "evil\\x1b[2J.ipynb" in graded["printed"]


def test_grading_time_is_bounded_by_the_limits(graded):
    seconds = {name: float(row["seconds"]) for name, row in graded["rows"].items()}
    assert max(seconds.values()) < NOTEBOOK_SECONDS, seconds
    # An endless loop costs its cell's limit once; a loop deaf to interrupts, twice.
    assert seconds["endless_loop.ipynb"] < NOTEBOOK_SECONDS / 2
    assert seconds["ignores_interrupts.ipynb"] < NOTEBOOK_SECONDS / 2


def test_summary_lists_every_submission_and_counts_statuses(graded):
    printed = graded["printed"]
    for name in EXPECTED:
        assert display_name(name) in printed
    assert f"{len(EXPECTED)} submissions graded in" in printed


def test_feedback_repeats_the_check_messages_in_files_of_their_own(graded):
    feedback = graded["feedback"]
    names = sorted(p.name for p in feedback.iterdir())
    assert len(names) == len(EXPECTED)
    assert (feedback / "a__b.txt").read_text().startswith("Lab 01: a/b.ipynb\nScore: 12 / 12")
    assert (feedback / "a__b-2.txt").read_text().startswith("Lab 01: a__b.ipynb\nScore: 0 / 12")
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


def test_without_bubblewrap_it_refuses_unless_told_it_is_unsafe(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.ipynb").write_text("{")
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    out = tmp_path / "grades.csv"
    assert cli.main([str(tmp_path), "--lab", "1", "--out", str(out), "--no-progress"]) == 2
    assert "sudo apt-get install bubblewrap" in capsys.readouterr().err and not out.exists()
    args = [str(tmp_path), "--lab", "1", "--out", str(out), "--no-progress"]
    assert cli.main([*args, "--unsafe-no-sandbox"]) == 0
    assert "unreadable" in out.read_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_stops_every_kernel_and_keeps_what_was_graded(tmp_path, sig):
    """SIGTERM and SIGINT: the rows graded so far are kept, the rest marked incomplete.
    SIGKILL cannot be handled: the sandboxes die with the grader all the same."""
    folder, private_tmp = tmp_path / "submitted", short_private_tmp()
    folder.mkdir()
    solution = nbformat.read(SOLUTION_PATH, as_version=4)
    shutil.copyfile(SOLUTION_PATH, folder / "a_solution.ipynb")
    nbformat.write(
        after_solution_of(solution, "gru_step", "while True:\n    pass"), folder / "b_endless.ipynb"
    )
    out = tmp_path / "grades.csv"
    grader = subprocess.Popen(
        [sys.executable, "-m", "attention_course.grading", str(folder), "--lab", "1"]
        + ["--out", str(out), "--jobs", "1", "--no-progress"],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(private_tmp), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        kernels: dict[int, psutil.Process] = {}
        while len(kernels) < 2 and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.2)
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(grader.pid).children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if child.cmdline()[1:3] == ["-m", "ipykernel_launcher"]:
                            kernels.setdefault(child.pid, child)
        assert len(kernels) >= 2, "the second notebook's kernel did not start"
        time.sleep(3)  # the second kernel is busy in the endless loop
        every = [p for k in kernels.values() for p in _with_children(k)]
        grader.send_signal(sig)
        _, err = grader.communicate(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    _, alive = psutil.wait_procs(every, timeout=10)
    assert not alive
    if sig == signal.SIGKILL:
        assert grader.returncode == -sig and not out.exists()
        assert run_folders(str(private_tmp), grader.pid)  # it could not remove its folder
        remove_stale_folders(str(private_tmp))  # the next run does
        assert os.listdir(private_tmp) == []
        run = cgroups.open_run(2**20, 8)  # removes the groups of runs whose grader is gone
        if run is not None:
            run.close()
        stale = f"{cgroups.PREFIX}{grader.pid}"
        assert not any(
            os.path.exists(os.path.join(mount + path.rstrip("/"), stale))
            for mount, path in cgroups._own_groups().values()
        )
        return
    assert grader.returncode == 128 + sig, err
    assert f"stopped by {signal.Signals(sig).name}: 1 of 2 notebooks graded" in err
    with open(out, newline="") as table:
        rows = {row["file"]: row for row in csv.DictReader(table)}
    assert (rows["a_solution.ipynb"]["status"], rows["a_solution.ipynb"]["total"]) == (
        GRADED,
        "12",
    )
    assert rows["b_endless.ipynb"]["status"] == INCOMPLETE
    assert (rows["b_endless.ipynb"]["total"]) == "0"
    assert os.listdir(private_tmp) == []


def _with_children(process: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [process, *process.children(recursive=True)]
    return [process]


def test_console_script_runs_the_grader(capsys):
    # (`python -m attention_course.grading` runs in the signal tests above.)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"attention-course-grade": "attention_course.grading.cli:main"}
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0 and "--unsafe-no-sandbox" in capsys.readouterr().out


def test_only_regular_notebook_files_are_read_and_none_is_echoed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    cases = {
        "link.ipynb": lambda p: p.symlink_to(secret),
        "folder.ipynb": lambda p: p.mkdir(),
        "pipe.ipynb": lambda p: os.mkfifo(p),
        "binary.ipynb": lambda p: p.write_bytes(b"\xff\xfe password=hunter2"),
        "text.ipynb": lambda p: p.write_text("password=hunter2"),
        "json.ipynb": lambda p: p.write_text('["password=hunter2"]'),
    }
    reasons = {}
    for name, make in cases.items():
        make(tmp_path / name)
        with pytest.raises(cli.Unreadable) as error:
            cli.read_submission(tmp_path / name)
        reasons[name] = str(error.value)
        assert "hunter2" not in reasons[name]
    assert reasons == {
        "link.ipynb": "a symbolic link: not followed",
        "folder.ipynb": "a folder, not a file",
        "pipe.ipynb": "a named pipe, not a file",
        "binary.ipynb": "not text (UTF-8)",
        "text.ipynb": "not JSON (NotJSONError: a truncated or corrupted download?)",
        "json.ipynb": "not a notebook (AttributeError)",
    }
    shutil.copyfile(SOLUTION_PATH, tmp_path / "solution.ipynb")
    assert cli.read_submission(tmp_path / "solution.ipynb").cells
    listed = [p.name for p in cli.find_submissions(tmp_path)]  # a folder is searched, not read
    assert listed == sorted({*cases, "solution.ipynb"} - {"folder.ipynb"})
