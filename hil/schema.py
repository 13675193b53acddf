"""The base of every configuration section (hil.config and the flashers' own sections).

A module of its own so a flasher module can define its boards.yaml section
without importing hil.config, which imports the flashers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
