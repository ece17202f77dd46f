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

from ._code_basis import check_code_basis, check_code_length


class CodeMixture(nn.Module):
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
        self.seq_len, self.latent_size = int(seq_len), int(latent_size)
        for name, value in (("mean", mean), ("components", components), ("weights", weights),
                            ("means", means), ("scale_tril", scale_tril)):
            self.register_buffer(name, value.detach().clone().float())

    @property
    def n_components(self):
        """Principal components kept."""
        return self.components.shape[0]

    def sample(self, n, seq_len=None, generator=None):
        """Draw ``n`` code sequences on the module's device.

        ``seq_len`` is accepted for the interface of :class:`~sktsgen.nn._avatar.Prior` and
        must equal the fitted length.
        """
        check_code_length(seq_len, self.seq_len, "mixture")
        dev = self.mean.device
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        e = torch.randn(n, self.n_components, generator=generator, device=dev)
        # One matmul per component over its rows: gathering a Cholesky factor per draw
        # would copy n * n_components**2 values (33 MB per 2048 draws of 64 components).
        coords = torch.empty_like(e)
        for j in range(self.weights.shape[0]):
            rows = (k == j).nonzero().squeeze(1)
            coords[rows] = torch.addmm(self.means[j], e[rows], self.scale_tril[j].t())
        return torch.addmm(self.mean, coords, self.components).view(
            n, self.seq_len, self.latent_size)


__all__ = ["CodeMixture"]
