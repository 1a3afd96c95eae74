"""Re-executing a run and judging it: papermill execution, headless capture, environments, drift, the report."""
