"""Download against a real HTTP server on 127.0.0.1: resume after a cut, verification, safe extraction."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from hil.cli import cli
from hil.data.download import download_lsad, fetch, safe_extract
from hil.errors import DataError

TOP = "a-large-scale-12-lead-electrocardiogram-database-for-arrhythmia-study-1.0.0"


def make_archive(sample: Path, *, corrupt_member: str | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """A PhysioNet-style zip of the sample records with SHA256SUMS.txt (optionally a member changed after summing)."""
    files: dict[str, bytes] = {}
    for p in sorted((sample / "WFDBRecords").rglob("*")):
        if p.is_file():
            files[str(p.relative_to(sample))] = p.read_bytes()
    files["RECORDS"] = b"WFDBRecords/01/010/\n"
    sums = "".join(f"{hashlib.sha256(b).hexdigest()}  {name}\n" for name, b in sorted(files.items()))
    files["SHA256SUMS.txt"] = sums.encode()
    if corrupt_member:
        data = bytearray(files[corrupt_member])
        data[500] ^= 0xFF
        files[corrupt_member] = bytes(data)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, b in [*((f"{TOP}/{n}", b) for n, b in files.items()), *(extra or {}).items()]:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2022, 1, 1, 0, 0, 0)), b, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


class Server:
    """Serves ``body`` at /lsad.zip with Range support.

    ``cut_at`` cuts the first transfer at that byte; ``cut_every`` cuts every transfer after that many bytes.
    """

    def __init__(self, body: bytes, cut_at: int | None = None, cut_every: int | None = None) -> None:
        self.body, self.cut_at, self.cut_every, self.requests = body, cut_at, cut_every, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                outer.requests.append(self.headers.get("Range"))
                if self.path != "/lsad.zip":
                    self.send_error(404)
                    return
                body, start = outer.body, 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Content-Type", "application/zip")
                self.end_headers()
                if outer.cut_every is not None:
                    self.wfile.write(body[start : start + outer.cut_every])
                    self.close_connection = True
                    return
                if outer.cut_at is not None and start < outer.cut_at:
                    self.wfile.write(body[start : outer.cut_at])  # then hang up mid-transfer
                    outer.cut_at = None
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/lsad.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_cut_transfer_resumes_then_verifies_extracts_and_converts(lsad_sample, tmp_path):
    body = make_archive(lsad_sample)
    cut = len(body) // 2
    out = tmp_path / "lsad"
    with Server(body, cut_at=cut) as srv:
        result = CliRunner().invoke(
            cli, ["data", "download", "--out", str(out), "--url", srv.url, "--work", str(tmp_path / "w"), "--json"]
        )
    assert result.exit_code == 0, result.output
    assert srv.requests == [None, f"bytes={cut}-"]  # the second request resumed at the cut
    doc = json.loads(result.stdout)
    assert doc["verified"] is True
    assert doc["summary"]["class_counts"]["all"] == {"SR": 0, "SB": 2, "AFIB": 2, "GSVT": 0}
    assert (out / "WFDBRecords/01/010/JS00001.mat").read_bytes() == (lsad_sample / "WFDBRecords/01/010/JS00001.mat").read_bytes()
    assert not (out / ".download").exists()


def test_interrupted_download_resumes_from_the_part_file(lsad_sample, tmp_path):
    body = make_archive(lsad_sample)
    dest = tmp_path / "lsad.zip"
    dest.with_name("lsad.zip.part").write_bytes(body[:1000])  # what a killed earlier run left
    with Server(body) as srv:
        assert fetch(srv.url, dest, backoff_s=0) == len(body)
    assert srv.requests == ["bytes=1000-"]
    assert dest.read_bytes() == body


def test_size_mismatch_is_retried_then_reported(lsad_sample, tmp_path):
    body = make_archive(lsad_sample)

    with Server(body, cut_every=100) as srv:
        with pytest.raises(DataError) as err:
            fetch(srv.url, tmp_path / "lsad.zip", retries=2, backoff_s=0)
    assert srv.requests == [None, "bytes=100-", "bytes=200-"]
    assert "failed after 3 attempts" in str(err.value) and "resume" in (err.value.hint or "")
    assert (tmp_path / "lsad.zip.part").stat().st_size == 300  # three cut transfers kept, nothing lost


def test_corrupted_archive_fails_verification(lsad_sample, tmp_path):
    body = make_archive(lsad_sample, corrupt_member="WFDBRecords/01/010/JS00004.mat")
    with Server(body) as srv:
        with pytest.raises(DataError) as err:
            download_lsad(srv.url, tmp_path / "lsad", backoff_s=0, progress=False)
    assert "1 of 10 files fail SHA256SUMS.txt" in str(err.value)
    assert "WFDBRecords/01/010/JS00004.mat (sha256 mismatch)" in str(err.value)
    assert not (tmp_path / "lsad" / ".download" / "lsad.zip").exists()  # not reused next time


def test_damaged_zip_bytes_are_reported(lsad_sample, tmp_path):
    body = bytearray(make_archive(lsad_sample))
    body[len(body) // 3] ^= 0xFF  # inside a compressed member: CRC / inflate error
    with Server(bytes(body)) as srv:
        result = CliRunner().invoke(cli, ["data", "download", "--out", str(tmp_path / "x"), "--url", srv.url])
    assert result.exit_code == 3
    assert "corrupted" in result.output


def test_entry_outside_the_target_is_refused(lsad_sample, tmp_path):
    body = make_archive(lsad_sample, extra={"../../evil.txt": b"pwned"})
    archive = tmp_path / "a.zip"
    archive.write_bytes(body)
    dest = tmp_path / "deep" / "out"
    with pytest.raises(DataError) as err:
        safe_extract(archive, dest)
    assert "'../../evil.txt' would be written outside" in str(err.value)
    assert not (tmp_path / "evil.txt").exists() and not any(dest.iterdir())  # nothing extracted at all
    abs_zip = tmp_path / "b.zip"
    with zipfile.ZipFile(abs_zip, "w") as zf:
        zf.writestr("/etc/evil", b"x")
    with pytest.raises(DataError, match="outside"):
        safe_extract(abs_zip, dest)


def test_http_errors_are_clear(tmp_path):
    with Server(b"x") as srv:
        with pytest.raises(DataError) as err:
            fetch(srv.url.replace("lsad.zip", "missing.zip"), tmp_path / "m.zip", backoff_s=0)
    assert "HTTP 404" in str(err.value) and "--url" in (err.value.hint or "")
