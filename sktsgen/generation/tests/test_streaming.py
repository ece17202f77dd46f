"""Many windows: ``sample(out=...)`` into a preallocated array or a memory-mapped file, and
``sample_iter`` chunk by chunk; grid searches on a Dask cluster."""

import tracemalloc

import numpy as np
import pytest

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.utils._streaming import release_pages

SHAPE = (6, 3)


def tiny(**kw):
    return AvatarGenerator(**{"n_iter": 2, "hidden_size": 4, "num_layers": 1, "batch_size": 16,
                              "random_state": 0, **kw})


@pytest.fixture(scope="module")
def X():
    return make_sines(40, seq_len=6, n_features=3, random_state=0) * 50.0 - 20.0


@pytest.fixture(scope="module")
def labels():
    return np.where(np.arange(40) % 4 == 0, "rare", "common")


@pytest.fixture(scope="module")
def fitted(X):
    return tiny().fit(X)


@pytest.fixture(scope="module")
def by_class(X, labels):
    return tiny().fit(X, labels)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 16 windows, so that a few hundred windows span many chunks and blocks."""
    monkeypatch.setattr(AvatarGenerator, "_chunk_size", 16)


def _y(n):
    return np.where(np.arange(n) % 3 == 0, "rare", "common")


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("chunk_size", [1, 5, 16, 48, 100, 1000])
def test_sample_iter_is_sample_bit_for_bit(fitted, by_class, small_chunks, conditional,
                                           chunk_size):
    gen, y = (by_class, _y(300)) if conditional else (fitted, None)
    whole = gen.sample(300, random_state=7, y=y)
    chunks = list(gen.sample_iter(300, chunk_size=chunk_size, random_state=7, y=y))
    assert [len(c) for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
    assert sum(len(c) for c in chunks) == 300 and len(chunks) == -(-300 // chunk_size)
    assert all(c.dtype == whole.dtype and c.shape[1:] == SHAPE for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), whole)


def test_sample_iter_default_chunks_and_stream(X, fitted):
    chunks = list(fitted.sample_iter(5000, random_state=1))
    assert [len(c) for c in chunks] == [2048, 2048, 904]
    np.testing.assert_array_equal(np.concatenate(chunks), fitted.sample(5000, random_state=1))
    # random_state=None continues the stream seeded at fit, as sample does, and takes its
    # seed when called, not at the first chunk.
    a, b = tiny().fit(X), tiny().fit(X)
    it = a.sample_iter(10)
    np.testing.assert_array_equal(b.sample(10), np.concatenate(list(it)))
    np.testing.assert_array_equal(b.sample(3), a.sample(3))


@pytest.mark.parametrize("conditional", [False, True])
def test_out_array_is_filled_and_returned(fitted, by_class, small_chunks, conditional):
    gen, y = (by_class, _y(100)) if conditional else (fitted, None)
    expected = gen.sample(100, random_state=3, y=y)
    out = np.full((100, *SHAPE), np.nan)
    assert gen.sample(100, random_state=3, y=y, out=out) is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("conditional", [False, True])
def test_out_memmap_file_holds_the_samples(fitted, by_class, small_chunks, tmp_path,
                                           conditional):
    # 1500 windows: more than one block of 64 chunks, so pages are released between blocks.
    gen, y = (by_class, _y(1500)) if conditional else (fitted, None)
    expected = gen.sample(1500, random_state=4, y=y)
    path = tmp_path / "windows.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=expected.dtype,
                                    shape=expected.shape)
    assert gen.sample(1500, random_state=4, y=y, out=out) is out
    np.testing.assert_array_equal(out, expected)  # read back through the released pages
    out.flush()
    del out
    np.testing.assert_array_equal(np.load(path), expected)
    np.testing.assert_array_equal(np.load(path, mmap_mode="r")[1000:], expected[1000:])


def test_out_memmap_view_with_an_offset(fitted, small_chunks, tmp_path):
    """A slice of a larger file, starting inside a page."""
    expected = fitted.sample(1100, random_state=5)
    mm = np.memmap(tmp_path / "raw.bin", dtype=expected.dtype, mode="w+", offset=24,
                   shape=(1200, *SHAPE))
    mm[:] = -1.0
    fitted.sample(1100, random_state=5, out=mm[50:1150])
    np.testing.assert_array_equal(mm[50:1150], expected)
    assert (mm[:50] == -1).all() and (mm[1150:] == -1).all()


def test_release_pages_keeps_data_and_spares_private_mappings(tmp_path):
    values = np.arange(300_000, dtype=np.float64).reshape(-1, 10, 3)
    for mode in ("w+", "c"):
        path = tmp_path / f"{mode[0]}.bin"
        values.tofile(path)
        mm = np.memmap(path, dtype=np.float64, mode="r+" if mode == "w+" else "c",
                       shape=values.shape)
        mm[:] = values + 1.0
        release_pages(mm, 0, len(mm))
        np.testing.assert_array_equal(mm, values + 1.0)  # a private copy is never dropped
    release_pages(values, 0, 10)  # not a memmap: nothing happens


def test_bounded_memory(fitted, monkeypatch, tmp_path):
    """No array of all the windows is allocated: tracemalloc sees NumPy's allocations."""
    monkeypatch.setattr(AvatarGenerator, "_chunk_size", 64)
    n = 4000
    nbytes = n * SHAPE[0] * SHAPE[1] * 8

    def peak(fn):
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    out = np.lib.format.open_memmap(tmp_path / "w.npy", mode="w+", dtype=np.float64,
                                    shape=(n, *SHAPE))
    assert peak(lambda: fitted.sample(n, random_state=0)) >= nbytes  # the measure sees it
    assert peak(lambda: fitted.sample(n, random_state=0, out=out)) < nbytes / 4
    assert peak(lambda: [None for _ in fitted.sample_iter(n, chunk_size=100)]) < nbytes / 4


