"""The int8 export: types, ops, quantisation in header and manifest, the header compiles 16-byte aligned."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hil.artifacts import ArtifactPaths, sha256_file
from hil.errors import ConfigError
from hil.export.quantize import quantize_input
from hil.export.tflite_info import SUPPORTED_OPS, check_ops, read_io, read_io_quant, read_ops
from tests.c_header import parse_c_number, read_header_defines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tiny_export: Path):
    manifest = json.loads((tiny_export / "manifest.json").read_text())
    return tiny_export, manifest["outputs"]


def test_int8_io_static_batch_1_and_supported_ops(exported):
    folder, m = exported
    tfl = folder / "model.tflite"
    i, o = read_io(tfl)
    assert (i.dtype, o.dtype) == ("int8", "int8")
    assert i.shape == (1, 800) and o.shape == (1, 4)
    ops = read_ops(tfl)
    assert set(ops) <= SUPPORTED_OPS
    assert ops == m["ops"]
    assert m["params"] == 32_192 and m["class_names"] == ["SR", "SB", "AFIB", "GSVT"]
    assert m["calibration"]["split"] == "val"


def test_weights_int8_and_bias_int32(exported):
    from hil.tflite import read_tflite

    folder, _ = exported
    sg = read_tflite(folder / "model.tflite")
    conv_like = {3, 4}  # CONV_2D, DEPTHWISE_CONV_2D
    seen = 0
    for op in sg.operators:
        if op.code in conv_like:
            w, b = sg.tensors[op.inputs[1]], sg.tensors[op.inputs[2]]
            assert w.type == 9, w.name  # int8
            assert b.type == 2, b.name  # int32
            seen += 1
    assert seen >= 20
    assert not any(t.type == 0 for t in sg.tensors)  # no float32 tensor anywhere


def test_header_and_manifest_quantisation_match_the_tflite(exported):
    folder, m = exported
    tfl = folder / "model.tflite"
    s_in, zp_in, s_out, zp_out, shape_in, shape_out = read_io_quant(tfl)
    assert m["input"] == {"shape": list(shape_in), "dtype": "int8", "scale": s_in, "zero_point": zp_in}
    assert m["output"] == {"shape": list(shape_out), "dtype": "int8", "scale": s_out, "zero_point": zp_out}
    d = read_header_defines(folder / m["header"])
    up = m["var_name"].upper()
    assert parse_c_number(d[f"{up}_INPUT_SCALE"]) == pytest.approx(s_in, rel=1e-7)
    assert parse_c_number(d[f"{up}_OUTPUT_SCALE"]) == pytest.approx(s_out, rel=1e-7)
    assert int(parse_c_number(d[f"{up}_INPUT_ZERO_POINT"])) == zp_in
    assert int(parse_c_number(d[f"{up}_OUTPUT_ZERO_POINT"])) == zp_out
    assert int(parse_c_number(d[f"{up}_LEN"])) == tfl.stat().st_size == m["bytes"]
    assert d[f"{up}_SHA256"].strip('"') == hashlib.sha256(tfl.read_bytes()).hexdigest() == m["sha256"]


def _compile_and_check(cc: list[str], header: Path, var: str, tmp: Path, tflite: bytes) -> None:
    from elftools.elf.elffile import ELFFile

    src = tmp / "model_data.c"
    src.write_text(f'#include "{header.name}"\n')
    obj = tmp / f"model_data_{Path(cc[0]).name}.o"
    subprocess.run([*cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(header.parent), "-c", str(src), "-o", str(obj)],
                   check=True, capture_output=True, text=True)
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        sym = symtab.get_symbol_by_name(var)[0]
        assert sym["st_info"]["bind"] == "STB_GLOBAL"
        assert sym["st_size"] == len(tflite)
        section = elf.get_section(sym["st_shndx"])
        assert section.name.startswith(".rodata")  # const: stays in flash
        assert section["sh_addralign"] >= 16 and sym["st_value"] % 16 == 0
        data = section.data()[sym["st_value"] : sym["st_value"] + sym["st_size"]]
        assert data == tflite


@pytest.mark.parametrize(
    "cc",
    [["cc", "-O2"], ["arm-none-eabi-gcc", "-O2", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]],
    ids=["host", "arm"],
)
def test_header_compiles_with_a_16_byte_aligned_array(exported, tmp_path, cc):
    if shutil.which(cc[0]) is None:
        pytest.skip(f"{cc[0]} not installed")
    folder, m = exported
    _compile_and_check(cc, folder / m["header"], m["var_name"], tmp_path, (folder / "model.tflite").read_bytes())


def test_header_declaration_only_mode_compiles(exported, tmp_path):
    folder, m = exported
    src = tmp_path / "user.c"
    up = m["var_name"].upper()
    src.write_text(
        f'#define {up}_DECLARATION_ONLY\n#include "{m["header"]}"\n'
        f"unsigned first(void) {{ return {m['var_name']}[4] + {m['var_name']}_len; }}\n"
    )
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(folder), "-c", str(src), "-o",
                    str(tmp_path / "user.o")], check=True)


def test_unsupported_ops_are_listed():
    with pytest.raises(ConfigError) as exc:
        check_ops(["CONV_2D", "GELU", "MUL", "TRANSPOSE", "GELU"], "m.tflite")
    assert "GELU, TRANSPOSE" in str(exc.value)


def test_failed_export_leaves_the_earlier_export_intact(tiny_model, tmp_path, monkeypatch):
    import hil.export.quantize as q
    import hil.export.tflite_info as info
    from hil.export.quantize import export_model

    paths = ArtifactPaths(tmp_path, tiny_model.cfg.name)
    shutil.copytree(tiny_model.train_dir, paths.train)
    shutil.copytree(tiny_model.export_dir, paths.export)
    before = sha256_file(paths.export / "model.tflite")
    monkeypatch.setattr(info, "SUPPORTED_OPS", SUPPORTED_OPS - {"MUL"})
    monkeypatch.setattr(q, "is_fresh", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="do not support: MUL"):
        export_model(tiny_model.cfg, tiny_model.dataset, paths)
    assert sha256_file(paths.export / "model.tflite") == before
    assert not (paths.root / ".export.partial").exists()


def test_quantize_input_rounds_half_away_from_zero():
    x = np.array([[0.25, -0.25, 0.75, -0.75, 100.0, -100.0]], np.float32)
    assert quantize_input(x, 0.5, 3).tolist() == [[4, 2, 5, 1, 127, -128]]


def test_export_metrics_compare_the_three_references(exported):
    folder, _ = exported
    m = json.loads((folder / "metrics.json").read_text())
    assert m["split"] == "test"
    for key in ("keras", "tflite", "tflm_host"):
        assert m[key]["windows"] == m["windows"] > 0
    check = m["quantization_check"]
    assert check["accuracy_drop"] == pytest.approx(m["keras"]["accuracy"] - m["tflite"]["accuracy"])
    assert check["passed"] == (check["accuracy_drop"] <= check["limit"])
    for name in ("confusion_keras.png", "confusion_tflite.png", "confusion_tflm_host.png"):
        assert (folder / name).exists()
