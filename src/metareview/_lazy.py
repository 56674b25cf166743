"""Lazy public names for a package (PEP 562): a name's module is imported on first use.

A package's ``__init__`` lists where each public name lives and calls :func:`attach`; importing the
package then costs nothing, and ``from package import name`` imports only ``name``'s module.
Where a function has its module's name (``metareview.models.rma`` the function and
``metareview/models/rma.py``), the package attribute is the function, as with an eager
``from .rma import rma``: the import system binds each submodule on its package, and
:class:`_Package` replaces that binding with the function.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


class _Package(types.ModuleType):
    """A package module whose submodule bindings yield to a public name of the same name."""

    _lazy_exports: Mapping[str, str]

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if isinstance(value, types.ModuleType) and exports.get(name, "").rsplit(".", 1)[-1] == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


def attach(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Make ``package``'s public names lazy; return its ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping
        Public name -> the module that defines it, absolute or relative to ``package``
        (``"rma"`` for ``package.rma``, ``"metareview.store.project"``).
    """
    module = sys.modules[package]
    module.__dict__["_lazy_exports"] = dict(exports)
    module.__class__ = _Package

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = where if "." in where else f"{package}.{where}"
        value = getattr(importlib.import_module(target), name)
        module.__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*module.__dict__, *exports})

    return __getattr__, __dir__
