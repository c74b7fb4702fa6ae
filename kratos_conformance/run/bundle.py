"""Where the contract (``openapi/``) and the suites (``suites/``) are, however the suite was installed.

In a source checkout (an editable install, ``make install``) they are the checkout's own folders beside the
package. A wheel (``pip install``, ``pipx``) carries copies inside the package, as ``kratos_conformance/_bundle/``
(pyproject.toml maps the two folders there), so the installed ``kratos-conformance`` command runs from any
directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # kratos_conformance/


def data_root() -> Path:
    """The folder that holds ``openapi/`` and ``suites/``: the checkout, else the installed bundle."""
    checkout = _PACKAGE.parent
    if (checkout / "openapi").is_dir() and (checkout / "suites").is_dir():
        return checkout
    return _PACKAGE / "_bundle"


def contract_dir() -> Path:
    """The folder of the contract (``verification.yaml``) and its drift ledger (``drift.yaml``)."""
    return data_root() / "openapi"


def suites_dir() -> Path:
    """The folder of the suites (``scenarios/``, ``security/``, ``fuzz/``, ``browser/``)."""
    return data_root() / "suites"
