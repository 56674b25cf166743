"""R model formulas for the multilevel engine: design matrices as R's ``model.matrix``.

:func:`design_matrix` reads a right-hand side such as ``"0 + outcome + outcome:I(year - 1983)"``
and returns the model matrix with R's column names and order. It extends
:func:`metareview.models.regression.model_matrix` (main effects only) with what ``rma.mv``
users write: interactions (``a:b``, ``a*b``), ``I(expression)`` and other arithmetic on
columns, and models without an intercept (``0 +`` or ``- 1``).

Coding follows R (Chambers & Hastie 1992, *Statistical Models in S*, ch. 2; R's
``?model.matrix``): the intercept ``intrcpt`` (metafor's name) comes first, then the terms
ordered by their number of factors (stable within an order). A categorical variable in a term
is coded by treatment contrasts (first level dropped) when the term without it is also in the
model (the empty term being the intercept), and by one indicator per level otherwise; so
``~ 0 + outcome`` gives one column per outcome. Columns of an interaction vary the first
variable fastest and are named ``a:b`` as R names them.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metareview.errors import InputError
from metareview.models.regression import _is_categorical, _level_text, _levels

__all__ = ["design_matrix", "evaluate", "split_top"]

FloatArray = NDArray[np.float64]

_FACTOR = re.compile(r"^(?:factor|as\.factor)\(\s*(.+?)\s*\)$")
_NAME = re.compile(r"^[A-Za-z._][A-Za-z0-9._]*$")

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_FUNCS: dict[str, Callable[[Any], Any]] = {
    "mean": lambda x: np.full_like(np.asarray(x, float), np.nanmean(x)),
    "log": np.log, "log10": np.log10, "log2": np.log2, "exp": np.exp, "sqrt": np.sqrt,
    "abs": np.abs,
}


def split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` characters outside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch in sep and depth == 0:
            out.append("".join(cur))
            out.append(ch)
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def evaluate(expr: str, data: pd.DataFrame) -> FloatArray:
    """A numeric expression of columns (``year - 1983``, ``I(year - mean(year))``, ``log(n)``).

    R's ``^`` is a power; the functions are ``mean log log10 log2 exp sqrt abs``.
    """
    text = expr.strip()
    m = re.match(r"^I\((.*)\)$", text)
    if m:
        text = m.group(1)
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"cannot read the formula term {expr!r}", field="mods") from exc

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in data.columns:
                raise InputError(f"no column {node.id!r} in the data", field=node.id)
            s = data[node.id]
            if _is_categorical(s):
                raise InputError(f"column {node.id!r} is not numeric", field=node.id)
            return s.to_numpy(dtype=float, na_value=np.nan)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            val = ev(node.operand)
            return -val if isinstance(node.op, ast.USub) else val
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCS and len(node.args) == 1 and not node.keywords):
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise InputError(f"unsupported expression in formula term {expr!r}", field="mods")

    with np.errstate(all="ignore"):
        val = ev(tree)
    out = np.broadcast_to(np.asarray(val, dtype=float), (len(data),)).copy()
    return out


def _atom(text: str, data: pd.DataFrame) -> tuple[str, pd.Series | FloatArray, bool]:
    """One variable of a term: ``(name, values, categorical)``."""
    t = text.strip()
    m = _FACTOR.match(t)
    if m:
        col = m.group(1)
        if col not in data.columns:
            raise InputError(f"no column {col!r} in the data", field=col)
        return t, data[col].reset_index(drop=True), True
    if _NAME.match(t):
        if t not in data.columns:
            raise InputError(f"no column {t!r} in the data", field=t)
        s = data[t].reset_index(drop=True)
        if _is_categorical(s):
            return t, s, True
        return t, s.to_numpy(dtype=float, na_value=np.nan), False
    return t, evaluate(t, data), False


def _terms(rhs: str) -> tuple[bool, list[tuple[str, ...]]]:
    """Intercept flag and the terms (tuples of variable texts) in R's order."""
    text = rhs.strip()
    text = text[1:] if text.startswith("~") else text
    intercept = True
    terms: list[tuple[str, ...]] = []
    sign = "+"
    for piece in split_top(text, "+-"):
        if piece in ("+", "-"):
            sign = piece
            continue
        p = piece.strip()
        if not p:
            continue
        if p in ("0", "1"):
            if p == "0" or sign == "-":
                intercept = False
            continue
        if sign == "-":
            raise InputError(f"removing the term {p!r} is not supported", field="mods")
        atoms_star = [a.strip() for a in split_top(p, "*") if a != "*"]
        expanded: list[tuple[str, ...]] = [()]
        for a in atoms_star:
            inter = tuple(x.strip() for x in split_top(a, ":") if x != ":")
            expanded = expanded + [e + inter for e in expanded]
        for t in expanded[1:]:
            if t not in terms:
                terms.append(t)
    terms.sort(key=len)  # R orders terms by degree; sort is stable
    return intercept, terms


def design_matrix(
    rhs: str, data: pd.DataFrame
) -> tuple[FloatArray, tuple[str, ...], NDArray[np.bool_]]:
    """The model matrix of the formula ``rhs`` (see the module docstring).

    Returns ``(X, names, missing)``: ``missing`` marks rows with a missing variable (their
    ``X`` rows are NaN).
    """
    intercept, terms = _terms(rhs)
    n = len(data)
    atoms: dict[str, tuple[str, pd.Series | FloatArray, bool]] = {}
    for t in terms:
        for a in t:
            if a not in atoms:
                atoms[a] = _atom(a, data)
    missing = np.zeros(n, dtype=bool)
    for _, vals, cat in atoms.values():
        if cat:
            missing |= pd.Series(vals).isna().to_numpy()
        else:
            missing |= ~np.isfinite(np.asarray(vals, dtype=float))
    cols: list[FloatArray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones(n))
        names.append("intrcpt")
    present = set(terms)
    for t in terms:
        parts: list[list[tuple[str, FloatArray]]] = []
        for a in t:
            name, vals, cat = atoms[a]
            if not cat:
                parts.append([(name, np.asarray(vals, dtype=float))])
                continue
            s = pd.Series(vals)
            levels = _levels(s[~missing])
            rest = tuple(x for x in t if x != a)
            contrast = (rest in present) if rest else intercept
            use = levels[1:] if contrast else levels
            obj = s.to_numpy(dtype=object)
            parts.append([(f"{name}{_level_text(lev)}", (obj == lev).astype(float))
                          for lev in use])
        combos: list[tuple[str, FloatArray]] = [("", np.ones(n))]
        for part in parts:  # the first variable varies fastest, as in R
            combos = [(f"{cn}:{pn}" if cn else pn, cv * pv) for pn, pv in part
                      for cn, cv in combos]
        for cn, cv in combos:
            cols.append(cv)
            names.append(cn)
    if not cols:
        raise InputError("the model has no coefficients", field="mods")
    x = np.column_stack(cols)
    x[missing] = math.nan
    return x, tuple(names), missing
