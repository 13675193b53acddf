"""The host side of the link protocol (docs/protocol.md): ``DeviceClient``.

Requests carry fresh sequence numbers; replies are matched by seq and, for
RESULT, by the CRC of the window the device computed on, so a result is never
attributed to the wrong window. ``infer_stream`` keeps ``inflight`` windows
on the link at once; since the device is strictly FIFO, a reply to seq *s*
proves every earlier unanswered request lost, and those are re-sent at once.
Only infrastructure errors (timeouts, corrupted or lost frames, a device
reset) are retried, at most ``retries`` times per request.
"""

from __future__ import annotations

import logging
import random
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import serial

from hil.device.framing import (
    PROTOCOL_VERSION,
    SEQ_UNKNOWN,
    Deframer,
    ErrorCode,
    Frame,
    Junk,
    MsgType,
    crc32,
    encode,
)
from hil.errors import ConfigError, InfraError

log = logging.getLogger("hil.device")

DTYPES = {1: "int8", 2: "uint8", 3: "int16", 4: "float32"}
RESET_REASONS = {0: "unknown", 1: "power_on", 2: "external", 3: "software", 4: "watchdog", 5: "fault"}
# INFO byte 114: what carries the link (hil_link_t in firmware/include/hil_port.h).
LINKS = {0: "uart", 1: "semihosting"}

# TFLite BuiltinOperator codes of the ops hil's engines run (schema.fbs).
OP_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU",
    21: "RELU6", 22: "RESHAPE", 25: "SOFTMAX", 40: "MEAN", 41: "SUB", 49: "SQUEEZE", 74: "PAD",
    114: "QUANTIZE", 117: "HARD_SWISH",
}


class LinkTimeout(InfraError):
    """No valid reply after every retry."""


class DeviceError(InfraError):
    """The device answered with an ERROR that retrying cannot fix.

    Still exit 2 (the image, not the model or the options, is wrong), but not
    retryable: a reconnect or an emulator restart would get the same answer.
    """

    retryable = False

    def __init__(self, message: str, code: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int
    bytes: int


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    firmware_version: str
    board: str
    engine: str
    clock_hz: int
    model_sha256: str
    input: TensorInfo
    output: TensorInfo
    arena_bytes: int
    reset_reason: str
    max_payload: int
    rx_buffer_bytes: int
    ops: int
    kernels: str | None = None  # the engine string's "/<kernels>" part (tflm: cmsis-nn or reference)
    link: str = "uart"  # what carried the frames: "uart" or "semihosting" (an emulator's console)


@dataclass(frozen=True)
class InferResult:
    index: int
    outputs: np.ndarray  # int8
    cycles: int  # raw timer ticks of the invoke (× board.timer.counts_per_tick)
    seq: int  # of the request this RESULT answered
    input_crc: int  # CRC-32 of the input the device computed on, as it reported it


@dataclass(frozen=True)
class OpProfile:
    op_index: int
    op_name: str
    ticks: int
    op_code: int = -1


@dataclass(frozen=True)
class BenchResult:
    n: int
    total_ticks: int
    min_ticks: int
    max_ticks: int


@dataclass(frozen=True)
class DumpedTensor:
    """One op's output tensor as the device computed it (DUMP)."""

    op_index: int
    ops_total: int
    info: TensorInfo
    data: bytes

    def array(self) -> np.ndarray:
        dtype = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "float32": np.float32}[self.info.dtype]
        return np.frombuffer(self.data, dtype=dtype).reshape(self.info.shape)


DUMP_HEADER = 40  # u16 op, u16 ops, tensor (32), u32 offset


def parse_dump_chunk(payload: bytes) -> tuple[int, int, TensorInfo, int, bytes]:
    """(op_index, ops_total, tensor, offset, data) of one DUMP_RESULT payload."""
    if len(payload) < DUMP_HEADER:
        raise ValueError(f"DUMP_RESULT of {len(payload)} bytes, expected at least {DUMP_HEADER}")
    op, ops = struct.unpack_from("<HH", payload, 0)
    (offset,) = struct.unpack_from("<I", payload, 36)
    return op, ops, _tensor(payload[4:36]), offset, bytes(payload[DUMP_HEADER:])


