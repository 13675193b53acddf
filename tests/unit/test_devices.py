"""Which devices a run streams to: --devices on an emulated board, --board lists of one kind."""

import pytest

from hil.config import load_boards
from hil.device.devices import board_names, device_boards
from hil.errors import ConfigError, InfraError

BOARDS = load_boards("boards.yaml").boards


def test_emulated_board_is_booted_n_times_default_the_cores(monkeypatch):
    assert device_boards([BOARDS["qemu-m4"]], 3) == [BOARDS["qemu-m4"]] * 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    assert len(device_boards([BOARDS["qemu-m4"]], None)) == 5


def test_physical_board_takes_no_devices_count():
    with pytest.raises(ConfigError, match="--board NAME-A,NAME-B"):
        device_boards([BOARDS["apollo4"]], 2)
    assert device_boards([BOARDS["apollo4"]], None) == [BOARDS["apollo4"]]


def test_a_list_must_be_boards_of_one_kind():
    a = BOARDS["apollo4"]
    b = a.model_copy(update={"name": "apollo4-b"})
    assert device_boards([a, b], None) == [a, b]
    with pytest.raises(ConfigError, match="x differs from apollo4 in port, clock_hz, engine"):
        device_boards([a, BOARDS["qemu-m4"].model_copy(update={"name": "x", "emulated": False, "engine": "aot"})],
                      None)
    with pytest.raises(ConfigError, match="drop --devices"):
        device_boards([a, b], 3)


def test_board_list_syntax():
    assert board_names(None) == [None] and board_names("a, b") == ["a", "b"]
    for bad in ("a,,b", "a,a"):
        with pytest.raises(ConfigError):
            board_names(bad)


def _boards_file(tmp_path, groups, extra=None):
    import yaml

    doc = yaml.safe_load(open("boards.yaml"))
    a = doc["boards"]["apollo4"]
    doc["boards"]["apollo4-b"] = {**a, "flasher": {**a["flasher"], "unique_id": "B"}}
    doc["boards"].update(extra or {})
    doc["groups"] = groups
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(doc))
    return f


def test_a_board_group_stands_for_its_boards(tmp_path):
    from hil.device.devices import load_run_boards

    f = _boards_file(tmp_path, {"apollo4-rig": ["apollo4", "apollo4-b"]})
    assert [b.name for b in load_run_boards("apollo4-rig", f)] == ["apollo4", "apollo4-b"]
    assert [b.name for b in load_run_boards("qemu-m4", f)] == ["qemu-m4"]
    with pytest.raises(ConfigError, match="listed twice"):
        load_run_boards("apollo4-rig,apollo4", f)
    with pytest.raises(ConfigError, match="groups: apollo4-rig"):
        load_run_boards("apollo4-rgi", f)


@pytest.mark.parametrize("groups, words", [
    ({"mixed": ["apollo4", "qemu-m4"]}, "groups.mixed: qemu-m4 differs from apollo4"),
    ({"g": ["apollo4", "nope"]}, "unknown: nope"),
    ({"qemu-m4": ["apollo4"]}, "a board has that name"),
    ({"g": []}, "must list distinct boards"),
])
def test_a_wrong_group_is_named_when_the_file_loads(tmp_path, groups, words):
    with pytest.raises(ConfigError, match=words):
        load_boards(_boards_file(tmp_path, groups))


def test_a_labgrid_place_is_one_device_and_its_section_is_checked(tmp_path):
    q = BOARDS["qemu-m4"]
    place = q.model_copy(update={"labgrid": __import__("hil.config", fromlist=["LabgridCfg"]).LabgridCfg(
        coordinator="lab:20408", place="qemu-lab")})
    assert device_boards([place], None) == [place]
    with pytest.raises(ConfigError, match="is a labgrid place"):
        device_boards([place], 2)
    bad = {"lab": {**yaml_board("qemu-m4"), "flasher": {"kind": "exporter"}}}
    with pytest.raises(ConfigError, match="needs a `labgrid` place"):
        load_boards(_boards_file(tmp_path, {}, bad))
    bad = {"lab": {**yaml_board("qemu-m4"), "labgrid": {"coordinator": "no-port", "place": "x"}}}
    with pytest.raises(ConfigError, match="labgrid.coordinator"):
        load_boards(_boards_file(tmp_path, {}, bad))


def yaml_board(name):
    import yaml

    return yaml.safe_load(open("boards.yaml"))["boards"][name]


def test_an_unreachable_coordinator_is_exit_2_naming_it():
    from hil.device.labgrid_place import Coordinator
    from hil.device.qemu import free_tcp_port

    address = f"127.0.0.1:{free_tcp_port()}"  # nothing listens there
    with pytest.raises(InfraError, match=f"labgrid coordinator {address} is unreachable") as e:
        with Coordinator(address, timeout_s=5):
            pass
    assert e.value.exit_code == 2 and "labgrid-coordinator" in e.value.hint
