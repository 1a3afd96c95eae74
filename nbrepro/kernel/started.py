"""nbrepro in a kernel nbrepro starts itself (``nbrepro run``, every rerun).

Such a kernel loads this module as its extension (``--InteractiveShellApp.extra_extensions``)
before the first cell. It is nbrepro under a name of its own, so the notebook's own
``%load_ext nbrepro`` still loads ``nbrepro`` (a no-op: loading is idempotent) instead of
printing IPython's "The nbrepro extension is already loaded" into the run's outputs.
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    from nbrepro.kernel.magics import load

    load(ipython)
