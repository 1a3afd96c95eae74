"""Where nbrepro had ``capture_environment`` before its modules
moved into subpackages: a Jupyter server of that nbrepro, still running after an
upgrade, calls it here in new kernels.
Not for new code: :mod:`nbrepro.capture.environment`."""

from nbrepro.capture.environment import capture_environment

__all__ = ["capture_environment"]
