"""Checks shared by the code densities, which all live on a principal basis of flattened codes."""


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
