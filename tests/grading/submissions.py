"""A folder of generated Lab 1 submissions: honest ones, broken ones and hostile ones.

Everything is built from Lab 1's solution and generated lab (never hand-edited notebooks):
the lab's stubs are found by their ``raise NotImplementedError`` lines and attacks are
cells added after the checks import, so nothing here depends on the checks' cases.

Two kinds of attack:

* **forgeries** try to earn points they did not: each is the "zeros" submission (functions
  returning tensors of the right shapes, filled with zeros) plus an attack, and must earn
  what those functions earn honestly, judged here, in the test's own process;
* **harm** tries to hurt the grader, the machine or the class: each is the solution plus
  an attack, and must earn full marks (or what its own damage allows).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import stat
import textwrap
from pathlib import Path

import nbformat

from attention_course.grading.kernel import RECORD_MIME
from tests.helpers import ROOT

LAB1 = "01_rnn_bottlenecks"
SOLUTION_PATH = ROOT / "solutions" / f"{LAB1}.ipynb"
LAB_PATH = ROOT / "labs" / f"{LAB1}.ipynb"
# A process of a submission that would outlive grading shows this in its command line.
OUTLIVER = "attention-course-outliver"
MEMORY_HOG_GIB = 0.75  # each of four forked children; the test's memory limit is 3 GiB

STUB = re.compile(r"^( *)raise NotImplementedError\(.*\)$", re.MULTILINE)

# Lab 1's functions answering with zeros of the right shapes: some shape cases pass.
# (The question's "zeros" is a wrong choice.)
ZEROS = {
    "gru_step": "def gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh):\n"
    "    return torch.zeros_like(h)",
    "encode": "def encode(cell, inputs, lengths=None):\n"
    "    batch, time, _ = inputs.shape\n"
    "    return (torch.zeros(batch, time, cell.hidden_size),\n"
    "            torch.zeros(batch, cell.hidden_size))",
    "state_gradient_norms": "def state_gradient_norms(cell, inputs):\n"
    "    return torch.zeros(inputs.shape[0])",
    "recall_by_position": "def recall_by_position(cell, train_sources, test_sources):\n"
    "    return torch.zeros(test_sources.shape[1])",
    "reading_the_bottleneck": 'def reading_the_bottleneck():\n    return "a"',
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


def with_cell(notebook, code, at_end=False):
    """A copy with a code cell of ``code`` after the checks import (or at the end)."""
    notebook = copy.deepcopy(notebook)
    index = (
        len(notebook.cells)
        if at_end
        else 1
        + next(
            i
            for i, cell in enumerate(notebook.cells)
            if "from attention_course.checks" in cell.source
        )
    )
    notebook.cells.insert(index, nbformat.v4.new_code_cell(textwrap.dedent(code).strip()))
    return notebook


def stubs_replaced(notebook, body):
    """A copy whose every stub line is replaced by ``body`` (may use the stub's name)."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = STUB.sub(lambda m: textwrap.indent(body, m.group(1)), cell.source)
    return notebook


def zeros_lab(lab):
    notebook = copy.deepcopy(lab)
    for function, source in ZEROS.items():
        cell = next(cell for cell in notebook.cells if f"def {function}(" in cell.source)
        cell.source = source
    return notebook


# ---------------------------------------------------------------- forgeries


# The grader's own function in the kernel, and the checks' objects, replaced: every record
# claims that every case passed.
REPLACES_GRADER = f"""
import attention_course.grading.kernel as grader
from attention_course.checks import framework
from IPython.display import display

def forged(lab, exercise, answers):
    record = {{"format": 1, "lab": lab, "exercise": exercise, "status": "passed",
              "earned": 99, "calls": [{{"outcome": "returned", "value": None}}] * 20}}
    display({{{RECORD_MIME!r}: record}}, raw=True)

grader.publish_calls = forged
framework.Check.call = lambda self, *answers: {{
    "format": 1, "lab": self.lab.number, "exercise": self.exercise, "status": "passed"}}
"""

# The checks switched off: judges and comparisons that always pass, and calls recorded as
# "the check itself broke" (which once counted as passed).
SWITCHES_OFF_CHECKS = """
from attention_course.checks import calling, expect, framework
framework._judge_case = lambda case, outcome, trusted: framework.CaseResult(
    case.name, framework.PASSED)
framework.Check.judge = lambda self, record, trusted=True: framework.ExerciseResult(
    self.lab.number, self.exercise, self.points,
    [framework.CaseResult("everything", framework.PASSED)])
for name in dir(expect):
    if name.startswith("expect_"):
        setattr(expect, name, lambda value, *args, **kwargs: value)
calling.run_recipes = lambda recipes, answers, guards: (
    [{"outcome": calling.BROKEN, "message": "KeyError"}] * len(recipes), calling.CallLog())
"""

# While a check runs, the student's function rewrites what the check recorded so far, and
# the lab's own table of results.
REPLACES_RESULTS = """
import sys

from attention_course.checks import framework

def rewrite_results():
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in list(frame.f_locals.items()):
            if name == "outcomes" and isinstance(value, list):
                value[:] = [{"outcome": "returned", "value": {"$opaque": "passed"}}] * 20
            elif name == "record" and isinstance(value, dict):
                value["setup"] = {"status": "errored", "message": "KeyError"}
        frame = frame.f_back
    for check in checks.lab.checks.values():
        checks.lab.record(framework.ExerciseResult(
            check.lab.number, check.exercise, check.points,
            [framework.CaseResult("everything", framework.PASSED)]))
"""

# The code object of NumPy's isclose (and allclose) replaced; PyTorch's comparisons too.
PATCHES_ISCLOSE = """
import numpy
import torch

def always_close(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return ones(shape(a), dtype=bool)  # noqa: F821 (numpy's own globals)

def all_close(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return True

for function, fake in ((numpy.isclose, always_close), (numpy.allclose, all_close)):
    getattr(function, "_implementation", function).__code__ = fake.__code__
torch.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.equal = lambda *args, **kwargs: True
"""

PATCHES_ABS = """
import builtins
builtins.abs = lambda x: 0
"""

# The reference a judge would compute, made to agree with the zeros.
PATCHES_RNNCELL = """
import torch
torch.nn.RNNCell.forward = lambda self, x, h=None: torch.zeros(x.shape[0], self.hidden_size)
torch.nn.GRUCell.forward = lambda self, x, h=None: torch.zeros(x.shape[0], self.hidden_size)
torch.nn.RNN.forward = lambda self, x, h=None: (
    torch.zeros(*x.shape[:2], self.hidden_size), torch.zeros(1, x.shape[0], self.hidden_size))
"""

# Each function looks up the checker's stack for what it expects and returns that.
READS_EXPECTED = """
import sys

def expected_from_the_checker():
    frame = sys._getframe(2)
    while frame is not None:
        for name, value in frame.f_locals.items():
            if name in ("expected", "reference", "want", "target", "correct"):
                return value() if callable(value) else value
        frame = frame.f_back
    return None
"""


def reads_solutions_code(paths):
    """Looks for the solution notebook where the grader keeps it, and runs its code."""
    return f"""
import glob, json, os
found = [p for p in {[str(p) for p in paths]!r} if os.path.exists(p)]
for root in ("/work", "/root", "/home", "/tmp", "/srv", "/opt"):
    found += glob.glob(root + "/**/{LAB1}.ipynb", recursive=True)
solution = json.load(open(found[0]))  # raises when there is nothing to find
for cell in solution["cells"]:
    if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
        exec("".join(cell["source"]))
"""


# ---------------------------------------------------------------- harm


KILLS_GRADER = """
import os, signal
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid != os.getpid():
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
os.kill(os.getppid(), signal.SIGTERM)
os.kill(os.getppid(), signal.SIGKILL)
"""

STOPS_GRADER = """
import os, signal
os.kill(os.getppid(), signal.SIGSTOP)
os.killpg(0, signal.SIGCONT)
"""

STOPS_ITSELF = """
import os, signal
os.kill(os.getpid(), signal.SIGSTOP)
"""

PRINTS_FOREVER = """
while True:
    print("spam " * 2000, flush=True)
"""

# Four children hold MEMORY_HOG_GIB each at once, then the cell reports how many were
# still alive holding it (in its error message, which the feedback repeats).
FORKS_MEMORY = f"""
import os, time
size = int({MEMORY_HOG_GIB} * 2**30)
children, ready = [], os.pipe()
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(size)
            for i in range(0, size, 4096):
                block[i] = 1
            os.write(ready[1], b"x")
            time.sleep(20)
        finally:
            os._exit(0)
    children.append(pid)
os.close(ready[1])
os.set_blocking(ready[0], False)
held, dead, deadline = 0, set(), time.monotonic() + 2.5
while held + len(dead) < 4 and time.monotonic() < deadline:
    time.sleep(0.1)
    try:
        held += len(os.read(ready[0], 16))
    except BlockingIOError:
        pass
    dead |= {{pid for pid in children if pid not in dead and os.waitpid(pid, os.WNOHANG)[0]}}
alive = [pid for pid in children if pid not in dead and os.waitpid(pid, os.WNOHANG)[0] == 0]
for pid in alive:
    os.kill(pid, 9)
raise RuntimeError(f"children holding memory at once: {{min(held, len(alive))}}")
"""


def rewrites_files_code(targets, secrets):
    """Tries to change every file of ``targets`` (and to read ``secrets``) from the kernel."""
    return f"""
import os, shutil, subprocess, sys
for path in {[str(p) for p in targets]!r}:
    for attempt in (
        lambda: open(path, "a").write("\\n# changed by a submission"),
        lambda: open(path, "w").write("{{}}"),
        lambda: os.chmod(path, 0o777),
        lambda: os.utime(path, (0, 0)),
        lambda: os.remove(path),
        lambda: shutil.rmtree(os.path.dirname(path)),
    ):
        try:
            attempt()
        except Exception:
            pass
import attention_course.checks as installed
try:
    open(installed.__file__, "a").write("\\nraise SystemExit")
except Exception:
    pass
leaked = []
for path in {[str(p) for p in secrets]!r}:
    try:
        text = open(path).read()[:100]
        if text:
            leaked.append(text)
    except Exception:
        pass
assert not leaked, leaked
"""


def outlives_code(targets):
    """Starts a process in its own session that keeps writing to ``targets`` for two
    minutes; a child of it forks once more and detaches."""
    loop = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "deadline = time.time() + 120\n"
        "while time.time() < deadline:\n"
        f"    for path in {[str(p) for p in targets]!r}:\n"
        "        try:\n"
        "            open(path, 'w').write('rewritten after grading')\n"
        "        except Exception:\n"
        "            pass\n"
        "    time.sleep(0.2)\n"
    )
    return f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", {loop!r}, {OUTLIVER!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


