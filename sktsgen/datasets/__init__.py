"""Benchmark data sets: the synthetic Sines windows, the Stocks/Energy CSVs of TimeGAN, and a
reader for the UCR/UEA archive's ``.ts`` files."""

from ._base import get_data_home
from ._sines import make_sines
from ._timegan import fetch_energy, fetch_stocks
from ._ts import load_ts

__all__ = ["fetch_energy", "fetch_stocks", "get_data_home", "load_ts", "make_sines"]
