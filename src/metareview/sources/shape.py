"""The shape a JSON source must have, checked before it is read: one small typed walker.

ClinicalTrials.gov and Europe PMC replies (and files saved from them) are read field by field
with ``dict.get``; a title sent as a list, conditions as a string or a module as a list would
otherwise reach the store as the wrong type (``sqlite3.ProgrammingError``), break a ``.get``
(``AttributeError``) or be stored empty. :func:`check_shape` walks a decoded document against a
declared schema and raises :class:`~metareview.sources.base.SourceFormatError` at the first
value of the wrong type, naming the file, the record and the field's dotted path
(``protocolSection.conditionsModule.conditions``). Keys the schema does not name are not
looked at; ``null`` is accepted as the value of a key (the readers treat it as absent) but not
as an item of a list.

A schema is built from:

* :data:`TEXT` (a JSON string), :data:`NUMBER` (a number, or a string that may hold one, as
  the CT.gov API sends counts), :data:`SCALAR` (string, number or boolean), :data:`ANY`;
* ``[spec]``: a list whose every item has ``spec``;
* ``{key: spec, ...}``: an object whose named keys have their ``spec``.
"""

from __future__ import annotations

from typing import Any, Final

from metareview.sources.base import SourceFormatError

__all__ = ["ANY", "NUMBER", "SCALAR", "TEXT", "Spec", "check_shape", "json_type"]


class _Leaf:
    """A leaf spec: the Python types a JSON scalar may decode to."""

    def __init__(self, name: str, *types: type) -> None:
        self.name = name
        self.types = types

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return bool in self.types
        return isinstance(value, self.types)

    def __repr__(self) -> str:
        return self.name


TEXT: Final = _Leaf("text", str)
NUMBER: Final = _Leaf("a number", int, float, str)
SCALAR: Final = _Leaf("a single value", str, int, float, bool)
ANY: Final = _Leaf("anything", object, bool)

#: A schema node: a leaf, ``[spec]`` or ``{key: spec}``.
Spec = _Leaf | list[Any] | dict[str, Any]


def json_type(value: Any) -> str:
    """How a message names a decoded JSON value's type ('a list', 'a number', ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _expected(spec: Spec) -> str:
    if isinstance(spec, _Leaf):
        return spec.name
    return "a list" if isinstance(spec, list) else "an object"


def check_shape(value: Any, spec: Spec, *, file: str, record: int | None, path: str = "") -> None:
    """Raise :class:`SourceFormatError` unless ``value`` has the shape ``spec`` declares.

    The walk is iterative (a stack), so a document nested deeper than Python's recursion limit
    is checked as far as the schema goes and never raises :class:`RecursionError`.
    """
    stack: list[tuple[Any, Spec, str, bool]] = [(value, spec, path, False)]
    while stack:
        item, node, where, in_list = stack.pop()
        if item is None and not in_list:
            continue  # an absent value; a null *inside* a list is refused below
        wrong = item is None
        if wrong:
            pass
        elif isinstance(node, _Leaf):
            wrong = not node.accepts(item)
        elif isinstance(node, list):
            if not isinstance(item, list):
                wrong = True
            else:
                for index, element in enumerate(item):
                    stack.append((element, node[0], f"{where}[{index}]", True))
        elif not isinstance(item, dict):
            wrong = True
        else:
            for key, sub in node.items():
                if key in item:
                    stack.append((item[key], sub, f"{where}.{key}" if where else key, False))
        if wrong:
            raise SourceFormatError(
                f"should be {_expected(node)}, not {json_type(item)}",
                file=file,
                record=record,
                field=where or "(document)",
            )
