"""The lean CSV read of ``metareview pool --by`` (``review.pool._json_number_rows``): the same
doubles as NumPy's parser, and NumPy's parser for every file the JSON route does not fit."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from metareview.review import pool as pool_mod

# Decimal strings whose correctly rounded double is easy to get wrong: the smallest normal and
# subnormal doubles, the largest double, halfway cases, more digits than a double holds,
# exponents in both cases and with signs, integers beyond 2^53 and 2^64.
HARD = [
    "2.2250738585072011e-308", "2.2250738585072014E-308", "4.9e-324", "1.7976931348623157e308",
    "0.1", "-0.0", "9007199254740993", "18446744073709551615", "3.141592653589793238462643383",
    "1e23", "8.589973e9", "0.30000000000000004", "123456789012345678901234567890e-20",
    "-1.5e+10", "7E-3", "0", "5e-324", "99999999999999999999999",
    "123456789012345678901234567890123456789", "2.4703282292062327e-324",
]  # fmt: skip


def _rows(values: list[str], ncol: int) -> bytes:
    lines = [",".join(values[i:i + ncol]) for i in range(0, len(values), ncol)]
    return ("\n".join(lines) + "\n").encode()


def test_the_same_doubles_as_numpy_and_float() -> None:
    rng = random.Random(20261202)
    values = list(HARD) + [repr(rng.uniform(-1e3, 1e3)) for _ in range(2_983)]
    values += [f"{rng.uniform(0, 1):.{rng.randint(1, 20)}g}" for _ in range(3_000)]
    values = values[: len(values) // 3 * 3]
    body = _rows(values, 3)
    got = pool_mod._json_number_rows(body, 3)
    assert got is not None and got.shape == (len(values) // 3, 3)
    expected = np.array([float(v) for v in values]).reshape(-1, 3)
    assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))  # bit for bit, -0.0 too
    import io

    numpy_read = np.loadtxt(io.StringIO(body.decode()), delimiter=",", ndmin=2, dtype=float)
    assert np.array_equal(got.view(np.uint64), numpy_read.view(np.uint64))


@pytest.mark.parametrize("body", [
    b"1,0.1,0.2\n\n2,0.3,0.1\n",  # a blank line (NumPy skips it)
    b"1,0.1,0.2\n2,0.3\n",  # a short row
    b"1,0.1,0.2,4\n2,0.3,0.1\n",  # a long row and a short one, the same comma total
    b"1,0.1,0.2\n2,,0.1\n",  # an empty cell
    b"1,.5,0.2\n",  # not a JSON number (NumPy reads it)
    b"1,5.,0.2\n", b"1,+5,0.2\n", b"1,nan,0.2\n", b'1,"0.5",0.2\n', b"a,0.5,0.2\n",
    b"1,0.5,0.2 # note\n", b"1,true,0.2\n",
    b"", b"\n",
])  # fmt: skip
def test_anything_else_goes_to_numpy(body: bytes) -> None:
    assert pool_mod._json_number_rows(body, 3) is None


def test_line_ends_and_blanks_are_json_whitespace() -> None:
    got = pool_mod._json_number_rows(b"1 , 0.25,\t0.5\r\n2,0.125,1e-2\r\n", 3)
    assert got is not None
    assert got.tolist() == [[1.0, 0.25, 0.5], [2.0, 0.125, 0.01]]


def _fit(path: Path) -> list[dict[str, object]] | None:
    out = pool_mod._pool_lean(path, method="REML", test="z", level=95.0, by="id")
    return None if out is None else list(out.json)


def test_lean_pool_is_the_same_through_either_reader(tmp_path: Path) -> None:
    # One file read by the JSON route, the same numbers in a file only NumPy's parser reads
    # (".5" style cells): the pooled analyses are identical.
    rng = random.Random(7)
    rows = [(g, rng.uniform(-1, 1), rng.uniform(0.01, 0.2)) for g in range(1, 21) for _ in range(4)]
    plain = tmp_path / "plain.csv"
    plain.write_text("id,yi,vi\n" + "".join(f"{g},{y!r},{v!r}\n" for g, y, v in rows))
    numpy_only = tmp_path / "numpy_only.csv"
    numpy_only.write_text("id,yi,vi\n" + "".join(
        f"{g},{y!r},{v!r}\n".replace("0.", ".") for g, y, v in rows))
    text = numpy_only.read_bytes()
    assert pool_mod._json_number_rows(text.split(b"\n", 1)[1], 3) is None
    assert pool_mod._json_number_rows(plain.read_bytes().split(b"\n", 1)[1], 3) is not None
    a, b = _fit(plain), _fit(numpy_only)
    assert a is not None and a == b
