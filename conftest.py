"""Session set-up for the tests: one thread per BLAS/OpenMP pool, and the benchmark data from
``../shared/data``.

Fixtures skip the requesting test cleanly when the shared data is absent. The window arrays
are shared by every test of the session, so they are returned read-only.
"""

import shutil

import pytest
import torch
from threadpoolctl import threadpool_limits

from sktsgen.datasets import fetch_energy, fetch_stocks
from sktsgen.utils._testing import shared_data_dir as _locate_shared_data

# One BLAS/OpenMP thread and one torch thread for the whole test session: the tests use tiny
# arrays, where a second thread gains nothing, and on a machine whose other core is busy
# oversubscribed threads made the suite many times slower (it did not finish in 6 minutes with
# one core held by a busy loop; 71 s on the idle machine).
torch.set_num_threads(1)
_THREAD_LIMITS = threadpool_limits(limits=1)

_FILES = {"stocks": "stock_data.csv", "energy": "energy_data.csv"}


@pytest.fixture(scope="session")
def shared_data_dir():
    """``pathlib.Path`` of ``../shared/data``; skips when it is absent."""
    path = _locate_shared_data()
    if path is None:
        pytest.skip("../shared/data is absent")
    return path


@pytest.fixture(scope="session")
def seeded_data_home(shared_data_dir, tmp_path_factory):
    """A temporary data_home holding copies of the shared CSVs (never the network)."""
    home = tmp_path_factory.mktemp("sktsgen_data")
    for filename in _FILES.values():
        if (shared_data_dir / filename).is_file():
            shutil.copyfile(shared_data_dir / filename, home / filename)
    return home


def _protocol_windows(fetch, name, home):
    if not (home / _FILES[name]).is_file():
        pytest.skip(f"{_FILES[name]} is not in ../shared/data")
    X = fetch(data_home=home, download_if_missing=False)
    X.setflags(write=False)
    return X


@pytest.fixture(scope="session")
def stocks_windows(seeded_data_home):
    """Stocks windows of the TimeGAN protocol, shape (3661, 24, 6), read-only."""
    return _protocol_windows(fetch_stocks, "stocks", seeded_data_home)


@pytest.fixture(scope="session")
def energy_windows(seeded_data_home):
    """Energy windows of the TimeGAN protocol, shape (19711, 24, 28), read-only."""
    return _protocol_windows(fetch_energy, "energy", seeded_data_home)
