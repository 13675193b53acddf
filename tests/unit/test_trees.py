"""tests/trees.py: a test that needs an external tree skips without it, and fails under HIL_REQUIRE_TREES=1."""

from __future__ import annotations

import pytest

from tests import trees


def _tflm_tree(root, *, downloads=True):
    need = trees.NEEDS["tflm"]
    for f in need.files if downloads else need.files[:1]:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("")
    return root


@pytest.fixture
def no_trees(monkeypatch):
    for env in ("HIL_TFLM_ROOT", "HIL_CMSIS_NN_ROOT", "HIL_AMBIQSUITE_ROOT", "HIL_LSAD_SAMPLE", trees.REQUIRE_ENV):
        monkeypatch.delenv(env, raising=False)
    return monkeypatch


def test_unset_tree_skips_naming_the_variable_and_the_fix(no_trees):
    with pytest.raises(pytest.skip.Exception, match=r"HIL_TFLM_ROOT is not set.*hil deps tflm"):
        trees.require("tflm")


def test_required_trees_fail_instead_of_skipping(no_trees):
    no_trees.setenv(trees.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=r"HIL_REQUIRE_TREES=1 and HIL_AMBIQSUITE_ROOT is not set"):
        trees.require("ambiqsuite")


def test_a_tree_without_its_downloads_is_broken(no_trees, tmp_path):
    no_trees.setenv("HIL_TFLM_ROOT", str(_tflm_tree(tmp_path, downloads=False)))
    assert "flatbuffers.h" in trees.problem("tflm")


def test_a_wrong_cmsis_nn_path_is_broken_and_an_unset_one_is_fine(no_trees, tmp_path):
    no_trees.setenv("HIL_TFLM_ROOT", str(_tflm_tree(tmp_path)))
    assert trees.problem("tflm") is None
    trees.require("tflm")
    no_trees.setenv("HIL_CMSIS_NN_ROOT", str(tmp_path / "nope"))
    assert "HIL_CMSIS_NN_ROOT" in trees.problem("tflm") and "arm_nnfunctions.h" in trees.problem("tflm")



def test_missing_lsad_sample_skips_and_fails_when_inputs_are_required(no_trees, tmp_path):
    no_trees.setenv("HIL_LSAD_SAMPLE", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.skip.Exception, match=r"HIL_LSAD_SAMPLE=.*nowhere is not usable.*JS00001"):
        trees.require("lsad-sample")
    no_trees.setenv(trees.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=r"HIL_REQUIRE_TREES=1 and HIL_LSAD_SAMPLE="):
        trees.require("lsad-sample")


def test_lsad_sample_defaults_to_the_shared_folder_beside_the_checkout(no_trees):
    assert trees.path("lsad-sample") == (trees.REPO.parent / "shared" / "data" / "lsad-sample").resolve()
