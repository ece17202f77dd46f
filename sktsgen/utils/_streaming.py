"""Output arrays filled in place: validation of an ``out=`` argument, and memory-mapped outputs
whose written pages are handed back to the operating system block by block."""

import mmap

import numpy as np

# Windows written to a memory-mapped output between two releases of its pages, in chunks of
# the generator's chunk size: large enough that one release call per block costs nothing.
CHUNKS_PER_BLOCK = 64


def check_out(out, shape, dtype, *, name="out"):
    """Validate a preallocated output: a writeable ndarray (or ``numpy.memmap``) of this
    shape and dtype.

    Parameters
    ----------
    out : object
        The array given by the caller.
    shape : tuple of int
        Required shape.
    dtype : numpy.dtype
        Required dtype (no cast: a silently narrowed copy would not be what was asked for).
    name : str, default="out"
        Name used in error messages.

    Returns
    -------
    out : ndarray
        ``out`` itself.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray or numpy.memmap, got {type(out).__name__}.")
    shape = tuple(shape)
    if out.shape != shape:
        raise ValueError(
            f"{name} has shape {out.shape}, but {shape} (n_samples, seq_len, n_features) is "
            f"needed; pass n_samples=len({name}) and a window shape as seen at fit.")
    if out.dtype != np.dtype(dtype):
        raise TypeError(
            f"{name} has dtype {out.dtype}, but the windows are {np.dtype(dtype)} (the dtype "
            f"of the windows seen at fit); allocate {name} with dtype={np.dtype(dtype)}.")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only (e.g. a memmap opened with mode='r').")
    return out


def is_shared_memmap(out):
    """Whether ``out`` is a view of a file mapped with ``mode="r+"`` or ``"w+"``: its written
    pages live in the file, so they can leave the process's resident memory."""
    return (isinstance(out, np.memmap) and getattr(out, "_mmap", None) is not None
            and getattr(out, "mode", None) in ("r+", "w+"))


def release_pages(out, start, stop):
    """Drop the pages holding ``out[start:stop]`` from the process's resident memory, when
    ``out`` is a C-contiguous view of a shared file mapping (else do nothing).

    The data stay in the file (the kernel writes dirty pages back; reading them again maps
    them back in), so writing many windows into a memory-mapped file keeps the resident set
    bounded by a block instead of growing to the file's size. Pages only partly inside the
    rows stay mapped. A private (``mode="c"``) mapping is never touched: there, dropping the
    pages would discard the writes.
    """
    if (stop <= start or not is_shared_memmap(out) or not out.flags.c_contiguous
            or not hasattr(mmap, "MADV_DONTNEED")):
        return
    mm = out._mmap
    if not hasattr(mm, "madvise"):
        return
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    row = out.itemsize * int(np.prod(out.shape[1:]))  # strides of a length-1 axis are free
    first = out.ctypes.data + start * row - base
    last = out.ctypes.data + stop * row - base
    page = mmap.PAGESIZE
    first = -(-first // page) * page
    last = last // page * page
    if last > first:
        mm.madvise(mmap.MADV_DONTNEED, first, last - first)
