"""Which board-entry changes rebuild the image (hil.firmware.build.board_key, the manifest's board input)."""

from pathlib import Path

from hil.config import load_board
from hil.firmware.build import board_key

BOARDS = Path(__file__).resolve().parents[2] / "boards.yaml"


def _with_link(board, **change):
    return board.model_copy(update={"link": board.link.model_copy(update=change)})


def test_the_hosts_side_of_the_link_does_not_rebuild_the_image():
    board = load_board("qemu-m4", BOARDS)
    key = board_key(board)
    for change in ({"timeout_s": 2.0}, {"retries": 9}, {"inflight": 4}, {"url": "socket://127.0.0.1:1"}):
        assert board_key(_with_link(board, **change)) == key, change


def test_what_the_image_is_built_for_rebuilds_it():
    board = load_board("qemu-m4", BOARDS)
    key = board_key(board)
    assert board_key(_with_link(board, baud=460800)) != key  # HIL_UART_BAUD
    assert board_key(board.model_copy(update={"memory": board.memory.model_copy(update={"ram_bytes": 1024})})) != key
    assert board_key(board, host=True) != key
    assert board_key(load_board("apollo4", BOARDS)) != key
