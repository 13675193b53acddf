"""The HELLO/INFO check that refuses a stale image, and run-folder resolution (hil.run)."""

from dataclasses import dataclass

import pytest

from hil.errors import ConfigError, InfraError
from hil.device.session import ExpectedImage, check_image
from hil.run import RunOptions, _resolve_run_dir

SHA = "ab" * 32


@dataclass
class T:
    shape: tuple
    scale: float
    zero_point: int


@dataclass
class Info:
    model_sha256: str
    input: T
    output: T


def info(**kw):
    base = dict(model_sha256=SHA, input=T((1, 800), 0.05, -3), output=T((1, 4), 0.1, 10))
    base.update(kw)
    return Info(**base)


def check(i):
    check_image(i, "qemu-m4", ExpectedImage(SHA, 0.05, -3, 0.1, 10, (1, 800)))


def test_matching_image_passes():
    check(info())
    check(info(model_sha256=SHA.upper()))


def test_other_model_is_a_stale_image_exit_2():
    with pytest.raises(InfraError) as e:
        check(info(model_sha256="cd" * 32))
    assert e.value.exit_code == 2
    assert "stale image" in str(e.value) and "qemu-m4" in str(e.value) and "cdcdcdcdcdcd" in str(e.value)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"input": T((1, 800), 0.06, -3)}, "input quantisation"),
        ({"input": T((1, 400), 0.05, -3)}, "input shape"),
        ({"output": T((1, 4), 0.1, 11)}, "output quantisation"),
    ],
)
def test_same_hash_but_other_tensors_is_refused(kw, words):
    with pytest.raises(InfraError) as e:
        check(info(**kw))
    assert words in str(e.value)


def test_run_folder_default_and_resume_picks_the_unfinished_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_RUNS", str(tmp_path))
    d = _resolve_run_dir(RunOptions(), "qemu-m4")
    assert d.parent == tmp_path and d.name.endswith("-qemu-m4")
    for name, finished in (("20260101-000000-qemu-m4", True), ("20260102-000000-qemu-m4", False),
                           ("20260103-000000-apollo4", False)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.jsonl").write_text("")
        if finished:
            (tmp_path / name / "report.json").write_text("{}")
    assert _resolve_run_dir(RunOptions(resume=True), "qemu-m4").name == "20260102-000000-qemu-m4"
    with pytest.raises(ConfigError):
        _resolve_run_dir(RunOptions(resume=True), "mps2-an505")
