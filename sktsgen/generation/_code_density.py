"""Fit the density that a generator samples its codes from after training."""

import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from ..nn._code_diffusion import CodeDiffusion
from ..nn._code_mixture import CodeMixture
from ..training._code_diffusion import train_code_diffusion
from ..utils._torch import torch_seed

# Ridge added to every covariance (codes have unit scale): keeps thin components invertible.
REG_COVAR = 1e-4


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
    gmm = GaussianMixture(c, covariance_type="full", reg_covar=REG_COVAR, max_iter=200,
                          random_state=random_state)
    with warnings.catch_warnings():
        # A mixture stopped by max_iter is still a usable density to sample from.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(coords)
    tril = np.linalg.cholesky(gmm.covariances_)
    mixture = CodeMixture(*map(_tensor, (pca.mean_, pca.components_, gmm.weights_, gmm.means_,
                                         tril)), seq_len=seq_len, latent_size=latent)
    mixture.explained_variance = float(pca.explained_variance_ratio_.sum())
    return mixture


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
    pca = PCA(n_components=k, random_state=random_state).fit(flat)
    return pca, pca.transform(flat)


def _tensor(a):
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)
