"""A Gaussian mixture over principal components of code sequences, as a torch module.

Generative autoencoders sample better from a density fitted to the codes of the training data
after training ("ex-post density estimation", Ghosh et al., 2020, "From Variational to
Deterministic Autoencoders") than from the prior the codes were pushed towards. The codes of a
window are flattened to one vector; a PCA basis keeps their main directions and a Gaussian
mixture with full covariances models the coordinates. The module only stores the fitted
parameters and samples on its device from a private generator; fitting lives with the
estimator.
"""

import torch
from torch import nn

from ._code_basis import check_code_basis, check_code_length, codes_from_coords


class _CodeBasisModule(nn.Module):
    """Stores a density's tensors as float32 buffers (they follow ``.to(device)`` and the
    state dict) beside the code sequences' shape."""

    def _store(self, seq_len, latent_size, **tensors):
        self.seq_len, self.latent_size = int(seq_len), int(latent_size)
        for name, value in tensors.items():
            self.register_buffer(name, value.detach().clone().float())

    @property
    def n_components(self):
        """Principal components kept."""
        return self.components.shape[0]


class CodeMixture(_CodeBasisModule):
    """Draws code sequences ``(n, seq_len, latent_size)`` from a fitted Gaussian mixture.

    A draw picks a component by weight, draws its principal coordinates
    ``means[k] + scale_tril[k] @ e`` with ``e ~ N(0, I)``, and maps them back to a flattened
    code sequence ``mean + coords @ components``.

    Parameters
    ----------
    mean : Tensor of shape (seq_len * latent_size,)
        Mean of the flattened codes.
    components : Tensor of shape (n_components, seq_len * latent_size)
        Orthonormal principal directions (rows).
    weights : Tensor of shape (n_mixture,)
        Mixture weights (summing to one).
    means : Tensor of shape (n_mixture, n_components)
        Component means in principal coordinates.
    scale_tril : Tensor of shape (n_mixture, n_components, n_components)
        Lower Cholesky factors of the component covariances.
    seq_len, latent_size : int

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn import CodeMixture
    >>> d, k = 3 * 2, 2
    >>> mix = CodeMixture(torch.zeros(d), torch.eye(k, d), torch.tensor([0.5, 0.5]),
    ...                   torch.tensor([[-5.0, 0.0], [5.0, 0.0]]),
    ...                   torch.eye(k).expand(2, k, k), seq_len=3, latent_size=2)
    >>> mix.sample(4, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 2])
    """

    def __init__(self, mean, components, weights, means, scale_tril, seq_len, latent_size):
        super().__init__()
        k = components.shape[0]
        check_code_basis(mean, components, seq_len, latent_size)
        if means.shape != (weights.shape[0], k) or scale_tril.shape != (weights.shape[0], k, k):
            raise ValueError(
                f"means and scale_tril must have shapes ({weights.shape[0]}, {k}) and "
                f"({weights.shape[0]}, {k}, {k}), got {tuple(means.shape)} and "
                f"{tuple(scale_tril.shape)}."
            )
        self._store(seq_len, latent_size, mean=mean, components=components, weights=weights,
                    means=means, scale_tril=scale_tril)

    def sample(self, n, seq_len=None, generator=None):
        """Draw ``n`` code sequences on the module's device.

        ``seq_len`` is accepted for the interface of :class:`~sktsgen.nn._avatar.Prior` and
        must equal the fitted length. The result, of shape ``(n, seq_len, latent_size)``, is a
        view of step-major memory (flatten it with ``reshape``, not ``view``).
        """
        check_code_length(seq_len, self.seq_len, "mixture")
        dev = self.mean.device
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        e = torch.randn(n, self.n_components, generator=generator, device=dev)
        coords = _gaussian_coords(k, self.means, self.scale_tril, e)
        return codes_from_coords(self.mean, coords, self.components, self.seq_len,
                                 self.latent_size)




def _draw_components(log_weights, generator):
    """One component index per row of ``log_weights`` (unnormalised log-probabilities)."""
    return torch.multinomial(torch.softmax(log_weights, dim=1), 1, generator=generator)[:, 0]


def _gaussian_coords(components, means, scale_tril, e):
    """``means[k] + scale_tril[k] @ e`` per row, ``components`` giving each row's ``k``.

    One matmul per component over its rows: gathering a Cholesky factor per draw would copy
    ``n * n_coords**2`` values (33 MB per 2048 draws of 64 components).
    """
    coords = torch.empty_like(e)
    for j in torch.unique(components).tolist():
        rows = (components == j).nonzero().squeeze(1)
        coords[rows] = torch.addmm(means[j], e[rows], scale_tril[j].t())
    return coords


