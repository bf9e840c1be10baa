"""Benchmarks of survey_app: run them with `python -m bench`."""
