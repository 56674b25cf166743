"""The flat public API (``metareview.__all__``): every name resolves, lazily.

``import metareview`` must stay cheap (the command line imports the package), and each
package that loads its names lazily (``metareview``, ``metareview.effects``,
``metareview.models``, ``metareview.review``) must give the same objects as their modules.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import metareview

LAZY_PACKAGES = ("metareview", "metareview.effects", "metareview.models", "metareview.review")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_name_in_all_resolves(package: str) -> None:
    module = importlib.import_module(package)
    exports = getattr(module, "_EXPORTS", {})
    assert set(module.__all__) - {"__version__"} == set(exports)
    for name in module.__all__:
        value = getattr(module, name)
        assert value is not None, name
        where = exports.get(name)
        if where is not None:
            target = where if "." in where else f"{package}.{where}"
            assert value is getattr(importlib.import_module(target), name), name
    assert set(module.__all__) <= set(dir(module))


def test_the_flat_names_the_docs_promise() -> None:
    from metareview import (  # noqa: F401
        Project,
        check_published,
        escalc,
        leave1out,
        load_protocol,
        ranktest,
        regtest,
        rma,
        rma_batch,
        rma_mh,
        rma_peto,
        rma_reg,
        subgroup,
        trimfill,
    )

    res = metareview.rma([-0.5, -0.2, -0.9], [0.04, 0.09, 0.05], method="DL")
    assert isinstance(res, metareview.RMAResult)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = metareview.nonsense  # type: ignore[attr-defined]


def test_a_function_named_like_its_module_wins() -> None:
    """As with an eager ``from .rma import rma``: the package attribute is the function."""
    import metareview.models.leave1out
    import metareview.models.rma

    assert callable(metareview.models.rma) and callable(metareview.models.leave1out)
    assert not isinstance(metareview.models.rma, type(sys))
    assert callable(metareview.effects.escalc)


def test_import_metareview_is_cheap() -> None:
    code = (
        "import sys\n"
        "import metareview, metareview.effects, metareview.models, metareview.review\n"
        "from metareview.models import METHODS, TESTS\n"
        "heavy = ('numpy', 'pandas', 'scipy', 'matplotlib', 'sklearn', 'httpx', 'pydantic')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
