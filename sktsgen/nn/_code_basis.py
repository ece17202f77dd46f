"""Checks and the last map shared by the code densities, which all live on a principal basis
of flattened codes."""

import torch


def check_code_basis(mean, components, seq_len, latent_size):
    """``mean`` and the rows of ``components`` must span ``seq_len * latent_size`` values."""
    if mean.shape != (seq_len * latent_size,) or components.shape[1] != mean.shape[0]:
        raise ValueError(
            f"mean and components must span seq_len * latent_size = "
            f"{seq_len * latent_size} values, got shapes {tuple(mean.shape)} and "
            f"{tuple(components.shape)}."
        )


def check_code_length(seq_len, fitted, what):
    """A draw's ``seq_len`` (None: any) must equal the fitted length."""
    if seq_len is not None and int(seq_len) != fitted:
        raise ValueError(f"this {what} models codes of {fitted} steps, not {seq_len}.")


def codes_from_coords(mean, coords, components, seq_len, latent_size):
    """Code sequences ``(n, seq_len, latent_size)`` from principal coordinates ``(n, k)``:
    ``mean + coords @ components``.

    The product is computed transposed, so the result is a view of step-major
    ``(seq_len, latent_size, n)`` memory: the layout in which the decoder reads its input
    (see :func:`sktsgen.nn._fast_gru.with_ones_row`), whose copy from batch-major codes was a
    strided transpose that cost as much as a GRU layer's step.
    """
    n = coords.shape[0]
    flat = torch.addmm(mean[:, None], components.t(), coords.t())
    return flat.view(seq_len, latent_size, n).permute(2, 0, 1)
