"""Benchmarks of gpserver (issue 7): run with ``make bench``; see bench/README.md."""
