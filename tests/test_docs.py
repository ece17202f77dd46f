"""The documentation: every ``python`` code block of the user guide runs, and the Sphinx site
builds without a warning, with the example gallery executed, and without a broken internal link.

Code blocks run at small sizes: while they run, the estimators' iteration counts are capped
(``_CAPS``: a fit with ``n_iter=2000`` trains for a few iterations) and the metrics' default
iteration counts are lowered, so a block checks that the documented calls work, not their
results. The blocks of one page run in order in one namespace, like a doctest, in a temporary
working directory; pages that read the benchmark files (``fetch_*``, ``load_ts``) get copies of
``../shared/data`` and are skipped without it.

The site is built once per session with ``SKTSGEN_EXAMPLES_QUICK=1`` (every example at reduced
sizes) into a temporary folder; ``-m "not slow"`` leaves it out.
"""

import functools
import html.parser
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import _posthoc
from sktsgen.models import GRUClassifier, GRURegressor
from sktsgen.over_sampling import LatentAdversarialSampler

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _pages_with_code():
    return sorted(p for p in DOCS.rglob("*.md")
                  if "_build" not in p.parts and _BLOCK.search(p.read_text()))


# Iteration counts while the code blocks run: "auto" or a larger value becomes the cap.
_CAPS = {
    AvatarGenerator: {"n_iter": 5, "score_n_iter": 20, "code_mixture_components": 3,
                      "diffusion_n_iter": 5},
    LatentAdversarialSampler: {"n_iter": 5, "predictor_n_iter": 5},
    GRURegressor: {"max_iter": 2},
    GRUClassifier: {"max_iter": 2},
}


def _capped(estimator):
    caps = _CAPS.get(type(estimator), {})
    params = estimator.get_params(deep=False)
    new = {k: cap for k, cap in caps.items()
           if k in params and (not isinstance(params[k], int) or params[k] > cap)}
    if new:
        estimator.set_params(**new)
    augmenter = params.get("augmenter")
    if augmenter is not None:
        _capped(augmenter)
    return estimator


def _capping(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        _capped(self)
        return method(self, *args, **kwargs)
    return wrapper


@pytest.fixture
def small_sizes(monkeypatch):
    for cls in _CAPS:
        monkeypatch.setattr(cls, "fit", _capping(cls.fit))
    monkeypatch.setattr(LatentAdversarialSampler, "fit_resample",
                        _capping(LatentAdversarialSampler.fit_resample))
    for func in (_posthoc.discriminative_score, _posthoc.predictive_score):
        monkeypatch.setitem(inspect.unwrap(func).__kwdefaults__, "n_iter", 20)


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: str(p.relative_to(DOCS)))
def test_user_guide_code_blocks_run(page, small_sizes, tmp_path, monkeypatch):
    text = page.read_text()
    if re.search(r"\bfetch_(stocks|energy)\(|\bload_ts\(", text):
        data = ROOT.parent / "shared" / "data"
        if not (data / "stock_data.csv").is_file():
            pytest.skip("the page reads the benchmark files and ../shared/data is absent")
        for csv in data.glob("*.csv"):
            shutil.copyfile(csv, tmp_path / csv.name)
        for ts in (data / "ucr").glob("*.ts"):
            shutil.copyfile(ts, tmp_path / ts.name)
        monkeypatch.setenv("SKTSGEN_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, match in enumerate(_BLOCK.finditer(text)):
        code = compile(match.group(1), f"{page.relative_to(ROOT)} (python block {i + 1})",
                       "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own code


def test_examples_read_the_quick_switch():
    """Every gallery example honours SKTSGEN_EXAMPLES_QUICK or is cheap; none imports a
    private module of sktsgen."""
    examples = sorted(EXAMPLES.glob("plot_*.py"))
    assert len(examples) >= 8
    for path in examples:
        source = path.read_text()
        assert not re.search(r"sktsgen(\.\w+)*\._", source), f"{path.name}: private import"
        assert source.lstrip().startswith('"""'), f"{path.name}: no gallery docstring"


# --- the Sphinx site -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_parser")
    pytest.importorskip("pydata_sphinx_theme")
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "SKTSGEN_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("SKTSGEN_DOCS_NO_GALLERY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return proc, out / "html"


@pytest.mark.slow
def test_sphinx_build_has_no_warning(built_site):
    proc, _ = built_site
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert "WARNING" not in log and "ERROR" not in log, log[-6000:]


@pytest.mark.slow
def test_gallery_was_executed(built_site):
    proc, html_dir = built_site
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    for path in sorted(EXAMPLES.glob("plot_*.py")):
        images = list((html_dir / "_images").glob(f"sphx_glr_{path.stem}_*.png"))
        assert images, f"{path.name} produced no figure"


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and key == "href"
                                       and attrs.get("rel") == "preload"):
                self.links.append(attrs[key])


@pytest.mark.slow
def test_internal_links_resolve(built_site):
    proc, html_dir = built_site
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    pages = {}
    for page in html_dir.rglob("*.html"):
        if "_static" in page.relative_to(html_dir).parts:  # theme templates, not pages
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html_dir)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(html_dir)}: {link} (no such anchor)")
    assert not broken, "\n".join(sorted(set(broken))[:50])
