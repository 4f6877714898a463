"""The grader's cell in a submission's kernel: it publishes what the functions returned."""

from attention_course.checks import lab01
from attention_course.grading import kernel


def published(monkeypatch, answers):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data))
    kernel.publish_calls("01", "encode", answers)
    assert len(shown) == 1 and list(shown[0]) == [kernel.RECORD_MIME]
    return shown[0][kernel.RECORD_MIME]


def test_the_record_holds_outputs_not_verdicts(monkeypatch):
    def encode(cell, inputs, lengths=None):
        raise NotImplementedError

    record = published(monkeypatch, lambda: (encode,))
    assert record["exercise"] == "encode"
    assert {call["outcome"] for call in record["calls"]} == {"not implemented"}
    assert "status" not in str(record["calls"])  # no verdict is made in the kernel


def test_a_function_that_is_not_defined_is_a_failed_set_up(monkeypatch):
    record = published(monkeypatch, lambda: (undefined_name,))  # noqa: F821
    assert record["setup"]["status"] == "failed"
    result = lab01.check_encode.judge(record, trusted=False)
    assert result.cases[0].name == "your function is defined"
    assert "name 'undefined_name' is not defined" in result.cases[0].message
