"""Write a benchmark's results into its own marked section of docs/benchmarks.md."""

import os
import platform
import re
import shlex
import sys
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEvery section below is written by the script named in it; re-run the command to refresh it.\n"


def machine_line():
    """One line describing where the figures were measured."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"Measured on {platform.machine()} with {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}, 1-min load average at the end {load:.1f}.")


def write_section(name, markdown, doc=DOC):
    """Replace (or append) the section between ``<!-- BEGIN name -->`` and ``<!-- END name -->``."""
    doc = Path(doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = doc.read_text() if doc.exists() else HEADER
    block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)
    print(f"wrote section {name!r} of {doc}", file=sys.stderr)


def command_line(drop=("--note",)):
    """The command that produced the figures, for the docs, quoted so that it can be pasted
    into a shell (a method name with a space, a JSON argument). Options in ``drop`` and their
    values are left out: a ``--note`` is printed beside the table, not repeated in it."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg in drop:
            skip = True
        elif not any(arg.startswith(f"{d}=") for d in drop):
            args.append(arg)
    return "python " + shlex.join([os.path.relpath(sys.argv[0], DOC.parents[1]), *args])