# ---------------------------------------------------------------- the folder


def write_submissions(folder: Path, protected: list[Path]) -> dict[str, nbformat.NotebookNode]:
    """Write every submission into ``folder``; return the notebooks whose exercise
    functions are judged here as they would be honestly ("twins"), by file name.

    ``protected``: files a submission must not change (it tries to), besides ``folder``'s.
    """
    solution = nbformat.read(SOLUTION_PATH, as_version=4)
    lab = nbformat.read(LAB_PATH, as_version=4)
    zeros = zeros_lab(lab)

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
        # Controls
        "solution.ipynb": solution,
        "unsolved.ipynb": lab,
        # gru_step and encode solved, state_gradient_norms deleted
        "bob/half_solved.ipynb": solved(lab, "gru_step", "encode"),
        "zeros.ipynb": zeros,
        # Broken in the ordinary ways. The classic: the loop counter is never increased.
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
        # Forgeries: the zeros, plus an attack
        "forge/replaces_grader.ipynb": with_cell(zeros, REPLACES_GRADER),
        "forge/switches_off_checks.ipynb": with_cell(zeros, SWITCHES_OFF_CHECKS),
        "forge/replaces_results.ipynb": _calling_first(
            zeros, REPLACES_RESULTS, "rewrite_results()"
        ),
        "forge/patches_isclose_code.ipynb": with_cell(zeros, PATCHES_ISCLOSE),
        "forge/patches_builtins_abs.ipynb": with_cell(zeros, PATCHES_ABS),
        "forge/patches_rnncell_forward.ipynb": with_cell(zeros, PATCHES_RNNCELL),
        "forge/reads_expected.ipynb": _calling_first(
            zeros,
            READS_EXPECTED,
            "found = expected_from_the_checker()\nif found is not None:\n    return found",
        ),
        "forge/copies_the_solution.ipynb": with_cell(
            lab, reads_solutions_code([SOLUTION_PATH, ROOT / "solutions"])
        ),
        # Harm: the solution, plus an attack
        "harm/kills_the_grader.ipynb": with_cell(solution, KILLS_GRADER, at_end=True),
        "harm/stops_the_grader.ipynb": with_cell(solution, STOPS_GRADER, at_end=True),
        "harm/stops_its_kernel.ipynb": with_cell(solution, STOPS_ITSELF, at_end=True),
        "harm/prints_forever.ipynb": with_cell(solution, PRINTS_FOREVER, at_end=True),
        "harm/forks_memory_hogs.ipynb": with_cell(solution, FORKS_MEMORY, at_end=True),
        "harm/rewrites_files.ipynb": with_cell(
            solution,
            rewrites_files_code(
                [folder / "solution.ipynb", *protected],
                [folder / "solution.ipynb", SOLUTION_PATH, "/etc/shadow", Path.home() / ".bashrc"],
            ),
            at_end=True,
        ),
        "harm/outlives_grading.ipynb": with_cell(
            solution, outlives_code([folder / "unsolved.ipynb", *protected]), at_end=True
        ),
        # Names: the same feedback file for both unless made unique; a formula; escapes.
        "a/b.ipynb": solution,
        "a__b.ipynb": lab,
        "=1+2.ipynb": solution,
        "evil\x1b[2J.ipynb": solution,
    }
    half = submissions["bob/half_solved.ipynb"]
    half.cells = [cell for cell in half.cells if "def state_gradient_norms(" not in cell.source]
    edited_checks = submissions["wrong_gru_edited_checks.ipynb"]
    edited_checks.cells = [
        cell for cell in edited_checks.cells if cell.source != "checks.check_encode(encode)"
    ]
    submissions["overwrites_checks.ipynb"] = _overwrites_checks(lab, solved)

    for name, notebook in submissions.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
    (folder / "corrupted.ipynb").write_bytes(SOLUTION_PATH.read_bytes()[:500])
    (folder / "system_file.ipynb").symlink_to("/etc/passwd")  # never followed, never echoed
    (folder / "link_to_a_classmate.ipynb").symlink_to(folder / "solution.ipynb")
    os.mkfifo(folder / "named_pipe.ipynb")  # opening it would wait for a writer forever
    with open(folder / "huge.ipynb", "wb") as huge:
        huge.truncate(65 * 2**20)  # sparse: costs no disk
    (folder / "linked_folder").symlink_to(folder / "bob")  # not entered
    twins = {
        name: notebook
        for name, notebook in submissions.items()
        if name.startswith("forge/") or name == "zeros.ipynb"
    }
    twins["forge/copies_the_solution.ipynb"] = lab
    twins["forge/replaces_results.ipynb"] = zeros
    twins["forge/reads_expected.ipynb"] = zeros
    return twins


