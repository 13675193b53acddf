"""The network builder: exact parameter counts, readable layer structure, other configs, bad configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hil.config import ArchitectureCfg, load_model_config
from hil.errors import ConfigError
from hil.model.network import build_model, param_counts

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "models" / "rhythm-4-effv2"


@pytest.fixture(scope="module")
def seed_model():
    cfg = load_model_config(SEED)
    return build_model(cfg.architecture, cfg.preprocess.frame_size, len(cfg.classes.names))


def test_seed_parameter_counts(seed_model):
    assert param_counts(seed_model) == {"total": 32_192, "trainable": 30_912, "non_trainable": 1_280}


def test_seed_layer_structure(seed_model):
    names = [layer.name for layer in seed_model.layers]
    assert names[:5] == ["input", "reshape", "stem.conv", "stem.bn", "stem.act"]
    for s in range(1, 7):
        p = f"stage{s}.mbconv1"
        for part in (".dp", ".dp.bn", ".dp.act", ".pool", ".se.squeeze", ".se.excite", ".se.mul", ".proj", ".proj.bn"):
            assert p + part in names
        assert p + ".add" not in names  # every block downsamples: no residual
    assert names[-4:] == ["head.pool", "head.dropout", "head.logits", "head.flatten"]
    stem = seed_model.get_layer("stem.conv")
    assert stem.kernel_size == (1, 9) and stem.strides == (1, 2) and stem.use_bias is False
    filters = [seed_model.get_layer(f"stage{s}.mbconv1.proj").filters for s in range(1, 7)]
    assert filters == [24, 32, 48, 64, 80, 96]
    # SE reduces to C/4 of the block's input channels
    assert [seed_model.get_layer(f"stage{s}.mbconv1.se.squeeze").filters for s in range(1, 7)] == [6, 6, 8, 12, 16, 20]
    assert tuple(seed_model.output.shape) == (None, 4)
    # length: 800 -> stem stride 2 -> six max pools of 2
    assert seed_model.get_layer("stage6.mbconv1.proj.bn").output.shape[2] == 400 // 2**6 + 1


def test_other_block_list_and_classes():
    arch = ArchitectureCfg.model_validate(
        {
            "stem": {"filters": 8, "kernel_size": [1, 5], "strides": [1, 2]},
            "blocks": [
                {"filters": 8, "depth": 2, "kernel_size": [1, 3], "ex_ratio": 2, "se_ratio": 2},
                {"filters": 16, "kernel_size": [1, 3], "se_ratio": 0, "pool": None},
            ],
        }
    )
    model = build_model(arch, 256, 3)
    names = [layer.name for layer in model.layers]
    assert tuple(model.output.shape) == (None, 3)
    assert "stage1.mbconv2.add" in names  # same shape, no downsampling: residual
    assert "stage1.mbconv1.expand" in names and "stage2.mbconv1.se.mul" not in names
    assert "stage2.mbconv1.pool" not in names


def test_fixed_batch_for_export():
    cfg = load_model_config(SEED)
    model = build_model(cfg.architecture, 800, 4, batch_size=1)
    assert tuple(model.inputs[0].shape) == (1, 800)


def test_expected_params_mismatch_is_a_config_error():
    cfg = load_model_config(SEED)
    arch = cfg.architecture.model_copy(update={"expected_params": 32_000})
    with pytest.raises(ConfigError, match="32,192 parameters but expected_params is 32,000"):
        build_model(arch, 800, 4)


def test_se_ratio_too_large_names_the_block():
    arch = ArchitectureCfg.model_validate(
        {"stem": {"filters": 4, "kernel_size": [1, 3], "strides": [1, 1]},
         "blocks": [{"filters": 4, "kernel_size": [1, 3], "se_ratio": 8}]}
    )
    with pytest.raises(ConfigError, match="stage1.mbconv1 has 4 channels"):
        build_model(arch, 64, 2)


def test_unknown_layer_option_names_file_and_key(tmp_path):
    doc = yaml.safe_load((SEED / "config.yaml").read_text())
    doc["architecture"]["blocks"][2]["squeeze"] = 4
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as exc:
        load_model_config(tmp_path)
    msg = str(exc.value)
    assert "config.yaml" in msg and "architecture.blocks[2].squeeze" in msg


def test_unknown_activation_is_rejected(tmp_path):
    doc = yaml.safe_load((SEED / "config.yaml").read_text())
    doc["architecture"]["stem"]["activation"] = "gelu"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="architecture.stem.activation"):
        load_model_config(tmp_path)
