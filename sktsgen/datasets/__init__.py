"""Benchmark data sets: the synthetic Sines windows and the Stocks/Energy CSVs of TimeGAN."""

from ._sines import make_sines

__all__ = ["make_sines"]
