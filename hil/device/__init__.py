"""Talking to a device: framing, the serial link, the protocol client, QEMU and flashers.

Import the submodules directly (``hil.device.protocol``, ``hil.device.link``,
``hil.device.qemu``, ``hil.device.framing``); this package imports nothing
heavy on its own.
"""
