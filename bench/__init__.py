"""Benchmarks of dlmskit side by side with gurux-dlms and dlms-cosem (run with ``make bench``).

Nothing here is part of the dlmskit package: the libraries compared with it live only in ``bench/.venv``.
See ``docs/benchmarks.md``.
"""
