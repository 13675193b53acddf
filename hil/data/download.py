"""Download LSAD from PhysioNet: resumable transfer, verification, safe extraction.

``download_lsad(url, out)``:

1. fetches the archive to ``out/.download/<name>.part`` with HTTP ``Range``
   requests, so an interrupted transfer (a cut connection, Ctrl-C, a second
   run) continues where it stopped; retried a few times with backoff;
2. checks the archive's size against the server's (``Content-Length`` /
   ``Content-Range``) and, for zip files, every member's CRC;
3. extracts it safely: every entry is checked *before* anything is written, and
   an absolute path, a ``..`` component or a link -- anything that would land
   outside ``out`` -- refuses the whole archive; a single top-level folder
   (PhysioNet's ``a-large-scale-...-1.0.0/``) is stripped so that
   ``out/WFDBRecords`` exists;
4. verifies every extracted file against the ``SHA256SUMS.txt`` PhysioNet
   ships inside the archive.

Conversion into the store is the caller's next step (``hil data download`` does it).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable

from hil.errors import DataError

_CHUNK = 1 << 16
_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$")
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class _Retry(Exception):
    """A transfer problem worth resuming."""


def fetch(
    url: str,
    dest: Path,
    *,
    retries: int = 5,
    timeout: float = 60.0,
    backoff_s: float = 1.0,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Download ``url`` to ``dest`` (resuming ``dest.part``); returns the size. Raises DataError."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(backoff_s * 2 ** (attempt - 1), 30.0))
        try:
            total = _fetch_once(url, part, timeout, on_progress)
        except _Retry as exc:
            last = exc
            continue
        size = part.stat().st_size
        if total is not None and size != total:
            last = _Retry(f"size {size} bytes after the transfer, the server announced {total}")
            continue
        os.replace(part, dest)
        return size
    raise DataError(
        f"download of {url} failed after {retries + 1} attempts: {last}",
        hint=f"run the same command again to resume ({part.stat().st_size if part.exists() else 0} bytes kept)",
    )


def _fetch_once(url: str, part: Path, timeout: float, on_progress) -> int | None:
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the part may already be complete
            m = _RANGE.match(exc.headers.get("Content-Range", "").replace("bytes */", "bytes 0-0/"))
            total = int(m.group(3)) if m and m.group(3) != "*" else None
            if total == have:
                return total
            part.unlink()
            raise _Retry(f"server refused to resume at byte {have}; starting over") from None
        if exc.code >= 500:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}", hint="check dataset.url in the model config or pass --url") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, ConnectionError, OSError)) and not isinstance(exc.reason, socket.gaierror):
            raise _Retry(f"{exc.reason}") from None
        raise DataError(f"{url}: cannot connect ({exc.reason})", hint="check the URL and the network") from None
    except (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as exc:
        raise _Retry(repr(exc)) from None
    with resp:
        if resp.status == 206:
            m = _RANGE.match(resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                part.unlink(missing_ok=True)
                raise _Retry(f"server resumed at the wrong offset ({resp.headers.get('Content-Range')!r}); starting over")
            total = int(m.group(3)) if m.group(3) != "*" else None
            mode = "ab"
        else:  # 200: the server ignored Range (or this is the first request)
            have, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        done = have
        if on_progress:
            on_progress(done, total)
        try:
            with open(part, mode) as f:
                while chunk := resp.read(_CHUNK):
                    f.write(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
        except (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError, OSError) as exc:
            raise _Retry(f"transfer cut at byte {done}: {exc!r}") from None
    if total is not None and done != total:
        raise _Retry(f"transfer ended at byte {done} of {total}")
    return total


# --------------------------------------------------------------------------- extraction


def _check_member(name: str, dest: Path, is_link: bool, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if is_link:
        raise DataError(f"{archive}: entry {name!r} is a link; refusing to extract the archive")
    if p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", name):
        raise DataError(f"{archive}: entry {name!r} would be written outside {dest}; refusing to extract the archive")
    target = (dest / p).resolve()
    if not str(target).startswith(str(dest.resolve()) + os.sep) and target != dest.resolve():
        raise DataError(f"{archive}: entry {name!r} would be written outside {dest}; refusing to extract the archive")
    return p


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a .zip or .tar[.gz] into ``dest``; refuses the archive if any entry would escape ``dest``."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                for info in infos:  # check every entry before writing any
                    mode = (info.external_attr >> 16) & 0o170000
                    _check_member(info.filename, dest, mode == 0o120000, archive)
                bad = zf.testzip()
                if bad is not None:
                    raise DataError(f"{archive}: entry {bad!r} is corrupted (CRC mismatch)", hint="delete it and download again")
                for info in infos:
                    zf.extract(info, dest)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
            raise DataError(f"{archive}: corrupted archive ({exc})", hint="delete it and download again") from None
        return
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                if not (m.isfile() or m.isdir()) and not (m.issym() or m.islnk()):
                    raise DataError(f"{archive}: entry {m.name!r} is not a file or folder; refusing to extract")
                _check_member(m.name, dest, m.issym() or m.islnk(), archive)
            tf.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise DataError(f"{archive}: not a readable zip or tar archive ({exc})", hint="delete it and download again") from None


def _strip_single_top(folder: Path, dest: Path) -> None:
    """Move the contents of ``folder`` into ``dest``, dropping one shared top-level folder."""
    entries = list(folder.iterdir())
    src = entries[0] if len(entries) == 1 and entries[0].is_dir() else folder
    dest.mkdir(parents=True, exist_ok=True)
    for e in src.iterdir():
        target = dest / e.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        shutil.move(str(e), str(target))
    shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- verification


def verify_sha256sums(root: Path, sums_name: str = "SHA256SUMS.txt", on_file: Callable[[], None] | None = None) -> int:
    """Check every file listed in ``root/sums_name``; returns how many. Raises DataError naming the bad files."""
    sums = Path(root) / sums_name
    if not sums.exists():
        raise DataError(f"{sums}: checksum file missing from the archive", hint="check dataset.sha256sums / the URL")
    entries = []
    for i, line in enumerate(sums.read_text().splitlines(), 1):
        if not line.strip():
            continue
        m = _SUMS_LINE.match(line)
        if not m:
            raise DataError(f"{sums}:{i}: not a '<sha256>  <path>' line: {line[:80]!r}")
        entries.append((m.group(1).lower(), m.group(2)))
    bad: list[str] = []
    for digest, rel in entries:
        p = Path(root) / rel
        if not p.is_file():
            bad.append(f"{rel} (missing)")
        else:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            if h.hexdigest() != digest:
                bad.append(f"{rel} (sha256 mismatch)")
        if on_file:
            on_file()
    if bad:
        raise DataError(
            f"{root}: {len(bad)} of {len(entries)} files fail {sums_name}: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}",
            hint="the archive is corrupted: delete it and download again",
        )
    return len(entries)


def download_lsad(
    url: str,
    out: Path,
    *,
    sha256sums: str = "SHA256SUMS.txt",
    retries: int = 5,
    timeout: float = 60.0,
    backoff_s: float = 1.0,
    keep_archive: bool = False,
    progress: bool = True,
) -> Path:
    """Fetch, check, extract and verify the LSAD archive at ``url`` into ``out``; returns ``out``."""
    from hil import ui

    out = Path(out)
    name = PurePosixPath(urllib.request.urlparse(url).path).name or "lsad.zip"
    archive = out / ".download" / name
    with ui.progress() as bar:
        task = bar.add_task(f"downloading {name}", total=None, visible=progress)

        def on_progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        if not archive.exists():
            fetch(url, archive, retries=retries, timeout=timeout, backoff_s=backoff_s, on_progress=on_progress)
        staging = out / ".download" / "extract"
        shutil.rmtree(staging, ignore_errors=True)
        ui.info(f"extracting {archive}")
        try:
            safe_extract(archive, staging)
        except DataError:
            shutil.rmtree(staging, ignore_errors=True)
            archive.unlink(missing_ok=True)  # a corrupted download must not be reused on the next attempt
            raise
        _strip_single_top(staging, out)
        n_files = sum(1 for _ in open(out / sha256sums)) if (out / sha256sums).exists() else None
        vtask = bar.add_task("verifying SHA256SUMS", total=n_files, visible=progress)
        try:
            verify_sha256sums(out, sha256sums, on_file=lambda: bar.advance(vtask))
        except DataError:
            archive.unlink(missing_ok=True)
            raise
    if not keep_archive:
        shutil.rmtree(out / ".download", ignore_errors=True)
    return out
