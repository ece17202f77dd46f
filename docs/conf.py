"""Sphinx configuration of the sktsgen documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``. The example gallery
(``examples/plot_*.py``) is executed during the build; ``SKTSGEN_EXAMPLES_QUICK=1`` makes every
example run at reduced sizes (what the test suite does), and ``SKTSGEN_DOCS_NO_GALLERY=1`` skips
executing them (the gallery pages are still written, without outputs).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# The examples train small torch networks: one BLAS/OpenMP thread and one torch thread are
# fastest for them, and keep the build fast on a busy machine (see the root conftest.py).
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch
from threadpoolctl import threadpool_limits

torch.set_num_threads(1)
_THREAD_LIMITS = threadpool_limits(limits=1)

import sktsgen

project = "sktsgen"
author = "the sktsgen developers"
copyright = "the sktsgen developers"
release = sktsgen.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json",
                    "auto_examples/*.md5", "auto_examples/*.codeobj.json"]

# API reference: one page per public name, generated from each sub-package's ``__all__``
# (docs/_templates/autosummary/module.rst lists exactly those names).
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
# numpydoc's default aliases point into the Python and NumPy docs through intersphinx, which
# the build does not use (it must work offline): plain names instead.
numpydoc_xref_aliases = {
    name: f":obj:`{name}`"
    for name in ("bool", "boolean", "array-like", "array_like", "scalar", "iterable",
                 "sequence", "generator", "callable")
}
numpydoc_xref_ignore = {"of", "or", "and", "shape", "default", "optional", "like", "array-like", "None", "True", "False"}

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

QUICK = os.environ.get("SKTSGEN_EXAMPLES_QUICK", "") not in ("", "0")
RUN_GALLERY = os.environ.get("SKTSGEN_DOCS_NO_GALLERY", "") in ("", "0")

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"avatar_demo\.py|__init__\.py",
    "plot_gallery": "True" if RUN_GALLERY else "False",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "reset_modules": ("matplotlib",),
    "matplotlib_animations": False,
    "write_computation_times": False,
    "copyfile_regex": "",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("sktsgen",),
    "inspect_global_variables": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"sktsgen {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
html_copy_source = False
html_static_path = []
html_last_updated_fmt = None

# The examples must not wait on the network, and nothing in the docs links out to be checked.
nitpicky = False


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated metadata-routing methods (``set_fit_request`` ...):
    their docstrings point into scikit-learn's own user guide."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
