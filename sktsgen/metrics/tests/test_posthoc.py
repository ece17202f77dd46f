"""Discriminative and predictive scores: protocol behaviour, determinism and input errors."""

import numpy as np
import pytest
import torch

from sktsgen.datasets import fetch_stocks, make_sines
from sktsgen.metrics import discriminative_score, predictive_score
from sktsgen.nn import GRUHead
from sktsgen.training._posthoc import gru_outputs
from sktsgen.utils._testing import shared_data_dir

SCORES = [discriminative_score, predictive_score]


@pytest.fixture(scope="module")
def sines():
    return make_sines(400, 24, 5, random_state=0)


@pytest.fixture(scope="module")
def other_sines():
    return make_sines(400, 24, 5, random_state=1)


def test_fast_gru_matches_nn_gru():
    # The training loops run GRUHead's nn.GRU through a hand-written layer; same numbers.
    torch.manual_seed(0)
    module = GRUHead(4, 3)
    x = torch.rand(7, 24, 4)
    ref = module(x)
    ref.sum().backward()
    ref_grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()
    out = module.out(gru_outputs(module.gru, x.transpose(0, 1))[-1])
    out.sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    for p, g in zip(module.parameters(), ref_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


def test_discriminative_same_process_is_small():
    # Independent draws of one process: no classifier beats chance on the test part, so
    # the score is test-set noise: 200 + 200 test windows give a standard deviation of
    # about 0.025 for the accuracy; allow three of them.
    X_a = make_sines(1000, 24, 5, random_state=10)
    X_b = make_sines(1000, 24, 5, random_state=11)
    scores = [discriminative_score(X_a, X_b, n_iter=300, random_state=seed)
              for seed in range(2)]
    assert max(scores) < 0.075


def test_discriminative_noise_is_near_half(sines):
    noise = np.random.RandomState(0).uniform(size=sines.shape)
    # The tiny classifier sometimes fails to learn (score about 0): take the median of 3.
    scores = [discriminative_score(sines, noise, n_iter=300, random_state=seed)
              for seed in range(3)]
    assert np.median(scores) > 0.4


def test_predictive_separates_real_from_noise(sines, other_sines):
    good = predictive_score(sines, other_sines, n_iter=300, random_state=0)
    noise = np.random.RandomState(0).uniform(size=sines.shape)
    bad = predictive_score(sines, noise, n_iter=300, random_state=0)
    assert good < bad


@pytest.mark.skipif(shared_data_dir() is None, reason="../shared/data is absent")
def test_predictive_real_stocks_near_published_level():
    X = fetch_stocks(data_home=shared_data_dir(), download_if_missing=False)
    assert X.shape == (3661, 24, 6)
    # The published real-data level is 0.036 (5,000 iterations); 2,000 already reach it
    # within a few thousandths, at 40% of the cost.
    score = predictive_score(X, X, n_iter=2000, random_state=0)
    assert 0.030 < score < 0.042


@pytest.mark.parametrize("score", SCORES)
def test_determinism_and_global_state(score, sines, other_sines):
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    threads = torch.get_num_threads()
    first = score(sines[:100], other_sines[:100], n_iter=30, random_state=3)
    assert score(sines[:100], other_sines[:100], n_iter=30, random_state=3) == first
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    assert torch.get_num_threads() == threads
    assert isinstance(first, float)


def test_predictive_seed_changes_the_run(sines, other_sines):
    a = predictive_score(sines[:100], other_sines[:100], n_iter=30, random_state=0)
    b = predictive_score(sines[:100], other_sines[:100], n_iter=30, random_state=1)
    assert a != b


def test_discriminative_unequal_counts_subsample_the_larger(sines, other_sines):
    score = discriminative_score(sines[:50], other_sines[:90], n_iter=20, random_state=0)
    assert score == discriminative_score(sines[:50], other_sines[:90], n_iter=20,
                                         random_state=0)
    # 50 pairs -> 10 + 10 test windows: the accuracy is a multiple of 1/20.
    assert round(score * 20, 9) == round(score * 20)


def test_scores_accept_float32_and_minimal_sizes(sines):
    X = sines[:2].astype(np.float32)
    assert 0.0 <= discriminative_score(X, X[::-1], n_iter=3, random_state=0) <= 0.5
    assert predictive_score(X[:1], X[1:], n_iter=3, random_state=0) >= 0.0


@pytest.mark.parametrize("score", SCORES)
def test_bad_windows_are_rejected(score, sines):
    X = sines[:20]
    bad = X.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        score(X, bad, n_iter=2)
    with pytest.raises(ValueError, match="NaN"):
        score(bad, X, n_iter=2)
    with pytest.raises(ValueError, match="3-D"):
        score(X[0], X, n_iter=2)
    with pytest.raises(ValueError, match="3-D"):
        score(X, X[..., None], n_iter=2)
    with pytest.raises(ValueError, match="same seq_len and n_features"):
        score(X, X[:, :10], n_iter=2)
    with pytest.raises(ValueError, match="same seq_len and n_features"):
        score(X, X[:, :, :3], n_iter=2)
    with pytest.raises(ValueError, match="n_iter"):
        score(X, X, n_iter=0)
    with pytest.raises(ValueError, match="batch_size"):
        score(X, X, batch_size=0)
    with pytest.raises(ValueError, match="hidden_size"):
        score(X, X, hidden_size=0)
    with pytest.raises(ValueError, match="device"):
        score(X, X, n_iter=2, device="tpu")


def test_discriminative_specific_errors(sines):
    with pytest.raises(ValueError, match="minimum of 2"):
        discriminative_score(sines[:1], sines[:5], n_iter=2)
    for test_size in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="test_size"):
            discriminative_score(sines[:10], sines[:10], test_size=test_size)


def test_predictive_specific_errors_and_warning(sines):
    with pytest.raises(ValueError, match="at least 2 features"):
        predictive_score(sines[:10, :, :1], sines[:10, :, :1], n_iter=2)
    with pytest.raises(ValueError, match="at least 2 steps"):
        predictive_score(sines[:10, :1], sines[:10, :1], n_iter=2)
    with pytest.warns(UserWarning, match="X_synth spans .* outside \\[0, 1\\]"):
        predictive_score(sines[:10], 2 * sines[:10], n_iter=2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_request_without_cuda_is_a_clear_error(sines):
    with pytest.raises(ValueError, match="CUDA is not available"):
        discriminative_score(sines[:10], sines[:10], n_iter=2, device="cuda")
