"""From a record's ``#Dx:`` SNOMED-CT codes to one class of the model config.

The rule (documented in docs/data.md and tested in tests/unit/test_data_labels.py):

1. Every code of the record is looked up in ``cfg.classes.codes``; codes that no
   class lists (conduction defects, ST changes, ...) are ignored.
2. If no code maps to a class, the record has no label and is not used
   (skip reason ``no_class``); a record with no ``Dx`` entry at all is ``missing_dx``.
3. If codes of several classes are present, the class that comes first in
   ``cfg.classes.priority`` wins (default: the order of ``cfg.classes.names``).
   The seed config ranks ``AFIB, GSVT, SB, SR``: an arrhythmia outranks the
   sinus rhythm it is reported with.

Nothing here is hard-wired to four classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.config import ClassesCfg


class DxError(ValueError):
    """The Dx entry is present but not a list of integer codes."""


def parse_dx(value: str) -> list[int]:
    """``"164889003,59118001"`` -> ``[164889003, 59118001]`` (spaces, ';' and empty items tolerated)."""
    codes: list[int] = []
    for token in value.replace(";", ",").split(","):
        token = token.strip()
        if not token:
            continue
        if not token.isdigit():
            raise DxError(f"Dx code {token!r} is not a SNOMED-CT number")
        codes.append(int(token))
    return codes


@dataclass(frozen=True)
class LabelRule:
    """A compiled ``classes`` section: code -> class index, plus the priority order."""

    names: tuple[str, ...]
    code_to_class: dict[int, int]
    rank: dict[int, int]  # class index -> position in the priority list (0 wins)

    @classmethod
    def from_cfg(cls, classes: ClassesCfg) -> "LabelRule":
        order = classes.priority or classes.names
        return cls(
            names=tuple(classes.names),
            code_to_class=classes.code_to_class,
            rank={classes.names.index(n): i for i, n in enumerate(order)},
        )

    def label(self, codes: list[int]) -> int | None:
        """Class index for a record's codes, or None when no code belongs to a class."""
        found = {self.code_to_class[c] for c in codes if c in self.code_to_class}
        if not found:
            return None
        return min(found, key=self.rank.__getitem__)
