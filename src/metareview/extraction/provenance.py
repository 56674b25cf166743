"""Numbers with provenance: every extracted number says where it came from and how sure it is.

A review's result is only as good as the numbers fed into it, and a reader must be able to check
each one. :class:`Quantity` is one number (or short text such as a dose) together with

* its ``status`` — ``reported`` (printed in the source), ``derived`` (computed from reported
  numbers by a stated, standard conversion: SE from a p-value, SD from a CI, ...), or
  ``assumed`` (not reported; a documented, field-standard imputation and the reason for it);
* its ``source`` — a citation key into the review's source list and *where* in that source
  (table, page, sentence, JSON field), plus a short quote when that is the only way to pin the
  number down;
* for derived numbers, ``derive``: the name of the conversion and the inputs it takes, so the
  number is recomputed from its inputs every time the review runs (never typed in by hand).

The vocabulary follows the Cochrane Handbook (chapter 6.5, "Extracting study results and
converting to the desired format") and PRISMA 2020 item 10a/10b (data items and assumptions).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["STATUSES", "Derivation", "Quantity", "SourceRef", "SourceSpec", "Status"]

Status = Literal["reported", "derived", "assumed"]

#: The three provenance states a number can have, strongest first.
STATUSES: tuple[str, ...] = ("reported", "derived", "assumed")


class SourceSpec(BaseModel):
    """One citable source document: a paper, an abstract, a registry results page.

    ``key`` is how study data refer to it; ``citation`` is the full reference; ``url`` the
    address where the cited copy can be read (archived copies are fine: say so in ``note``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    url: str | None = None
    doi: str | None = None
    note: str | None = None


class SourceRef(BaseModel):
    """Where a number comes from: a source key and the place in it.

    ``where`` names the table, page, sentence or JSON field; ``quote`` is an optional short
    quotation (a few words) that pins the number down.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str = Field(min_length=1)
    where: str = Field(min_length=1)
    quote: str | None = None


class Derivation(BaseModel):
    """How a derived number is computed: a named conversion and its named inputs.

    ``method`` names a conversion known to the analysis (for example ``se_from_pvalue``);
    ``inputs`` maps the conversion's argument names to the names of other inputs of the same
    outcome (``{"estimate": "yi", "pval": "pval", "ni": "ni"}``), so the derived number is
    recomputed from its inputs every run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = Field(min_length=1)
    inputs: dict[str, str]


class Quantity(BaseModel):
    """One extracted number (or short text) with its status and source.

    Rules (checked on load):

    * ``reported`` needs ``value`` and ``source``;
    * ``derived`` needs ``derive`` (the value is computed; a typed ``value`` is checked against
      the computation) and a ``source`` naming what the inputs came from;
    * ``assumed`` needs ``value``, ``source`` (the basis of the assumption: a handbook section, a
      borrowed study's number) and ``why``.

    ``sensitivity`` lists alternative values the analysis tries for an assumed number (for
    example a pre-post correlation of 0.3 to 0.8 around an assumed 0.5).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float | int | str | None = None
    status: Status
    source: SourceRef
    derive: Derivation | None = None
    why: str | None = None
    sensitivity: list[float] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check_status(self) -> Quantity:
        if self.status == "derived":
            if self.derive is None:
                raise ValueError("a 'derived' number needs 'derive' (method and inputs)")
        elif self.value is None:
            raise ValueError(f"a {self.status!r} number needs a 'value'")
        if self.status == "assumed" and not (self.why and self.why.strip()):
            raise ValueError("an 'assumed' number needs 'why' (the reason for the assumption)")
        if self.status != "derived" and self.derive is not None:
            raise ValueError("'derive' is only allowed on a 'derived' number")
        if self.sensitivity is not None and self.status != "assumed":
            raise ValueError("'sensitivity' values are only allowed on an 'assumed' number")
        return self

    def numeric(self) -> float:
        """The value as a float; raises ``ValueError`` when it is missing or not a number."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise ValueError(f"value {self.value!r} is not a number")
        return float(self.value)

    def with_value(self, value: float) -> Quantity:
        """A copy carrying a computed ``value`` (used when a derivation is resolved)."""
        return self.model_copy(update={"value": value})

    def describe(self) -> dict[str, Any]:
        """Plain-dict form for reports: value, status, source, derivation/why text."""
        out: dict[str, Any] = {"value": self.value, "status": self.status}
        out["source"] = self.source.model_dump(exclude_none=True)
        if self.derive is not None:
            out["derive"] = self.derive.model_dump()
        if self.why:
            out["why"] = self.why
        if self.note:
            out["note"] = self.note
        return out
