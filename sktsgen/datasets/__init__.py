"""Benchmark data sets: the synthetic Sines windows and the Stocks/Energy CSVs of TimeGAN."""

from ._base import get_data_home
from ._sines import make_sines
from ._timegan import fetch_energy, fetch_stocks

__all__ = ["fetch_energy", "fetch_stocks", "get_data_home", "make_sines"]
