"""Where nbrepro had the sidebar's kernel call before its modules
moved into subpackages: a Jupyter server of that nbrepro, still running after an
upgrade, calls it here in new kernels.
Not for new code: :mod:`nbrepro.kernel.api`."""

from nbrepro.kernel.api import capture_for_sidebar

__all__ = ["capture_for_sidebar"]