def _calling_first(notebook, helpers, call):
    """``helpers`` in a cell after the checks import, and every exercise function of the
    notebook starting with ``call`` (a statement using them)."""
    notebook = with_cell(notebook, helpers)
    for cell in notebook.cells:
        for function in ZEROS:
            head = f"def {function}("
            if cell.source.startswith(head):
                first, rest = cell.source.split("\n", 1)
                cell.source = first + "\n" + textwrap.indent(call, "    ") + "\n" + rest
    return notebook


def _overwrites_checks(lab, solved):
    """Overwrites the checks so they always pass, patches NumPy so every comparison is
    "close", and displays a fake call record of its own."""
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
    return after_solution_of(
        cheat,
        "state_gradient_norms",
        "from attention_course.checks import framework\n"
        "framework._judge_case = lambda case, outcome, trusted: framework.CaseResult("
        "case.name, framework.PASSED)\n"
        "from IPython.display import display\n"
        f"display({{{RECORD_MIME!r}: {{'lab': '01', 'exercise': 'gru_step', "
        "'calls': []}}, raw=True)",
    )


def honest_points(notebook, plan) -> dict[str, float]:
    """What a notebook's exercise functions earn on their own: the cells defining them run
    here (generated code, none of the attacks), judged by the official checks as the
    grader judges, from plain data and distrusting the record."""
    import torch

    namespace = {"torch": torch, "nn": torch.nn}
    for cell in notebook.cells:
        if cell.cell_type == "code" and any(
            cell.source.startswith(f"def {function}(") for function in ZEROS
        ):
            exec(cell.source, namespace)
    points = {}
    for exercise, check in plan.lab.checks.items():
        try:
            answers = eval(f"({plan.answers[exercise]},)", namespace)
        except NameError:
            points[exercise] = 0.0
            continue
        record = json.loads(json.dumps(check.call(*answers)))
        points[exercise] = check.judge(record, trusted=False).earned
    return points


def fingerprint(*roots: Path) -> dict[str, tuple]:
    """Every file under ``roots`` (not followed through links): its bytes, mode and time."""
    found = {}
    for root in roots:
        for directory, folders, files in os.walk(root):
            folders[:] = [f for f in folders if f != "__pycache__"]
            for name in files:
                path = Path(directory) / name
                info = path.lstat()
                if stat.S_ISREG(info.st_mode):
                    found[str(path)] = (_digest(path), info.st_mode, info.st_mtime_ns)
                else:
                    found[str(path)] = (stat.S_IFMT(info.st_mode), info.st_mode)
    return found


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()
