"""Judging outside the kernel: only what the student's functions returned counts."""

import nbformat

from attention_course.checks import lab01
from attention_course.grading.gradebook import CHECK_ERROR, GRADED, Grade
from attention_course.grading.judging import judge_run, published_records
from attention_course.grading.kernel import RECORD_MIME
from attention_course.grading.plan import graded_notebook, load_plan
from attention_course.grading.runner import Run
from tests.helpers import ROOT


def judged(records_by_exercise):
    """Judge a Lab 1 run whose grader cells displayed the given records."""
    plan = load_plan("1", ROOT / "solutions")
    lab = nbformat.read(ROOT / "labs" / "01_rnn_bottlenecks.ipynb", as_version=4)
    graded = graded_notebook(lab, plan)
    for index, exercise in graded.check_cells.items():
        for record in records_by_exercise.get(exercise, []):
            graded.notebook.cells[index].setdefault("outputs", []).append(
                nbformat.v4.new_output("display_data", data={RECORD_MIME: record})
            )
    grade = Grade("x.ipynb", "01", GRADED, maximum=plan.maximum)
    judge_run(grade, graded, Run(graded.notebook, [], 0.0), plan)
    return grade


def solved_record(exercise):
    import json

    import torch

    def gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
        x_r, x_z, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
        h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        return (1 - z) * torch.tanh(x_n + r * h_n) + z * h

    return json.loads(json.dumps(lab01.check_gru_step.call(gru_step)))


def test_a_record_of_right_outputs_earns_the_points():
    grade = judged({"gru_step": [solved_record("gru_step")]})
    assert grade.earned["gru_step"] == 3 and grade.status == GRADED
    assert grade.notes == [
        "not checked: encode, state_gradient_norms, recall_by_position, reading_the_bottleneck"
    ]


def test_only_the_last_record_of_the_right_exercise_counts():
    other = dict(solved_record("gru_step"), exercise="encode")  # a record for another exercise
    empty = {"lab": "01", "exercise": "gru_step", "calls": []}
    grade = judged({"gru_step": [solved_record("gru_step"), empty], "encode": [other]})
    assert grade.earned["gru_step"] == 0  # the last one, which is empty
    assert grade.earned["encode"] == 0  # a record of gru_step's outputs is not encode's


def test_a_record_claiming_the_check_broke_is_flagged_and_earns_nothing():
    forged = {
        "lab": "01",
        "exercise": "gru_step",
        "setup": {"status": "errored", "message": "KeyError"},
    }
    grade = judged({"gru_step": [forged]})
    assert grade.earned["gru_step"] == 0 and grade.status == CHECK_ERROR


def test_records_are_read_from_display_data_of_their_own_type():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/plain": "{}"}),
        nbformat.v4.new_output("display_data", data={RECORD_MIME: {"a": 1}}),
    ]
    assert published_records(cell) == [{"a": 1}]
