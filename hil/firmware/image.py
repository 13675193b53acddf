"""What a linked cross image holds, read from the ELF (pyelftools) and the port's linker script.

``memory_report`` is the size report per memory region (flash and RAM used
against what the linker script's MEMORY block gives, each section placed by
its run and load addresses) that ``build_firmware`` writes into size.json and
the manifest; it refuses an image with a section outside every region.
``vector_table``, ``undefined_symbols`` and ``defined_symbols`` serve the
checks of a board's image (tests/integration/test_apollo4_build.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from hil.errors import ConfigError

_REGION = re.compile(r"^[ \t]*(\w+)[ \t]*(?:\([^)]*\))?[ \t]*:[ \t]*ORIGIN[ \t]*=[ \t]*(0x[0-9a-fA-F]+|\d+)[ \t]*,"
                     r"[ \t]*LENGTH[ \t]*=[ \t]*(0x[0-9a-fA-F]+|\d+)[ \t]*([KM]?)", re.M)
_SCALE = {"": 1, "K": 1024, "M": 1024 * 1024}


@dataclass(frozen=True)
class Region:
    name: str
    origin: int
    length: int

    def holds(self, start: int, size: int) -> bool:
        return self.origin <= start and start + size <= self.origin + self.length


def linker_regions(script: Path) -> list[Region]:
    """The MEMORY block of a GNU ld script: name, ORIGIN, LENGTH (hex, decimal, K or M)."""
    text = re.sub(r"/\*.*?\*/", "", script.read_text(), flags=re.S)
    block = re.search(r"MEMORY\s*\{(.*?)\}", text, re.S)
    regions = [Region(m[1], int(m[2], 0), int(m[3], 0) * _SCALE[m[4]]) for m in _REGION.finditer(block[1])] \
        if block else []
    if not regions:
        raise ConfigError(f"{script}: no MEMORY regions found (NAME (attr) : ORIGIN = ..., LENGTH = ...)")
    return regions


def linker_script_of(build_dir: Path) -> Path | None:
    """The -T script the image was linked with (CMake's link command for the target ``hil``)."""
    link = build_dir / "CMakeFiles" / "hil.dir" / "link.txt"
    m = re.search(r"(?:^|\s)-T\s*(\S+)", link.read_text()) if link.is_file() else None
    return Path(m[1]) if m else None


def _placements(elf: Path) -> list[tuple[str, int, int, int | None]]:
    """(section, run address, size, load address or None when nothing is loaded) of every allocated section."""
    with open(elf, "rb") as f:
        e = ELFFile(f)
        loads = [s for s in e.iter_segments() if s["p_type"] == "PT_LOAD"]
        out = []
        for sec in e.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            addr, size = sec["sh_addr"], sec["sh_size"]
            lma = None
            if sec["sh_type"] != "SHT_NOBITS":
                seg = next((s for s in loads if s["p_vaddr"] <= addr < s["p_vaddr"] + max(s["p_memsz"], 1)), None)
                lma = addr if seg is None else seg["p_paddr"] + (addr - seg["p_vaddr"])
            out.append((sec.name, addr, size, lma))
    return out


def memory_report(elf: Path, script: Path) -> dict[str, dict[str, int]]:
    """Per region of ``script``: origin, size, used and free bytes of the image ``elf``.

    A section counts where it runs and, when its contents are loaded from
    elsewhere (``.data``'s initial values in flash), there too. ConfigError names
    a section that lies outside every region.
    """
    regions = linker_regions(script)
    used = {r.name: 0 for r in regions}
    for name, addr, size, lma in _placements(elf):
        for where, start in (("runs", addr), ("loads", lma)):
            if start is None or (where == "loads" and start == addr):
                continue
            region = next((r for r in regions if r.holds(start, size)), None)
            if region is None:
                raise ConfigError(
                    f"{elf}: section {name} ({size} bytes) {where} at {start:#x}, outside every memory region of "
                    f"{script} ({', '.join(f'{r.name} {r.origin:#x}+{r.length:#x}' for r in regions)})")
            used[region.name] += size
    return {r.name: {"origin": r.origin, "size": r.length, "used": used[r.name], "free": r.length - used[r.name]}
            for r in regions}


def vector_table(elf: Path) -> tuple[int, list[int]]:
    """Address and words of the ``.isr_vector`` section (initial SP, reset handler, ...)."""
    with open(elf, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".isr_vector")
        if sec is None:
            raise ConfigError(f"{elf}: no .isr_vector section")
        data = sec.data()
        return sec["sh_addr"], [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data) - 3, 4)]


def _symbols(path: Path):
    with open(path, "rb") as f:
        tab = ELFFile(f).get_section_by_name(".symtab")
        yield from (tab.iter_symbols() if tab is not None else ())


def undefined_symbols(path: Path, *, weak: bool = False) -> set[str]:
    """Names an ELF file (image or object) references but does not define (weak ones only if asked)."""
    return {s.name for s in _symbols(path) if s.name and s["st_shndx"] == "SHN_UNDEF"
            and (weak or s["st_info"]["bind"] != "STB_WEAK")}


def defined_symbols(path: Path) -> dict[str, int]:
    """Global and weak symbols an ELF file defines, with their addresses."""
    return {s.name: s["st_value"] for s in _symbols(path) if s.name and s["st_shndx"] != "SHN_UNDEF"
            and s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")}
