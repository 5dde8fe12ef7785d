"""Benchmarks: one command each (``python -m bench.<name>``), inputs generated with a fixed seed."""
