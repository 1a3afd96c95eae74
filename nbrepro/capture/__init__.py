"""Capturing a run: the environment, git, the kernel's history, Delta reads, assembling the record."""
