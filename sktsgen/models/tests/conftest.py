"""Fixtures of the model tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # These networks are tiny: one thread is as fast as two, and much faster when the
    # cores are shared with other processes (thread hand-offs dominate).
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
