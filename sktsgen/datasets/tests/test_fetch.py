import hashlib
import os
import shutil
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from sktsgen.datasets import _timegan, fetch_energy, fetch_stocks, get_data_home
from sktsgen.datasets._base import RemoteFile
from sktsgen.utils._testing import shared_data_dir

SHARED = shared_data_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/data is absent")
STOCK = "stock_data.csv"


def _reference_protocol(path, seq_len, seed):
    """TimeGAN's real_data_loading, written out as loops (independent of our vectorised code)."""
    data = np.loadtxt(path, delimiter=",", skiprows=1)[::-1]
    data = (data - data.min(0)) / (data.max(0) - data.min(0) + 1e-7)
    windows = np.array([data[i:i + seq_len] for i in range(len(data) - seq_len)])
    if seed is None:
        return windows
    return windows[np.random.RandomState(seed).permutation(len(windows))]


@pytest.fixture
def seeded_home(tmp_path):
    if SHARED is None:
        pytest.skip("../shared/data is absent")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(SHARED / STOCK, home / STOCK)
    return home


@pytest.fixture
def tiny_source(tmp_path, monkeypatch):
    """A small synthetic CSV registered as the "stocks" data set behind a file:// URL."""
    src = tmp_path / "src"
    src.mkdir()
    rows = np.column_stack([np.arange(10.0), 2.0 * np.arange(10.0) + 5.0])
    pd.DataFrame(rows, columns=["a", "b"]).to_csv(src / STOCK, index=False)
    sha = hashlib.sha256((src / STOCK).read_bytes()).hexdigest()
    monkeypatch.setitem(_timegan.DATASETS, "stocks",
                        RemoteFile(STOCK, (src / STOCK).as_uri(), sha))
    return src / STOCK, rows


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


@needs_shared
def test_stocks_protocol_windows(seeded_home):
    X = fetch_stocks(data_home=seeded_home, download_if_missing=False)
    assert X.shape == (3661, 24, 6) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() < 1.0
    np.testing.assert_array_equal(X, _reference_protocol(SHARED / STOCK, 24, seed=0))


@needs_shared
def test_energy_protocol_windows(tmp_path):
    shutil.copyfile(SHARED / "energy_data.csv", tmp_path / "energy_data.csv")
    X = fetch_energy(data_home=tmp_path, download_if_missing=False, shuffle=False)
    assert X.shape == (19711, 24, 28)
    frame = fetch_energy(data_home=tmp_path, as_frame=True)
    assert list(frame.columns[-2:]) == ["rv1", "rv2"]
    scaled_last_row = (frame.iloc[-1] - frame.min()) / (frame.max() - frame.min() + 1e-7)
    # Unshuffled, the first window starts with the newest row.
    np.testing.assert_allclose(X[0, 0], scaled_last_row.to_numpy(), rtol=0, atol=1e-15)


@needs_shared
def test_shuffle_and_seq_len(seeded_home):
    kw = {"data_home": seeded_home, "download_if_missing": False}
    plain = fetch_stocks(shuffle=False, **kw)
    np.testing.assert_array_equal(plain, _reference_protocol(SHARED / STOCK, 24, seed=None))
    a, b = fetch_stocks(random_state=1, **kw), fetch_stocks(random_state=1, **kw)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fetch_stocks(random_state=2, **kw))
    # A permutation of the same windows.
    np.testing.assert_array_equal(np.sort(a[:, 0, 0]), np.sort(plain[:, 0, 0]))
    assert fetch_stocks(seq_len=10, **kw).shape == (3685 - 10, 10, 6)


