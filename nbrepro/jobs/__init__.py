"""Reruns as background jobs: job state on disk, the job manager, process helpers."""
