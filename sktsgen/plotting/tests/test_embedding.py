import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sktsgen.datasets import make_sines
from sktsgen.plotting import plot_embedding

REAL = make_sines(40, 12, 3, random_state=0)
SYNTH = make_sines(25, 12, 3, random_state=1)
FAST = {"tsne_max_iter": 250, "random_state": 0}


@pytest.fixture(autouse=True)
def _close_figures():
    # One OpenMP thread: t-SNE's threads spin badly on a busy shared CPU.
    with threadpool_limits(limits=1):
        yield
    plt.close("all")


def _points(ax):
    return [c.get_offsets().shape[0] for c in ax.collections]


def test_both_panels_counts_and_titles():
    fig = plot_embedding(REAL, SYNTH, n_samples=30, **FAST)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert [a.get_title() for a in fig.axes] == ["PCA", "t-SNE"]
    for ax in fig.axes:
        assert _points(ax) == [30, 25]  # real subsampled to 30, all 25 synthetic
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert texts == ["Real (n=30)", "Synthetic (n=25)"]
        colors = [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]
        assert colors == [matplotlib.colors.to_rgb("tab:red"),
                          matplotlib.colors.to_rgb("tab:blue")]


def test_pca_projects_window_means_fitted_on_real():
    from sklearn.decomposition import PCA

    fig = plot_embedding(REAL, SYNTH, method="pca", n_samples=1000, random_state=0)
    (ax,) = fig.axes
    pca = PCA(n_components=2).fit(REAL.mean(axis=2))
    real_pts, synth_pts = (c.get_offsets() for c in ax.collections)
    # Subsampling permutes the windows; compare as sets of rows.
    def rows(a):
        return np.sort(np.round(np.asarray(a), 8), axis=0)
    np.testing.assert_allclose(rows(real_pts), rows(pca.transform(REAL.mean(axis=2))))
    np.testing.assert_allclose(rows(synth_pts), rows(pca.transform(SYNTH.mean(axis=2))))


def test_given_axes_and_reproducible():
    fig, axes = plt.subplots(1, 3)
    out = plot_embedding(REAL, SYNTH, ax=axes[1:], n_samples=20, **FAST)
    assert out is fig and not axes[0].collections
    assert _points(axes[2]) == [20, 20]
    again = plot_embedding(REAL, SYNTH, method="tsne", n_samples=20, **FAST)
    np.testing.assert_allclose(again.axes[0].collections[0].get_offsets(),
                               axes[2].collections[0].get_offsets())
    fig1, ax1 = plt.subplots()
    assert plot_embedding(REAL, SYNTH, method="tsne", ax=ax1, **FAST) is fig1


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"method": "umap"}, ValueError, "method"),
    ({"n_samples": 0}, ValueError, "n_samples"),
    ({"n_samples": 2.5}, TypeError, "n_samples"),
    ({"perplexity": 0}, ValueError, "perplexity"),
    ({"tsne_max_iter": 100}, ValueError, "tsne_max_iter"),
    ({"ax": "left"}, TypeError, "ax"),
])
def test_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        plot_embedding(REAL, SYNTH, **kwargs)


def test_wrong_number_of_axes():
    _, ax = plt.subplots()
    with pytest.raises(TypeError, match="2 Axes"):
        plot_embedding(REAL, SYNTH, ax=ax)


@pytest.mark.parametrize("real, synth, pattern", [
    (REAL, SYNTH[:, :, :2], "must match"),
    (REAL, SYNTH[:, :6], "must match"),
    (REAL[:, 0], SYNTH[:, 0], "seq_len=1"),
    (np.full_like(REAL, np.nan), SYNTH, "X_real contains NaN"),
    (REAL, np.full_like(SYNTH, np.inf), "X_synth contains infinity"),
])
def test_bad_windows(real, synth, pattern):
    with pytest.raises(ValueError, match=pattern):
        plot_embedding(real, synth, method="pca")


def test_missing_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "sktsgen\[plot\]"'):
        plot_embedding(REAL, SYNTH)


def test_png_written(tmp_path):
    fig = plot_embedding(REAL, SYNTH, n_samples=40, **FAST)
    fig.savefig(tmp_path / "embedding.png")
    assert (tmp_path / "embedding.png").stat().st_size > 10_000
