"""Small tensor functions shared by the modules."""


def batch_variance(x):
    """Biased variance over the batch axis (dim 0), as ``x.var(0, unbiased=False)``.

    Two passes (mean, then mean square deviation): torch's CPU ``var`` over a leading axis
    takes a strided path that was about 12x slower on a 128 x 24 x 24 batch (0.47 ms
    against 0.04 ms), and AVATAR's distribution loss needs two per autoencoder step.
    """
    return (x - x.mean(0)).square().mean(0)
