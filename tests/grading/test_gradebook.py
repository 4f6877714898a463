"""The gradebook, the summary and the feedback files."""

import csv

from attention_course.checks.framework import CaseResult, ExerciseResult
from attention_course.grading.gradebook import (
    GRADED,
    TIME_LIMIT,
    UNREADABLE,
    Grade,
    feedback,
    summary,
    write_feedback,
    write_gradebook,
)


def a_grade(name="alice/lab.ipynb"):
    grade = Grade(name, "01", GRADED, earned={"a": 1.5, "b": 0}, maximum=4)
    grade.results = [
        ExerciseResult(
            "01", "a", 2, [CaseResult("works", "passed"), CaseResult("fast", "failed", "too slow")]
        ),
        ExerciseResult("01", "b", 2),
    ]
    return grade


def test_the_most_serious_problem_sets_the_status():
    grade = a_grade()
    grade.add_problem(TIME_LIMIT, "cell 3: too slow")
    grade.add_problem(GRADED, "a note")
    assert grade.status == TIME_LIMIT and grade.detail == "cell 3: too slow; a note"
    grade.add_problem(UNREADABLE, "no")
    assert grade.status == UNREADABLE


def test_gradebook_has_a_row_per_grade(tmp_path):
    write_gradebook([a_grade()], ["a", "b"], tmp_path / "g.csv")
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert rows[0]["a"] == "1.5" and rows[0]["total"] == "1.5" and rows[0]["maximum"] == "4"


def test_feedback_shows_what_the_student_saw_and_what_did_not_run(tmp_path):
    text = feedback(a_grade())
    assert "Score: 1.5 / 4 (graded)" in text
    assert "✘ fast: too slow" in text
    assert "not checked: the notebook stopped before this check" in text
    write_feedback([a_grade()], tmp_path)
    assert (tmp_path / "alice__lab.txt").read_text() == text
    assert "1 submissions graded in 3 s: 1 graded" in summary([a_grade()], 3)
