"""Cache folder and checksummed downloads shared by the ``fetch_*`` functions."""

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple

ENV_VAR = "SKTSGEN_DATA"
_CHUNK = 1 << 16


class RemoteFile(NamedTuple):
    """Where a data file comes from and what it must hash to."""

    filename: str
    url: str
    sha256: str


def get_data_home(data_home=None):
    """Return the folder where sktsgen caches downloaded data sets, creating it if needed.

    The folder is, in order of precedence: the ``data_home`` argument, the environment
    variable ``SKTSGEN_DATA``, or ``~/sktsgen_data``. A leading ``~`` is expanded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use instead of the default.

    Returns
    -------
    data_home : str
        Absolute path of the cache folder.

    Examples
    --------
    >>> import tempfile
    >>> from sktsgen.datasets import get_data_home
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     get_data_home(tmp) == str(__import__("pathlib").Path(tmp).resolve())
    True
    """
    if data_home is None:
        data_home = os.environ.get(ENV_VAR) or os.path.join("~", "sktsgen_data")
    elif not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(
            f"data_home must be a str, a path-like object or None, got "
            f"{type(data_home).__name__}."
        )
    path = Path(data_home).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def sha256_of(path):
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _where_to_get(remote, target):
    return (
        f"Download it from {remote.url} and save it as {target} (or point data_home / "
        f"the {ENV_VAR} environment variable at a folder that holds {remote.filename})."
    )


def _download(remote, target):
    """Download ``remote`` to ``target`` atomically, verifying its checksum first."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{remote.filename}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(remote.url, timeout=60) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except OSError as exc:  # URLError, timeouts and connection errors
                raise OSError(
                    f"Could not download {remote.filename} from {remote.url} ({exc}). "
                    f"Without network access, get the file elsewhere and put it at "
                    f"{target}. " + _where_to_get(remote, target)
                ) from exc
        if digest.hexdigest() != remote.sha256:
            raise OSError(
                f"The file downloaded from {remote.url} has SHA-256 {digest.hexdigest()}, "
                f"expected {remote.sha256}; it was not saved. " + _where_to_get(remote, target)
            )
        # Same-folder rename: a reader sees either no file or the complete, verified one.
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch_file(remote, *, data_home=None, download_if_missing=True):
    """Path of a verified local copy of ``remote``, downloading it when allowed.

    Raises
    ------
    OSError
        When the file is missing and cannot (or may not) be downloaded, or when the cached or
        downloaded copy does not match its SHA-256 checksum. The message names the exact
        path where the file is expected and the URL it comes from.
    """
    target = Path(get_data_home(data_home)) / remote.filename
    if not target.exists():
        if not download_if_missing:
            raise OSError(
                f"{remote.filename} is not in the data folder ({target} does not exist) and "
                "download_if_missing=False. " + _where_to_get(remote, target)
            )
        _download(remote, target)
    found = sha256_of(target)
    if found != remote.sha256:
        raise OSError(
            f"{target} has SHA-256 {found}, expected {remote.sha256}: the file is corrupt or "
            "not the expected one. Delete it to download it again, or replace it. "
            + _where_to_get(remote, target)
        )
    return target