class ClassCodeMixture(_CodeBasisModule):
    """Draws code sequences of given classes from one Gaussian mixture per class.

    All classes share one principal basis of the flattened codes; class ``c`` has mixture
    weights ``weights[c]`` (zero for the padding components of classes with fewer
    components), means and lower Cholesky factors. A draw for class ``c`` picks a component by
    ``weights[c]`` and maps ``means[c, k] + scale_tril[c, k] @ e`` back to a code sequence.

    Parameters
    ----------
    mean : Tensor of shape (seq_len * latent_size,)
    components : Tensor of shape (n_components, seq_len * latent_size)
        Orthonormal principal directions (rows).
    weights : Tensor of shape (n_classes, n_mixture)
        Per-class mixture weights, each row summing to one.
    means : Tensor of shape (n_classes, n_mixture, n_components)
    scale_tril : Tensor of shape (n_classes, n_mixture, n_components, n_components)
    seq_len, latent_size : int

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn import ClassCodeMixture
    >>> mix = ClassCodeMixture(torch.zeros(2), torch.eye(1, 2), torch.ones(2, 1),
    ...                        torch.tensor([[[-5.0]], [[5.0]]]), torch.ones(2, 1, 1, 1),
    ...                        seq_len=1, latent_size=2)
    >>> z = mix.sample(4, condition=torch.tensor([0, 0, 1, 1]),
    ...                generator=torch.Generator().manual_seed(0))
    >>> (z[:, 0, 0] > 0).tolist()
    [False, False, True, True]
    """

    def __init__(self, mean, components, weights, means, scale_tril, seq_len, latent_size):
        super().__init__()
        c, m = weights.shape
        k = components.shape[0]
        check_code_basis(mean, components, seq_len, latent_size)
        if means.shape != (c, m, k) or scale_tril.shape != (c, m, k, k):
            raise ValueError(
                f"means and scale_tril must have shapes ({c}, {m}, {k}) and ({c}, {m}, {k}, "
                f"{k}), got {tuple(means.shape)} and {tuple(scale_tril.shape)}."
            )
        self._store(seq_len, latent_size, mean=mean, components=components, weights=weights,
                    means=means, scale_tril=scale_tril)

    def sample(self, n, seq_len=None, generator=None, *, condition):
        """Draw ``n`` code sequences, row ``i`` of class index ``condition[i]`` (a view of
        step-major memory, as from :meth:`CodeMixture.sample`)."""
        check_code_length(seq_len, self.seq_len, "mixture")
        condition = torch.as_tensor(condition, device=self.mean.device).long()
        if condition.shape != (n,):
            raise ValueError(f"condition must hold {n} class indices, got shape "
                             f"{tuple(condition.shape)}.")
        n_mixture = self.weights.shape[1]
        comp = torch.multinomial(self.weights[condition], 1, generator=generator)[:, 0]
        e = torch.randn(n, self.n_components, generator=generator, device=self.mean.device)
        flat = condition * n_mixture + comp
        coords = _gaussian_coords(flat, self.means.flatten(0, 1),
                                  self.scale_tril.flatten(0, 1), e)
        return codes_from_coords(self.mean, coords, self.components, self.seq_len,
                                 self.latent_size)


class TargetCodeMixture(_CodeBasisModule):
    """Draws code sequences given a continuous target from a joint mixture of codes and target.

    The mixture models the principal coordinates of the flattened codes together with the
    standardised target. A draw for target ``y`` uses the mixture conditioned on it, which is
    again a Gaussian mixture: component ``k`` has weight proportional to
    ``weights[k] * N(y; mu_y[k], var_y[k])`` and the Gaussian
    ``N(mu_c[k] + gain[k] (y - mu_y[k]), L[k] L[k]^T)`` over the coordinates.

    Parameters
    ----------
    mean : Tensor of shape (seq_len * latent_size,)
    components : Tensor of shape (n_components, seq_len * latent_size)
    weights : Tensor of shape (n_mixture,)
    target_means, target_vars : Tensor of shape (n_mixture,)
        Per component, mean and variance of the standardised target.
    means, gains : Tensor of shape (n_mixture, n_components)
        Per component, the coordinates' mean and their regression on the target.
    scale_tril : Tensor of shape (n_mixture, n_components, n_components)
        Lower Cholesky factors of the coordinates' covariances given the target.
    target_center, target_scale : float
        Standardisation of the target: ``(y - target_center) / target_scale``.
    seq_len, latent_size : int
    """

    def __init__(self, mean, components, weights, target_means, target_vars, means, gains,
                 scale_tril, target_center, target_scale, seq_len, latent_size):
        super().__init__()
        m, k = weights.shape[0], components.shape[0]
        check_code_basis(mean, components, seq_len, latent_size)
        shapes = {"target_means": (target_means, (m,)), "target_vars": (target_vars, (m,)),
                  "means": (means, (m, k)), "gains": (gains, (m, k)),
                  "scale_tril": (scale_tril, (m, k, k))}
        for name, (value, shape) in shapes.items():
            if tuple(value.shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}.")
        self.target_center, self.target_scale = float(target_center), float(target_scale)
        self._store(seq_len, latent_size, mean=mean, components=components, weights=weights,
                    target_means=target_means, target_vars=target_vars, means=means,
                    gains=gains, scale_tril=scale_tril)

    def sample(self, n, seq_len=None, generator=None, *, condition):
        """Draw ``n`` code sequences, row ``i`` given the target ``condition[i]`` (a view of
        step-major memory, as from :meth:`CodeMixture.sample`)."""
        check_code_length(seq_len, self.seq_len, "mixture")
        dev = self.mean.device
        y = torch.as_tensor(condition, device=dev, dtype=torch.float32)
        if y.shape != (n,):
            raise ValueError(f"condition must hold {n} targets, got shape {tuple(y.shape)}.")
        y = (y - self.target_center) / self.target_scale
        dev_y = y[:, None] - self.target_means  # (n, n_mixture)
        log_w = (torch.log(self.weights) - 0.5 * torch.log(self.target_vars)
                 - 0.5 * dev_y.square() / self.target_vars)
        comp = _draw_components(log_w, generator)
        e = torch.randn(n, self.n_components, generator=generator, device=dev)
        means = self.means[comp] + self.gains[comp] * dev_y.gather(1, comp[:, None])
        coords = torch.empty_like(e)
        for j in torch.unique(comp).tolist():
            rows = (comp == j).nonzero().squeeze(1)
            coords[rows] = means[rows] + e[rows] @ self.scale_tril[j].t()
        return codes_from_coords(self.mean, coords, self.components, self.seq_len,
                                 self.latent_size)


__all__ = ["ClassCodeMixture", "CodeMixture", "TargetCodeMixture"]