@needs_shared
def test_as_frame(seeded_home):
    frame = fetch_stocks(data_home=seeded_home, as_frame=True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    assert frame.shape == (3685, 6)
    assert frame["Open"].iloc[0] == 49.676899  # oldest first: the 2004 IPO
    assert frame["Open"].iloc[-1] > 1000


def test_get_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("SKTSGEN_DATA", raising=False)
    assert get_data_home() == str(tmp_path / "user" / "sktsgen_data")
    assert os.path.isdir(tmp_path / "user" / "sktsgen_data")
    monkeypatch.setenv("SKTSGEN_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    assert get_data_home("~/x") == str(tmp_path / "user" / "x")
    with pytest.raises(TypeError, match="data_home"):
        get_data_home(3)


def test_env_var_used_and_argument_wins(tmp_path, monkeypatch, tiny_source):
    src, _ = tiny_source
    env_home = tmp_path / "env"
    env_home.mkdir()
    shutil.copyfile(src, env_home / STOCK)
    monkeypatch.setenv("SKTSGEN_DATA", str(env_home))
    assert fetch_stocks(download_if_missing=False, as_frame=True).shape == (10, 2)
    empty = tmp_path / "empty"
    with pytest.raises(OSError, match=str(empty / STOCK)):
        fetch_stocks(data_home=empty, download_if_missing=False)


def test_download_synthetic_file_url(tmp_path, tiny_source):
    src, rows = tiny_source
    home = tmp_path / "fresh"
    X = fetch_stocks(data_home=home, seq_len=3, shuffle=False)
    assert (home / STOCK).read_bytes() == src.read_bytes()
    assert _leftovers(home) == []
    # Rows reversed (newest first), per-column min-max, windows starting at 0..T-seq_len-1.
    scaled = (rows[::-1] - rows.min(0)) / (rows.max(0) - rows.min(0) + 1e-7)
    assert X.shape == (7, 3, 2)
    np.testing.assert_allclose(X[0], scaled[:3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(X[-1], scaled[6:9], rtol=0, atol=1e-15)
    # Second call loads the cached copy, also when downloads are off.
    np.testing.assert_array_equal(
        fetch_stocks(data_home=home, seq_len=3, shuffle=False, download_if_missing=False), X)


@needs_shared
def test_download_shared_file_url(tmp_path, monkeypatch):
    remote = _timegan.DATASETS["stocks"]
    monkeypatch.setitem(_timegan.DATASETS, "stocks",
                        remote._replace(url=(SHARED / STOCK).as_uri()))
    X = fetch_stocks(data_home=tmp_path)
    assert (tmp_path / STOCK).read_bytes() == (SHARED / STOCK).read_bytes()
    assert X.shape == (3661, 24, 6)


def test_checksum_mismatch_on_download(tmp_path, monkeypatch, tiny_source):
    remote = _timegan.DATASETS["stocks"]
    monkeypatch.setitem(_timegan.DATASETS, "stocks", remote._replace(sha256="0" * 64))
    with pytest.raises(OSError, match="SHA-256") as info:
        fetch_stocks(data_home=tmp_path)
    assert remote.url in str(info.value)
    assert not (tmp_path / STOCK).exists()
    assert _leftovers(tmp_path) == []


def test_checksum_mismatch_on_load(tmp_path, tiny_source):
    fetch_stocks(data_home=tmp_path, as_frame=True)
    with open(tmp_path / STOCK, "a") as f:
        f.write("1,2\n")
    with pytest.raises(OSError, match="SHA-256") as info:
        fetch_stocks(data_home=tmp_path)
    assert str(tmp_path / STOCK) in str(info.value)
    assert "Delete it" in str(info.value)


def test_offline_error_names_path_and_url(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError) as info:
        fetch_energy(data_home=tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "energy_data.csv") in msg
    assert _timegan.DATASETS["energy"].url in msg
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, tiny_source):
    class Broken:
        def __init__(self):
            self.calls = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise ConnectionResetError("connection reset")
            return b"a,b\n"

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Broken())
    home = tmp_path / "home"
    with pytest.raises(OSError, match="Could not download"):
        fetch_stocks(data_home=home)
    assert list(home.iterdir()) == []


def test_missing_no_download_message(tmp_path):
    with pytest.raises(OSError) as info:
        fetch_stocks(data_home=tmp_path, download_if_missing=False)
    msg = str(info.value)
    assert str(tmp_path / STOCK) in msg
    assert "https://raw.githubusercontent.com/jsyoon0823/TimeGAN/master/data/stock_data.csv" in msg


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"seq_len": 0}, ValueError, "seq_len"),
    ({"seq_len": 2.0}, TypeError, "seq_len"),
    ({"seq_len": True}, TypeError, "seq_len"),
    ({"seq_len": 10}, ValueError, "seq_len"),  # tiny CSV has 10 rows: no window
    ({"as_frame": "yes"}, TypeError, "as_frame"),
    ({"shuffle": 1}, TypeError, "shuffle"),
    ({"download_if_missing": None}, TypeError, "download_if_missing"),
    ({"data_home": 5}, TypeError, "data_home"),
])
def test_bad_arguments(tmp_path, tiny_source, kwargs, exc, name):
    kwargs = {"data_home": tmp_path, **kwargs}
    with pytest.raises(exc, match=name):
        fetch_stocks(**kwargs)