@pytest.mark.parametrize("make_out, error, match", [
    (lambda: [[[0.0] * 3] * 6] * 10, TypeError, "out must be a numpy.ndarray"),
    (lambda: np.empty((9, 6, 3)), ValueError, r"out has shape \(9, 6, 3\)"),
    (lambda: np.empty((10, 6, 2)), ValueError, r"out has shape"),
    (lambda: np.empty((10, 6, 3), dtype=np.float32), TypeError, "out has dtype float32"),
    (lambda: np.broadcast_to(np.empty((1, 6, 3)), (10, 6, 3)), ValueError, "read-only"),
])
def test_bad_out_is_rejected_by_name(fitted, make_out, error, match):
    with pytest.raises(error, match=match):
        fitted.sample(10, out=make_out())


def test_bad_arguments_raise_before_the_first_chunk(fitted, by_class):
    for chunk_size in (0, -3, 2.5):
        with pytest.raises((TypeError, ValueError), match="chunk_size"):
            fitted.sample_iter(10, chunk_size=chunk_size)
    with pytest.raises(ValueError, match="needs a generator fitted with y"):
        fitted.sample_iter(10, y="rare")
    with pytest.raises(ValueError, match="not seen at fit"):
        by_class.sample_iter(10, y="unknown")
    with pytest.raises(ValueError, match="one value per window"):
        by_class.sample(10, y=_y(9), out=np.empty((10, *SHAPE)))


def test_scalar_y_and_one_window(by_class):
    chunks = list(by_class.sample_iter(5, chunk_size=2, random_state=0, y="rare"))
    np.testing.assert_array_equal(np.concatenate(chunks),
                                  by_class.sample(5, random_state=0, y="rare"))
    out = np.empty((1, *SHAPE))
    np.testing.assert_array_equal(by_class.sample(1, random_state=0, out=out),
                                  by_class.sample(1, random_state=0))


# --- scale-out on Dask -------------------------------------------------------------------


def test_grid_searches_on_a_dask_cluster():
    """GridSearchCV over a generator and over a sampler pipeline, on a local Dask cluster
    through joblib's "dask" backend (``pip install sktsgen[distributed]``)."""
    distributed = pytest.importorskip("distributed")
    import joblib
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    from sktsgen.over_sampling import GenerativeWindowOverSampler
    from sktsgen.preprocessing import WindowFlattener

    X = make_sines(48, seq_len=6, n_features=3, random_state=0)
    y = np.where(np.arange(48) % 4 == 0, 1, 0)
    X[y == 1] += 0.5
    gen_search = GridSearchCV(tiny(score_n_iter=5), {"n_iter": [1, 2]}, cv=2, n_jobs=2)
    pipe = Pipeline([("sampler", GenerativeWindowOverSampler(generator=tiny(), random_state=0)),
                     ("flatten", WindowFlattener()), ("model", LogisticRegression())])
    pipe_search = GridSearchCV(pipe, {"model__C": [0.1, 1.0]}, cv=2, n_jobs=2)
    # Two worker threads: with one in all, joblib's dask backend runs every task in the
    # calling thread, without the cluster.
    with (distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster) as client,
          joblib.parallel_backend("dask")):
        with distributed.get_task_stream(client) as gen_tasks:
            gen_search.fit(X)
        with distributed.get_task_stream(client) as pipe_tasks:
            pipe_search.fit(X, y)
    # Both searches ran their fits as tasks of the cluster (joblib batches them: how many
    # tasks varies from run to run).
    assert gen_tasks.data and pipe_tasks.data
    assert gen_search.best_params_["n_iter"] in (1, 2)
    assert np.isfinite(gen_search.cv_results_["mean_test_score"]).all()
    assert gen_search.best_estimator_.sample(3, random_state=0).shape == (3, *SHAPE)
    assert set(pipe_search.cv_results_["param_model__C"]) == {0.1, 1.0}
    assert pipe_search.predict(X).shape == (48,)