def _tensor(buf: bytes) -> TensorInfo:
    dtype, ndims = buf[0], buf[1]
    dims = struct.unpack_from("<4i", buf, 4)
    nbytes, scale, zp = struct.unpack_from("<Ifi", buf, 20)
    return TensorInfo(tuple(dims[: min(ndims, 4)]), DTYPES.get(dtype, f"dtype{dtype}"), scale, zp, nbytes)


def parse_info(payload: bytes) -> DeviceInfo:
    if len(payload) < 116:
        raise ValueError(f"INFO of {len(payload)} bytes, expected at least 116")
    version, reset, max_payload, clock, arena, rx = struct.unpack_from("<BBHIII", payload, 0)
    sha = payload[16:48].hex()
    strings, off = [], 116
    for _ in range(3):
        n = payload[off]
        strings.append(payload[off + 1 : off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    ops, link = struct.unpack_from("<HB", payload, 112)
    engine, _, kernels = strings[2].partition("/")
    return DeviceInfo(
        protocol_version=version,
        firmware_version=strings[0],
        board=strings[1],
        engine=engine,
        clock_hz=clock,
        model_sha256=sha,
        input=_tensor(payload[48:80]),
        output=_tensor(payload[80:112]),
        arena_bytes=arena,
        reset_reason=RESET_REASONS.get(reset, str(reset)),
        max_payload=max_payload,
        rx_buffer_bytes=rx,
        ops=ops,
        kernels=kernels or None,
        link=LINKS.get(link, f"link{link}"),
    )


def error_of(frame: Frame) -> tuple[int, str]:
    code = struct.unpack_from("<H", frame.payload)[0] if len(frame.payload) >= 2 else 0
    return code, frame.payload[2:].decode("ascii", "replace")


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"


@dataclass
class _Window:
    index: int
    data: bytes
    crc: int
    attempts: int = 0
    done: bool = False
    last_problem: str = "no reply"


@dataclass
class _Attempt:
    seq: int
    window: _Window
    deadline: float


@dataclass
class LinkStats:
    sent: int = 0
    resent: int = 0
    timeouts: int = 0
    junk: int = 0
    device_errors: int = 0
    resets: int = 0
    stale: int = 0
    wrong_input: int = 0  # RESULTs computed on other bytes than their window's (refused, re-sent)
    problems: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        log.debug(text)
        if len(self.problems) < 100:
            self.problems.append(text)


class DeviceClient:
    """Talks the link protocol over an open pyserial port."""

    def __init__(
        self, port: serial.SerialBase, *, timeout_s: float, retries: int, inflight: int, board: str = "?"
    ) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.retries = retries
        self.inflight = max(1, inflight)
        self.board = board
        self.info: DeviceInfo | None = None
        self.stats = LinkStats()
        self.banners: list[str] = []
        self._deframer = Deframer()
        self._seq = random.randrange(0, 0xFFFF)  # a fresh client never matches a stale reply by chance
        self._flushed = False
        # Short reads so the client can watch several deadlines at once.
        self.port.timeout = min(0.05, timeout_s)

    # ------------------------------------------------------------------ plumbing

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % 0xFFFF  # 0xFFFF is "unknown" in replies
        return self._seq

    def _send(self, type_: int, payload: bytes = b"") -> int:
        if not self._flushed:
            # Drop whatever is half-received on both sides, then start clean.
            self.port.reset_input_buffer()
            self.port.write(b"\x00")
            self._flushed = True
        seq = self._next_seq()
        try:
            self.port.write(encode(Frame(type_, seq, payload)))
        except (serial.SerialException, OSError) as exc:
            raise InfraError(f"board {self.board}: serial link write failed: {exc}") from None
        self.stats.sent += 1
        return seq

    def _receive(self, until: float) -> list[Frame | Junk]:
        """Frames and junk that arrive before ``until`` (returns as soon as any do)."""
        while True:
            try:
                data = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise InfraError(f"board {self.board}: serial link read failed: {exc}") from None
            if data:
                events = self._deframer.feed(data)
                if events:
                    return events
            if time.monotonic() >= until:
                return []

    def _junk(self, j: Junk) -> bool:
        """Logs junk; True when it is a boot banner (the device reset)."""
        banner = j.banner
        if banner:
            self.banners.append(banner)
            self.stats.resets += 1
            self.stats.note(f"device reset: {banner}")
            return True
        self.stats.junk += 1
        self.stats.note(f"dropped {len(j.data)} bytes: {j.reason}")
        return False

    def _request(self, type_: int, payload: bytes, reply: int, timeout_s: float | None = None) -> Frame:
        """One request/reply with retries of infrastructure errors."""
        timeout_s = timeout_s or self.timeout_s
        problem = "no reply"
        name = MsgType(type_).name
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.resent += 1
            seq = self._send(type_, payload)
            deadline = time.monotonic() + timeout_s
            resend = False
            while not resend and time.monotonic() < deadline:
                for ev in self._receive(deadline):
                    if isinstance(ev, Junk):
                        if ev.reason.startswith("protocol version"):
                            raise ConfigError(
                                f"board {self.board}: the firmware answers in another {ev.reason}",
                                hint="rebuild and flash the firmware with this version of hil (hil build)",
                            )
                        if self._junk(ev):
                            problem, resend = "the device reset", True
                        continue
                    if ev.seq != seq:
                        if ev.type == MsgType.ERROR and ev.seq == SEQ_UNKNOWN:
                            code, text = error_of(ev)
                            self.stats.note(f"device dropped a frame: {error_name(code)} {text}")
                            problem, resend = f"device reported {error_name(code)}", True
                        else:
                            self.stats.stale += 1
                        continue
                    if ev.type == MsgType.ERROR:
                        code, text = error_of(ev)
                        self.stats.device_errors += 1
                        raise DeviceError(
                            f"board {self.board}: {name} refused: {error_name(code)} ({text})", code
                        )
                    if ev.type != reply:
                        raise InfraError(f"board {self.board}: {name} answered with message type {ev.type:#x}")
                    return ev
            if not resend:
                self.stats.timeouts += 1
                problem = f"no reply within {timeout_s:g} s"
        raise LinkTimeout(
            f"board {self.board}: {name} failed after {self.retries + 1} attempts ({problem})",
            hint="is the firmware running and the link right? see the raw serial log",
        )

    # ------------------------------------------------------------------ messages

    def hello(self) -> DeviceInfo:
        frame = self._request(MsgType.HELLO, b"", MsgType.INFO)
        try:
            info = parse_info(frame.payload)
        except (ValueError, IndexError, struct.error) as exc:
            raise InfraError(f"board {self.board}: malformed INFO: {exc}") from None
        if info.protocol_version != PROTOCOL_VERSION:
            raise ConfigError(
                f"board {self.board}: firmware speaks protocol {info.protocol_version}, hil speaks {PROTOCOL_VERSION}",
                hint="rebuild and flash the firmware with this version of hil (hil build)",
            )
        self.info = info
        return info

    def echo(self, payload: bytes) -> bytes:
        frame = self._request(MsgType.ECHO, bytes(payload), MsgType.ECHO_REPLY)
        if frame.payload != bytes(payload):
            raise InfraError(f"board {self.board}: ECHO came back different ({len(frame.payload)} bytes)")
        return frame.payload

    def sink(self, payload: bytes) -> int:
        """Sends bytes the device only acknowledges (CRC-32 of what it got); link-only traffic shaped like INFER."""
        frame = self._request(MsgType.SINK, bytes(payload), MsgType.SINK_ACK)
        (got,) = struct.unpack_from("<I", frame.payload)
        if got != crc32(bytes(payload)):
            raise InfraError(f"board {self.board}: SINK payload arrived corrupted")
        return got

    def pipelined(self, type_: int, payloads: Iterable[bytes], reply: int, inflight: int | None = None) -> int:
        """Sends requests with ``inflight`` outstanding and waits for every reply, no retries
        (for benchmarks: any lost or unexpected frame raises). Returns the number of replies."""
        inflight = inflight or self.inflight
        outstanding: "OrderedDict[int, float]" = OrderedDict()
        source, done, exhausted = iter(payloads), 0, False
        while True:
            while not exhausted and len(outstanding) < inflight:
                p = next(source, None)
                if p is None:
                    exhausted = True
                    break
                outstanding[self._send(type_, p)] = time.monotonic() + self.timeout_s
            if not outstanding:
                return done
            deadline = next(iter(outstanding.values()))
            events = self._receive(deadline)
            if not events:
                raise LinkTimeout(f"board {self.board}: no reply to {MsgType(type_).name} within {self.timeout_s:g} s")
            for ev in events:
                if isinstance(ev, Junk) or ev.seq not in outstanding or ev.type != reply:
                    raise InfraError(f"board {self.board}: unexpected {ev!r} during a pipelined {MsgType(type_).name}")
                del outstanding[ev.seq]
                done += 1

    def bench_result(self, n: int) -> BenchResult:
        if not 1 <= n <= 100_000:
            raise ConfigError(f"BENCH count {n} is outside 1..100000")
        frame = self._request(
            MsgType.BENCH, struct.pack("<I", n), MsgType.BENCH_RESULT, timeout_s=self.timeout_s * (1 + n / 10)
        )
        count, lo, hi, mn, mx = struct.unpack_from("<IIIII", frame.payload)
        return BenchResult(count, lo | (hi << 32), mn, mx)

    def bench(self, n: int) -> int:
        """Total ticks of ``n`` invokes of the last window, with no I/O between them."""
        return self.bench_result(n).total_ticks

    def profile(self) -> list[OpProfile]:
        frame = self._request(MsgType.PROFILE, b"", MsgType.PROFILE_RESULT)
        _total, count = struct.unpack_from("<HH", frame.payload)
        out = []
        for i in range(count):
            idx, code, ticks = struct.unpack_from("<HHI", frame.payload, 4 + 8 * i)
            out.append(OpProfile(idx, OP_NAMES.get(code, f"OP_{code}"), ticks, code))
        return out

    def dump(self, op_index: int, window: np.ndarray) -> DumpedTensor:
        """Op ``op_index``'s output on ``window``, chunk by chunk (each chunk request carries the
        window, so a chunk re-sent after a device reset is recomputed, never mixed up)."""
        info = self.info or self.hello()
        head = self._window_bytes(-1, window, info.input)
        chunks: list[bytes] = []
        offset, total, tensor = 0, None, None
        while total is None or offset < total:
            frame = self._request(MsgType.DUMP, struct.pack("<HHI", op_index, 0, offset) + head, MsgType.DUMP_RESULT)
            try:
                op, _ops, t, got_offset, data = parse_dump_chunk(frame.payload)
            except (ValueError, struct.error) as exc:
                raise InfraError(f"board {self.board}: malformed DUMP_RESULT for op {op_index}: {exc}") from None
            if op != op_index or got_offset != offset or (tensor is not None and t != tensor):
                raise InfraError(f"board {self.board}: DUMP of op {op_index} at byte {offset} answered for op {op} "
                                 f"at byte {got_offset}")
            if not data and offset < t.bytes:
                raise InfraError(f"board {self.board}: DUMP of op {op_index} returned no data at byte {offset}")
            tensor, total = t, t.bytes
            chunks.append(data)
            offset += len(data)
        return DumpedTensor(op_index, _ops, tensor, b"".join(chunks))

    # ------------------------------------------------------------------ streaming

    def _window_bytes(self, index: int, x: np.ndarray, want: TensorInfo) -> bytes:
        arr = np.asarray(x)
        if arr.dtype != np.int8:
            raise ConfigError(f"window {index}: dtype {arr.dtype}, the model input is int8 (quantise it first)")
        data = arr.tobytes()
        if len(data) != want.bytes:
            raise ConfigError(
                f"window {index}: {arr.size} values, the model on board {self.board} takes {want.bytes} "
                f"(input shape {list(want.shape)})"
            )
        return data

    def infer_stream(self, windows: Iterable[tuple[int, np.ndarray]]) -> Iterator[InferResult]:
        """Yields one InferResult per window, as results arrive (pipelined)."""
        info = self.info or self.hello()
        frame_bytes = len(encode(Frame(MsgType.INFER, 0, bytes(info.input.bytes))))
        # Never more in flight than the device's RX ring holds (protocol.md, Limits).
        inflight = max(1, min(self.inflight, (info.rx_buffer_bytes - 1) // frame_bytes))
        source = iter(windows)
        flight = _Flight(self)
        exhausted = False
        while True:
            while not exhausted and len(flight.live) < inflight:
                try:
                    index, x = next(source)
                except StopIteration:
                    exhausted = True
                    break
                data = self._window_bytes(index, x, info.input)
                flight.start(_Window(index, data, crc32(data)))
            if not flight.live:
                return
            for ev in self._receive(flight.oldest_deadline()):
                result = flight.on_event(ev, info.output.bytes)
                if result is not None:
                    yield result
            flight.expire(time.monotonic())


class _Flight:
    """The windows on the link and their attempts, for ``DeviceClient.infer_stream``.

    A window is ``live`` until its result is accepted; each send is an
    attempt keyed by its sequence number, in send order (the device is FIFO).
    """

    def __init__(self, client: DeviceClient) -> None:
        self.client = client
        self.stats = client.stats
        self.live: list[_Window] = []
        self.pending: "OrderedDict[int, _Attempt]" = OrderedDict()  # seq -> attempt, in send order

    def start(self, w: _Window) -> None:
        self.live.append(w)
        self.send(w)

    def send(self, w: _Window, problem: str | None = None) -> None:
        c = self.client
        if problem is not None:
            w.last_problem = problem
            self.stats.resent += 1
        if w.attempts > c.retries:
            raise LinkTimeout(
                f"board {c.board}: window {w.index}: no valid result after {w.attempts} attempts "
                f"(last problem: {w.last_problem})",
                hint="check the link and the raw serial log; a real board may need a lower link.inflight",
            )
        w.attempts += 1
        seq = c._send(MsgType.INFER, w.data)
        self.pending[seq] = _Attempt(seq, w, time.monotonic() + c.timeout_s)

    def drop_attempts(self, w: _Window) -> None:
        for s in [s for s, a in self.pending.items() if a.window is w]:
            del self.pending[s]

    def oldest_deadline(self) -> float:
        return min(a.deadline for a in self.pending.values())

    def on_event(self, ev: Frame | Junk, output_bytes: int) -> InferResult | None:
        """Handles one received frame or junk; returns the result it completes, if any."""
        if isinstance(ev, Junk):
            if self.client._junk(ev):  # device reset: everything in flight is gone
                for w in list(self.live):
                    self.drop_attempts(w)
                    self.send(w, "the device reset")
            return None
        att = self.pending.get(ev.seq)
        if att is None:
            if ev.type == MsgType.ERROR:
                code, text = error_of(ev)
                self.stats.note(f"device dropped a frame: {error_name(code)} {text}")
            else:
                self.stats.stale += 1  # a reply to an attempt already re-sent
            return None
        # FIFO: every attempt sent before this one and still unanswered was lost.
        for s in list(self.pending):
            if s == ev.seq:
                break
            self.send(self.pending.pop(s).window, "request or reply lost")
        del self.pending[ev.seq]
        return self._on_reply(att.window, ev, output_bytes)

    def _on_reply(self, w: _Window, ev: Frame, output_bytes: int) -> InferResult | None:
        if ev.type == MsgType.ERROR:
            code, text = error_of(ev)
            self.stats.device_errors += 1
            raise DeviceError(f"board {self.client.board}: window {w.index} refused: {error_name(code)} ({text})", code)
        if ev.type != MsgType.RESULT or len(ev.payload) < 8:
            self.send(w, f"unexpected reply type {ev.type:#x}")
            return None
        in_crc, ticks = struct.unpack_from("<II", ev.payload)
        if in_crc != w.crc:
            # Computed on other bytes than this window's: never use it.
            self.stats.wrong_input += 1
            self.stats.note(f"window {w.index}: result computed on a different input (crc {in_crc:#010x})")
            self.send(w, "result computed on a different input")
            return None
        outputs = np.frombuffer(ev.payload[8:], dtype=np.int8).copy()
        if outputs.size != output_bytes:
            self.send(w, f"{outputs.size} outputs, expected {output_bytes}")
            return None
        w.done = True
        self.live.remove(w)
        self.drop_attempts(w)
        return InferResult(w.index, outputs, ticks, ev.seq, in_crc)

    def expire(self, now: float) -> None:
        """Re-sends every attempt whose deadline passed with no reply."""
        for s, a in list(self.pending.items()):
            if a.deadline <= now and s in self.pending:
                del self.pending[s]
                self.stats.timeouts += 1
                self.send(a.window, f"no reply within {self.client.timeout_s:g} s")
