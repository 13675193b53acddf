"""Loading boards.yaml and model configs: the shipped files, and each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hil.config import load_board, load_boards, load_model_config
from hil.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
BOARDS = REPO / "boards.yaml"
MODEL = REPO / "models" / "rhythm-4-effv2"


def _edited_boards(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(BOARDS.read_text())
    edit(data)
    out = tmp_path / "boards.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def _error(path: Path, loader=load_boards) -> str:
    with pytest.raises(ConfigError) as exc:
        loader(path)
    return str(exc.value)


def test_shipped_boards_load():
    bf = load_boards(BOARDS)
    assert bf.default == "qemu-m4"
    qemu, apollo = bf.boards["qemu-m4"], bf.boards["apollo4"]
    assert qemu.flasher.kind == "qemu" and qemu.flasher.machine == "mps2-an386" and qemu.flasher.icount_shift == 0
    assert qemu.flasher.transport == "semihosting"
    assert qemu.emulated and qemu.timer.unit == "qemu_instructions" and qemu.timer.counts_per_tick == 40
    assert apollo.flasher.kind == "pyocd" and apollo.flasher.app_base == 0x18000
    assert apollo.fallback_flasher.kind == "jlink" and apollo.fallback_flasher.device == "AMAP42KK-KBR"
    assert apollo.link.usb.vid == 0x1366 and apollo.timer.kind == "dwt" and apollo.timer.unit == "cycles"


def test_default_board_and_unknown_board():
    board = load_board(None, BOARDS)
    name = board.name
    assert name == "qemu-m4" and board.port == "qemu_mps2"
    with pytest.raises(ConfigError, match=r"board 'apolo4' is not defined.*Did you mean 'apollo4'"):
        load_board("apolo4", BOARDS)


def test_shipped_model_config_matches_the_task():
    cfg = load_model_config(MODEL)
    assert cfg.classes.names == ["SR", "SB", "AFIB", "GSVT"]
    c2c = cfg.classes.code_to_class
    assert c2c[426783006] == 0 and c2c[426627000] == 1 and c2c[164890007] == 2 and c2c[74390002] == 3
    assert len([c for c, k in c2c.items() if k == 3]) == 8
    assert (cfg.preprocess.sample_rate, cfg.preprocess.frame_size, cfg.preprocess.znorm_eps) == (100, 800, 0.01)
    assert [b.filters for b in cfg.architecture.blocks] == [24, 32, 48, 64, 80, 96]
    assert cfg.architecture.expected_params == 32192
    t = cfg.training
    assert (t.batch_size, t.epochs, t.steps_per_epoch, t.learning_rate, t.seed) == (256, 100, 50, 1e-3, 42)
    assert (cfg.export.var_name, cfg.export.header) == ("ecg_rhythm_flatbuffer", "ecg_rhythm_flatbuffer.h")
    assert cfg.evaluation.threshold == 0.5


def test_training_profile_overrides_only_its_keys():
    cfg = load_model_config(MODEL)
    quick, _ = cfg.training_for("quick")
    assert quick.epochs < cfg.training.epochs
    assert quick.learning_rate == cfg.training.learning_rate
    with pytest.raises(ConfigError, match="no training profile 'fast'"):
        cfg.training_for("fast")


def test_full_names_the_recipe_itself_wherever_a_profile_is_taken(tmp_path):
    cfg = load_model_config(MODEL)
    assert cfg.training_for("full") == cfg.training_for(None) == (cfg.training, cfg.windows)
    assert "full" in cfg.profiles  # hil run's and hil train's checks accept it as any other profile
    data = yaml.safe_load((MODEL / "config.yaml").read_text())
    data["profiles"]["full"] = {"epochs": 3}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    assert "reserved for the full recipe" in _error(tmp_path, load_model_config)


def test_misspelt_key_is_one_line_naming_file_key_and_match(tmp_path):
    path = _edited_boards(tmp_path, lambda d: d.__setitem__("defualt", d.pop("default")))
    msg = _error(path)
    assert "\n" not in msg
    assert str(path) in msg and "'defualt'" in msg and "Did you mean 'default'" in msg


def test_unknown_key_inside_a_flasher_names_the_full_path(tmp_path):
    def edit(d):
        f = d["boards"]["qemu-m4"]["flasher"]
        f["machin"] = f.pop("machine")

    msg = _error(_edited_boards(tmp_path, edit))
    assert "boards.qemu-m4.flasher.machin" in msg and "Did you mean 'machine'" in msg


def test_wrong_type(tmp_path):
    msg = _error(_edited_boards(tmp_path, lambda d: d["boards"]["apollo4"].__setitem__("clock_hz", "fast")))
    assert "boards.apollo4.clock_hz" in msg and "integer" in msg and "'fast'" in msg


def test_bad_enum_value_lists_the_allowed_ones(tmp_path):
    msg = _error(_edited_boards(tmp_path, lambda d: d["boards"]["qemu-m4"].__setitem__("engine", "tvm")))
    assert "boards.qemu-m4.engine" in msg and "'aot'" in msg and "'tflm'" in msg and "'tvm'" in msg


def test_missing_required_field(tmp_path):
    msg = _error(_edited_boards(tmp_path, lambda d: d["boards"]["apollo4"]["flasher"].pop("app_base")))
    assert "missing required key 'boards.apollo4.flasher.app_base'" in msg


def test_unknown_flasher_kind(tmp_path):
    msg = _error(_edited_boards(tmp_path, lambda d: d["boards"]["apollo4"]["flasher"].__setitem__("kind", "openocd")))
    assert "boards.apollo4.flasher" in msg and "openocd" in msg


def test_default_must_name_a_board(tmp_path):
    msg = _error(_edited_boards(tmp_path, lambda d: d.__setitem__("default", "nrf52")))
    assert "nrf52" in msg and "apollo4" in msg


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    bad = tmp_path / "boards.yaml"
    bad.write_text("default: qemu-m4\nboards:\n  qemu-m4: {cpu: [\n")
    msg = _error(bad)
    assert msg.startswith(f"{bad}:") and "YAML syntax error" in msg


def test_missing_file():
    assert "file not found" in _error(Path("/nonexistent/boards.yaml"))


def test_model_config_mistakes(tmp_path):
    data = yaml.safe_load((MODEL / "config.yaml").read_text())
    data["classes"]["codes"]["SB"].append(426783006)  # also SR's code
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    msg = _error(tmp_path, load_model_config)
    assert "426783006" in msg and "SR" in msg and "SB" in msg

    data = yaml.safe_load((MODEL / "config.yaml").read_text())
    data["architecture"]["blocks"][2]["kernal_size"] = data["architecture"]["blocks"][2].pop("kernel_size")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    msg = _error(tmp_path, load_model_config)
    assert "architecture.blocks[2].kernal_size" in msg and "Did you mean 'kernel_size'" in msg


def test_model_folder_without_config(tmp_path):
    assert "no model config here" in _error(tmp_path, load_model_config)


def test_unknown_link_transport_names_the_key_and_the_choices(tmp_path):
    msg = _error(_edited_boards(tmp_path, lambda d: d["boards"]["qemu-m4"]["flasher"].__setitem__("transport", "usb")))
    assert "boards.qemu-m4.flasher" in msg and "transport" in msg and "'uart'" in msg and "'semihosting'" in msg
