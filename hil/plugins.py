"""One registry type for the pluggable parts of hil (engines, flashers).

A registry holds plug-in objects by name.  The built-in ones are named as
``module:attribute`` strings and imported on first use, so importing hil (or
``hil --help``) never loads an engine's generator or a flasher's tool.  Third-party
packages add theirs through a Python entry point of the registry's group
(``hil.engines``, ``hil.flashers``); tests and scripts call ``register``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any, Callable, Generic, TypeVar

from hil.errors import ConfigError

T = TypeVar("T")


def _load_object(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    """Plug-ins of one kind, keyed by ``key(plugin)`` (an engine's name, a flasher's kind)."""

    def __init__(self, what: str, group: str, builtins: tuple[str, ...], key: Callable[[T], str]) -> None:
        self.what = what
        self.group = group
        self._builtins = builtins
        self._key = key
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, plugin: T | type[T], *, replace: bool = False) -> T:
        """Adds a plug-in (an instance, or a class that is instantiated); returns the instance."""
        obj: T = plugin() if isinstance(plugin, type) else plugin  # type: ignore[assignment]
        self._load()
        name = self._key(obj)
        old = self._items.get(name)
        # The same class registered again (a module imported twice) is harmless.
        if old is not None and not replace and type(old) is not type(obj):
            raise ConfigError(
                f"{self.what} {name!r} is already registered by {type(old).__module__}.{type(old).__qualname__}",
                hint="pick another name, or pass replace=True to override it on purpose",
            )
        self._items[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        self._load()
        if name not in self._items:
            raise ConfigError(f"unknown {self.what} {name!r}; known: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def all(self) -> list[T]:
        self._load()
        return list(self._items.values())

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True  # first, so a plug-in that registers itself on import does not recurse
        for spec in self._builtins:
            loaded = _load_object(spec)
            obj = loaded() if isinstance(loaded, type) else loaded
            self._items[self._key(obj)] = obj
        for ep in importlib.metadata.entry_points(group=self.group):
            try:
                loaded = ep.load()
            except Exception as exc:  # a broken third-party package must not hide behind a traceback
                raise ConfigError(f"{self.what} plug-in {ep.name!r} ({ep.value}, entry point group {self.group}) "
                                  f"failed to load: {type(exc).__name__}: {exc}") from exc
            obj = loaded() if isinstance(loaded, type) else loaded
            self._items.setdefault(self._key(obj), obj)
