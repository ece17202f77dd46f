"""Real vs synthetic windows in two dimensions, as the TimeGAN and AVATAR papers show them."""

import numbers

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ..utils._validation import check_n_samples, check_windows

_METHODS = ("pca", "tsne", "both")


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            'Plotting needs matplotlib, an optional dependency: pip install "sktsgen[plot]"'
        ) from exc
    return plt


def _check_axes(ax, n_panels):
    from matplotlib.axes import Axes

    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n_panels or not all(isinstance(a, Axes) for a in axes):
        raise TypeError(
            f"ax must be {'one matplotlib Axes' if n_panels == 1 else 'a sequence of 2 Axes'} "
            f"for this method, got {ax!r}."
        )
    return axes


def _subsample(X, n, rng):
    """Window averages over the feature axis for up to ``n`` random windows."""
    idx = rng.permutation(len(X))[:n]
    return X[idx].mean(axis=2, dtype=np.float64)


def _scatter(ax, real, synth, labels, colors, alpha, title, xlabel, ylabel):
    ax.scatter(real[:, 0], real[:, 1], c=colors[0], alpha=alpha, s=12,
               label=f"{labels[0]} (n={len(real)})")
    ax.scatter(synth[:, 0], synth[:, 1], c=colors[1], alpha=alpha, s=12,
               label=f"{labels[1]} (n={len(synth)})")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    legend = ax.legend(loc="best", markerscale=1.5)
    for handle in legend.legend_handles:
        handle.set_alpha(1.0)  # readable legend whatever the point alpha


def plot_embedding(X_real, X_synth, *, method="both", n_samples=1000, random_state=None,
                   ax=None, perplexity=40.0, tsne_max_iter=1000, labels=("Real", "Synthetic"),
                   colors=("tab:red", "tab:blue"), alpha=0.3):
    """Scatter real and synthetic windows in a 2-D PCA and/or t-SNE embedding.

    Follows the pictures of the TimeGAN and AVATAR papers: each window is averaged over its
    features (giving a vector of ``seq_len`` values), up to ``n_samples`` windows of each set
    are drawn at random, PCA is fitted on the real windows and applied to both, and t-SNE is
    run on the union of both. Synthetic points that cover the real ones indicate that the
    generator reproduces the data's diversity; separate clusters indicate mode collapse or
    artefacts.

    Parameters
    ----------
    X_real : array-like of shape (n_real, seq_len, n_features)
        Real windows (2-D input is read as windows of length 1 and rejected: at least two
        time steps are needed).
    X_synth : array-like of shape (n_synth, seq_len, n_features)
        Synthetic windows with the same ``seq_len`` and ``n_features``.
    method : {"both", "pca", "tsne"}, default="both"
        Which embedding(s) to draw; ``"both"`` draws PCA left and t-SNE right.
    n_samples : int, default=1000
        Maximum number of windows drawn from each set.
    random_state : int, RandomState instance or None, default=None
        Controls the subsampling and the t-SNE initialisation.
    ax : matplotlib Axes or sequence of 2 Axes, default=None
        Where to draw (two Axes for ``method="both"``). By default a new figure is created.
    perplexity : float, default=40.0
        t-SNE perplexity (the papers use 40); lowered to ``(n_points - 1) / 3`` for small
        sets so that t-SNE stays well-defined.
    tsne_max_iter : int, default=1000
        t-SNE iterations (at least 250). t-SNE on 2 x 1000 points takes tens of seconds on a
        laptop CPU; the TimeGAN code used 300 iterations.
    labels : tuple of 2 str, default=("Real", "Synthetic")
        Legend labels.
    colors : tuple of 2 colours, default=("tab:red", "tab:blue")
        Colours of the real and synthetic points.
    alpha : float, default=0.3
        Transparency of the points.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the axes.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install "sktsgen[plot]"``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktsgen.datasets import make_sines
    >>> from sktsgen.plotting import plot_embedding
    >>> real = make_sines(60, 24, 5, random_state=0)
    >>> synth = make_sines(60, 24, 5, random_state=1)
    >>> fig = plot_embedding(real, synth, method="pca", random_state=0)
    >>> [a.get_title() for a in fig.axes]
    ['PCA']
    """
    plt = _import_pyplot()
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    n_samples = check_n_samples(n_samples, name="n_samples")
    tsne_max_iter = check_n_samples(tsne_max_iter, name="tsne_max_iter")
    if tsne_max_iter < 250:
        raise ValueError(f"tsne_max_iter must be at least 250, got {tsne_max_iter}.")
    if not isinstance(perplexity, numbers.Real) or isinstance(perplexity, bool) \
            or not perplexity > 0:
        raise ValueError(f"perplexity must be a positive number, got {perplexity!r}.")
    X_real = check_windows(X_real, input_name="X_real", ensure_min_samples=2)
    X_synth = check_windows(X_synth, input_name="X_synth")
    if X_real.shape[1:] != X_synth.shape[1:]:
        raise ValueError(
            f"X_real windows have shape (seq_len, n_features)={X_real.shape[1:]} but X_synth "
            f"windows have {X_synth.shape[1:]}; they must match."
        )
    if X_real.shape[1] < 2:
        raise ValueError(
            f"X_real has seq_len={X_real.shape[1]}: a 2-D embedding of windows needs at least "
            "2 time steps."
        )
    rng = check_random_state(random_state)
    real, synth = _subsample(X_real, n_samples, rng), _subsample(X_synth, n_samples, rng)
    tsne_seed = rng.randint(np.iinfo(np.int32).max)

    panels = ["pca", "tsne"] if method == "both" else [method]
    if ax is None:
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5),
                                 squeeze=False, layout="constrained")
        axes = list(axes[0])
    else:
        axes = _check_axes(ax, len(panels))
        fig = axes[0].figure
    style = {"labels": labels, "colors": colors, "alpha": alpha}
    for panel, panel_ax in zip(panels, axes):
        if panel == "pca":
            with threadpool_limits(limits=1):
                pca = PCA(n_components=2).fit(real)
                xy_real, xy_synth = pca.transform(real), pca.transform(synth)
            ratio = 100 * pca.explained_variance_ratio_
            _scatter(panel_ax, xy_real, xy_synth, title="PCA",
                     xlabel=f"PC 1 ({ratio[0]:.0f}% of real variance)",
                     ylabel=f"PC 2 ({ratio[1]:.0f}%)", **style)
        else:
            both = np.concatenate([real, synth])
            # One BLAS/OpenMP thread: a few thousand points gain little from a second one,
            # and lose many times over when another process holds the other core.
            with threadpool_limits(limits=1):
                emb = TSNE(n_components=2, perplexity=min(perplexity, (len(both) - 1) / 3),
                           max_iter=tsne_max_iter, init="pca",
                           random_state=tsne_seed).fit_transform(both)
            _scatter(panel_ax, emb[: len(real)], emb[len(real):], title="t-SNE",
                     xlabel="t-SNE 1", ylabel="t-SNE 2", **style)
    return fig
