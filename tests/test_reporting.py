"""Metrics a chapter reports (attention_course.reporting)."""

import json

import torch

from attention_course.reporting import METRICS_DIR_VARIABLE, report_metrics


def test_report_prints_and_records_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(METRICS_DIR_VARIABLE, str(tmp_path))
    report_metrics("nb", accuracy=torch.tensor(0.5), steps=3)
    report_metrics("nb", loss=0.25)
    assert "accuracy = 0.5000" in capsys.readouterr().out
    assert json.loads((tmp_path / "nb.json").read_text()) == {
        "accuracy": 0.5,
        "loss": 0.25,
        "steps": 3,
    }


def test_report_writes_nothing_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv(METRICS_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    report_metrics("nb", accuracy=1.0)
    assert list(tmp_path.iterdir()) == []
