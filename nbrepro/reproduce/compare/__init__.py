"""Comparing two runs: the report and its verdict, the code diff, the outputs."""
