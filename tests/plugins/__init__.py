"""TEST PLUG-INS: an engine and a flasher outside hil/, registered the way a third party would.

``registered()`` adds both for the duration of a test and removes them after,
so no other test sees them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def registered() -> Iterator[None]:
    from hil.engines import register_engine, unregister_engine
    from hil.flashers import register_flasher, unregister_flasher
    from tests.plugins.toy_engine import ToyEngine
    from tests.plugins.toy_flasher import ToyHostDriver

    register_engine(ToyEngine())
    register_flasher(ToyHostDriver())
    try:
        yield
    finally:
        unregister_engine(ToyEngine.name)
        unregister_flasher(ToyHostDriver.kind)
