import threading
import time

import numpy as np
import pytest
import torch
from joblib import parallel_config

from sktsgen.utils._chunks import map_chunks


def _chunk_of(values):
    return lambda start, stop: torch.as_tensor(values[start:stop])


@pytest.mark.parametrize("n_jobs", [None, 1, 2, 3, -1])
@pytest.mark.parametrize("chunk_size", [1, 4, 7, 100])
def test_fills_every_row_in_order(n_jobs, chunk_size):
    values = np.arange(23 * 2, dtype=np.float32).reshape(23, 2)
    out = np.full((23, 2), np.nan)
    result = map_chunks(lambda t: 2 * t + 1, _chunk_of(values), out, chunk_size, n_jobs=n_jobs)
    assert result is out
    np.testing.assert_array_equal(out, 2 * values + 1)


def test_chunks_are_made_in_order_in_the_calling_thread():
    made, caller = [], threading.get_ident()

    def make(start, stop):
        made.append((start, stop, threading.get_ident()))
        return torch.zeros(stop - start, 1)

    map_chunks(lambda t: t, make, np.empty((10, 1)), 3, n_jobs=2)
    assert [(a, b) for a, b, _ in made] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert {ident for *_, ident in made} == {caller}


def test_work_runs_in_threads_without_gradient_on_one_torch_thread():
    seen = []
    weight = torch.ones(1, requires_grad=True)

    def fn(t):
        seen.append((threading.get_ident(), torch.is_grad_enabled(), torch.get_num_threads()))
        return t * weight

    before = torch.get_num_threads()
    out = map_chunks(fn, lambda a, b: torch.ones(b - a, 1), np.empty((8, 1)), 2, n_jobs=2)
    assert torch.get_num_threads() == before  # restored
    np.testing.assert_array_equal(out, 1.0)
    assert threading.get_ident() not in {ident for ident, *_ in seen}
    assert not any(grad for _, grad, _ in seen)
    assert {threads for *_, threads in seen} == {1}


def test_chunks_in_flight_are_bounded():
    # With 2 threads at most 4 chunks are in flight: chunk i is only made once every chunk
    # up to i - 4 is done, however slow the workers are.
    done, lock, lags = set(), threading.Lock(), []

    def fn(t):
        time.sleep(0.005)
        with lock:
            done.add(int(t[0]))
        return t

    def make(start, stop):
        with lock:
            lags.append(all(j in done for j in range(start - 3)))
        return torch.full((1,), float(start))

    map_chunks(fn, make, np.empty(12), 1, n_jobs=2)
    assert len(lags) == 12 and all(lags)


def test_worker_errors_propagate():
    def fn(t):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        map_chunks(fn, lambda a, b: torch.zeros(b - a), np.empty(6), 2, n_jobs=2)


def test_joblib_context_sets_the_default():
    seen = set()

    def fn(t):
        seen.add(threading.get_ident())
        return t

    with parallel_config(n_jobs=2):
        map_chunks(fn, lambda a, b: torch.zeros(b - a), np.empty(8), 1)
    assert threading.get_ident() not in seen
