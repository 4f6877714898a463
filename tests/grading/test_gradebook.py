"""The gradebook, the summary and the feedback files."""

import csv
import os

from attention_course.checks.framework import CaseResult, ExerciseResult
from attention_course.grading.gradebook import (
    GRADED,
    TIME_LIMIT,
    UNREADABLE,
    Grade,
    display_name,
    feedback,
    feedback_names,
    spreadsheet_safe,
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


def test_text_a_spreadsheet_would_evaluate_is_escaped(tmp_path):
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    for start in "+-@\t\r":
        assert spreadsheet_safe(start + "x") == "'" + start + "x"
    assert spreadsheet_safe("alice.ipynb") == "alice.ipynb"
    grade = a_grade("=cmd|' /C calc'!A0.ipynb")
    grade.notes.append("=1+1")
    write_gradebook([grade], ["a", "b"], tmp_path / "g.csv")
    row = next(csv.DictReader(open(tmp_path / "g.csv")))
    assert row["file"].startswith("'=") and row["detail"] == "'=1+1"


def test_names_are_shown_with_escapes_for_what_a_terminal_would_obey(tmp_path):
    assert display_name("evil\x1b[2J.ipynb") == "evil\\x1b[2J.ipynb"
    assert display_name("new\nline.ipynb") == "new\\nline.ipynb"
    assert display_name("é.ipynb") == "é.ipynb"
    not_utf8 = os.fsdecode(b"caf\xe9.ipynb")
    assert display_name(not_utf8) == "caf\\xe9.ipynb"
    write_gradebook([a_grade(display_name(not_utf8))], ["a", "b"], tmp_path / "g.csv")


def test_feedback_files_are_unique_whatever_the_names(tmp_path):
    grades = [a_grade(name) for name in ("a/b.ipynb", "a__b.ipynb", "A__B.ipynb", ".hidden.ipynb")]
    assert feedback_names(grades) == ["a__b.txt", "a__b-2.txt", "A__B-3.txt", "hidden.txt"]
    write_feedback(grades, tmp_path)
    assert len(list(tmp_path.iterdir())) == 4
    assert (tmp_path / "a__b-2.txt").read_text().startswith("Lab 01: a__b.ipynb\n")
