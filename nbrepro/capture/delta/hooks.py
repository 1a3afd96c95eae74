"""A post-import hook: patch a module right after its first import, before anyone uses it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


# Duck-typed finder and loader: importlib.abc would cost ~20 ms of imports at startup.
class _HookedLoader:
    """Runs the real loader, then a callback: deltalake is patched before anyone uses it."""

    def __init__(self, loader: Any, after: Callable[[], None]) -> None:
        self._loader, self._after = loader, after

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        module.__loader__ = self._loader  # leave no trace of the hook on the module
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._after()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class ImportHook:
    """Post-import hook for one module; removed by its watcher once it fired."""

    def __init__(self, after: Callable[[], None], name: str = "deltalake") -> None:
        self._after, self._busy, self.name = after, False, name

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name or self._busy:
            return None
        self._busy = True  # other finders (another watcher's hook) may ask us again
        try:
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                spec = None if finder is self or find is None else find(fullname, path, target)
                if spec is not None:
                    if hasattr(spec.loader, "exec_module"):
                        spec.loader = _HookedLoader(spec.loader, self._after)
                    return spec
            return None
        finally:
            self._busy = False


class Patches:
    """Attributes nbrepro replaced on other packages' objects, and how to put them back."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any, Any]] = []

    def __bool__(self) -> bool:
        return bool(self._saved)

    def set(self, owner: Any, name: str, wrapper: Any) -> None:
        """Replace ``owner.name`` (defined on ``owner`` itself) with ``wrapper``."""
        self._saved.append((owner, name, vars(owner)[name], wrapper))
        setattr(owner, name, wrapper)

    def restore(self, note: Callable[[str], None]) -> None:
        """Put back every original object, newest patch first; a wrapper someone wrapped
        again is left alone (restoring would drop their patch too), and ``note`` says so."""
        saved, self._saved = self._saved, []
        for owner, name, original, wrapper in reversed(saved):
            if vars(owner).get(name) is wrapper:
                setattr(owner, name, original)
            else:
                note(f"left {owner.__name__}.{name} alone: it was re-patched after nbrepro")
