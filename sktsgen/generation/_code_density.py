"""Fit the density that a generator samples its codes from after training."""

import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from ..nn._code_diffusion import CodeDiffusion
from ..nn._code_mixture import ClassCodeMixture, CodeMixture, TargetCodeMixture
from ..training._code_diffusion import train_code_diffusion
from ..utils._torch import torch_seed

# PCA and the mixtures run on one BLAS/OpenMP thread: their matrices (tens of dimensions) are
# too small to share, and with another process busy a second thread made the mixture of 30
# components on 10,000 x 64 coordinates about 20 times slower (74 s against 3.3 s).
# Ridge added to every covariance (codes have unit scale): keeps thin components invertible.
REG_COVAR = 1e-4
# Weight, in windows, of the pooled within-class covariance in each class's covariances.
CLASS_PRIOR_WINDOWS = 10.0


def fit_code_mixture(codes, *, n_components, n_mixture, random_state):
    """Gaussian mixture on the principal components of flattened code sequences.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, seq_len, latent_size)
    n_components : int
        Principal components kept, at most ``n_samples - 1`` and the flattened size.
    n_mixture : int
        Mixture components, at most one per ``n_components + 1`` windows so that every
        full covariance is estimated from enough codes.
    random_state : int
        Seeds the PCA solver and the mixture's initialisation.

    Returns
    -------
    mixture : CodeMixture
        On the CPU, in float32. Its ``explained_variance`` attribute is the fraction of the
        codes' variance the kept components hold.
    """
    _, seq_len, latent = codes.shape
    pca, coords = _principal_coordinates(codes, n_components, random_state)
    c = int(max(1, min(n_mixture, len(codes) // (pca.n_components_ + 1))))
    gmm = _fit_mixture(c, coords, random_state)
    tril = np.linalg.cholesky(gmm.covariances_)
    mixture = CodeMixture(*map(_tensor, (pca.mean_, pca.components_, gmm.weights_, gmm.means_,
                                         tril)), seq_len=seq_len, latent_size=latent)
    mixture.explained_variance = float(pca.explained_variance_ratio_.sum())
    return mixture


def fit_class_code_mixture(codes, labels, *, n_classes, n_components, n_mixture, random_state,
                           prior_windows=None):
    """One Gaussian mixture per class on a shared principal basis of the flattened codes.

    A class gets ``min(n_mixture, n_c // (n_components + 1))`` components (at least one).
    Every component's covariance is shrunk towards the pooled within-class covariance, as if
    ``prior_windows`` more windows had been drawn from it: ``(S + nu W) / (n + nu)`` with
    ``S`` the component's scatter over its ``n`` (responsibility-weighted) windows. A class of
    a few windows has a singular covariance of its own; the pooled one lends it the directions
    in which windows of every class vary.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, seq_len, latent_size)
    labels : ndarray of int of shape (n_samples,)
        Class index of each code, in ``range(n_classes)``; every class has a window.
    n_classes, n_components, n_mixture : int
    random_state : int
    prior_windows : float, default=None
        None uses ``CLASS_PRIOR_WINDOWS``.

    Returns
    -------
    mixture : ClassCodeMixture
        On the CPU; ``explained_variance`` as for :func:`fit_code_mixture`.
    """
    if prior_windows is None:
        prior_windows = CLASS_PRIOR_WINDOWS
    _, seq_len, latent = codes.shape
    pca, coords = _principal_coordinates(codes, n_components, random_state)
    k = pca.n_components_
    fits = []  # per class: weights, means, scatter matrices, effective counts
    for c in range(n_classes):
        z = coords[labels == c]
        m = int(max(1, min(n_mixture, len(z) // (k + 1))))
        if m == 1:
            mu = z.mean(axis=0)
            fits.append((np.ones(1), mu[None], ((z - mu).T @ (z - mu))[None],
                         np.array([len(z)], dtype=float)))
            continue
        gmm = _fit_mixture(m, z, random_state)
        counts = gmm.weights_ * len(z)
        fits.append((gmm.weights_, gmm.means_, gmm.covariances_ * counts[:, None, None],
                     counts))
    within = sum(s.sum(axis=0) for _, _, s, _ in fits)
    dof = len(coords) - n_classes
    within = within / dof if dof > 0 else np.cov(coords.T, ddof=0).reshape(k, k)
    m_max = max(len(w) for w, *_ in fits)
    weights = np.zeros((n_classes, m_max))
    means = np.zeros((n_classes, m_max, k))
    tril = np.broadcast_to(np.eye(k), (n_classes, m_max, k, k)).copy()
    for c, (w, mu, scatter, counts) in enumerate(fits):
        cov = (scatter + prior_windows * within) / (counts + prior_windows)[:, None, None]
        weights[c, :len(w)], means[c, :len(w)] = w, mu
        tril[c, :len(w)] = np.linalg.cholesky(cov + REG_COVAR * np.eye(k))
    mixture = ClassCodeMixture(*map(_tensor, (pca.mean_, pca.components_, weights, means,
                                              tril)), seq_len=seq_len, latent_size=latent)
    mixture.explained_variance = float(pca.explained_variance_ratio_.sum())
    return mixture


def fit_target_code_mixture(codes, y, *, n_components, n_mixture, random_state):
    """Gaussian mixture of the codes' principal coordinates jointly with a continuous target.

    The target is standardised and appended to the coordinates; a full-covariance mixture of
    ``min(n_mixture, n // (n_components + 2))`` components is fitted to both, and stored in
    the form that samples codes given a target (:class:`~sktsgen.nn.TargetCodeMixture`).

    Parameters
    ----------
    codes : ndarray of shape (n_samples, seq_len, latent_size)
    y : ndarray of shape (n_samples,)
    n_components, n_mixture : int
    random_state : int

    Returns
    -------
    mixture : TargetCodeMixture
        On the CPU; ``explained_variance`` as for :func:`fit_code_mixture`.
    """
    _, seq_len, latent = codes.shape
    pca, coords = _principal_coordinates(codes, n_components, random_state)
    k = pca.n_components_
    y = np.asarray(y, dtype=np.float64)
    center, scale = float(y.mean()), float(y.std())
    scale = scale if scale > 0 else 1.0
    joint = np.column_stack([coords, (y - center) / scale])
    m = int(max(1, min(n_mixture, len(joint) // (k + 2))))
    gmm = _fit_mixture(m, joint, random_state)
    cov = gmm.covariances_
    var_y = cov[:, k, k]
    gains = cov[:, :k, k] / var_y[:, None]
    cond = cov[:, :k, :k] - gains[:, :, None] * cov[:, None, k, :k]
    tril = np.linalg.cholesky(cond + REG_COVAR * np.eye(k))
    mixture = TargetCodeMixture(
        *map(_tensor, (pca.mean_, pca.components_, gmm.weights_, gmm.means_[:, k], var_y,
                       gmm.means_[:, :k], gains, tril)),
        target_center=center, target_scale=scale, seq_len=seq_len, latent_size=latent)
    mixture.explained_variance = float(pca.explained_variance_ratio_.sum())
    return mixture


def _fit_mixture(n_mixture, data, random_state):
    """Full-covariance Gaussian mixture; one stopped by ``max_iter`` is still usable."""
    gmm = GaussianMixture(n_mixture, covariance_type="full", reg_covar=REG_COVAR, max_iter=200,
                          random_state=random_state)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gmm.fit(data)


def fit_code_diffusion(codes, *, n_components, hidden_size, n_iter, batch_size, sampling_steps,
                       generator, random_state, learning_rate=1e-3, precision="float32",
                       loss_weighting="noise", verbose=0):
    """Diffusion model on whitened principal coordinates of flattened code sequences.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, seq_len, latent_size)
    n_components : int
        Principal components kept, at most ``n_samples - 1`` and the flattened size.
    hidden_size, n_iter, batch_size, sampling_steps : int
        Width of the denoising network, its training iterations and rows per batch, and the
        DDIM steps of a draw.
    generator : torch.Generator
        On the device to train on; draws batches and noise.
    random_state : int
        Seeds the PCA solver and the network's initial weights.
    learning_rate : float, default=1e-3
    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the network's products in training (``"bfloat16"``: under
        ``torch.autocast``); drawing is always in float32.
    loss_weighting : {"noise", "velocity"}, default="noise"
        Weighting of the training loss over noise levels (see :class:`CodeDiffusion`).
    verbose : int, default=0

    Returns
    -------
    diffusion : CodeDiffusion
        On the generator's device, in eval mode; ``explained_variance`` as for
        :func:`fit_code_mixture`.
    history : dict
        Its training loss curve.
    """
    _, seq_len, latent = codes.shape
    pca, coords = _principal_coordinates(codes, n_components, random_state)
    # A floor keeps directions without variance (constant codes) finite once whitened.
    scale = np.maximum(coords.std(axis=0), 1e-6)
    with torch_seed(random_state, generator.device):  # initial weights, global RNG untouched
        diffusion = CodeDiffusion(_tensor(pca.mean_), _tensor(pca.components_), _tensor(scale),
                                  seq_len=seq_len, latent_size=latent, hidden_size=hidden_size,
                                  sampling_steps=sampling_steps,
                                  loss_weighting=loss_weighting).to(generator.device)
    history = train_code_diffusion(
        diffusion, _tensor(coords / scale).to(generator.device), n_iter=n_iter,
        batch_size=batch_size, learning_rate=learning_rate, generator=generator,
        autocast_dtype=torch.bfloat16 if precision == "bfloat16" else None, verbose=verbose)
    diffusion.explained_variance = float(pca.explained_variance_ratio_.sum())
    return diffusion, history


def _principal_coordinates(codes, n_components, random_state):
    """PCA of the flattened codes, keeping at most ``n_samples - 1`` and the flattened size
    of components; returns the fitted PCA and the codes' coordinates."""
    n = len(codes)
    flat = np.asarray(codes, dtype=np.float64).reshape(n, -1)
    k = int(max(1, min(n_components, n - 1, flat.shape[1])))
    with threadpool_limits(limits=1):
        pca = PCA(n_components=k, random_state=random_state).fit(flat)
        return pca, pca.transform(flat)


def _tensor(a):
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)
