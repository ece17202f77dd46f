"""Cross-cutting checks of the public surface: exports, docstrings, docs, README and CI."""

import importlib
import inspect
import re
import subprocess
from pathlib import Path

import pytest
from sklearn.base import clone

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ["generation", "over_sampling", "models", "metrics", "datasets", "preprocessing",
               "utils", "plotting", "nn"]


def _public_objects():
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"sktsgen.{sub}")
        for name in module.__all__:
            yield sub, name, getattr(module, name)


PUBLIC = list(_public_objects())


def test_top_level_exports():
    import sktsgen
    from sktsgen.generation import AvatarGenerator
    from sktsgen.over_sampling import LatentAdversarialSampler

    assert sktsgen.AvatarGenerator is AvatarGenerator
    assert sktsgen.LatentAdversarialSampler is LatentAdversarialSampler
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", sktsgen.__version__)


@pytest.mark.parametrize("sub,name,obj", PUBLIC, ids=[f"{s}.{n}" for s, n, _ in PUBLIC])
def test_public_name_has_numpydoc_docstring(sub, name, obj):
    doc = inspect.getdoc(obj) if not isinstance(obj, (str, int, float)) else None
    if doc is None and not callable(obj):
        pytest.skip(f"{name} is a value, not a function or class")
    assert doc, f"sktsgen.{sub}.{name} has no docstring"
    if inspect.isclass(obj) or inspect.isfunction(obj):
        if name.startswith("Base") or not inspect.signature(obj).parameters:
            return
        assert "Parameters\n----------" in doc, f"sktsgen.{sub}.{name}: no Parameters section"


@pytest.mark.parametrize("sub,name,obj", PUBLIC, ids=[f"{s}.{n}" for s, n, _ in PUBLIC])
def test_public_name_is_in_api_reference(sub, name, obj):
    # docs/api.rst lists the sub-packages; their pages list every name of their __all__
    # (docs/_templates/module.rst), so a public name is documented once it is exported.
    api = (ROOT / "docs" / "api.rst").read_text()
    assert f"sktsgen.{sub}\n" in api, f"sktsgen.{sub} is missing from docs/api.rst"
    assert name in importlib.import_module(f"sktsgen.{sub}").__all__


ESTIMATORS = [obj for _, name, obj in PUBLIC
              if inspect.isclass(obj) and hasattr(obj, "get_params") and not name.startswith("Base")]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=[c.__name__ for c in ESTIMATORS])
def test_estimator_params_are_keyword_only_and_clone(cls):
    params = inspect.signature(cls.__init__).parameters
    positional = [p for n, p in params.items() if n != "self"
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    # WindowMinMaxScaler keeps sklearn's MinMaxScaler signature: feature_range may be positional.
    allowed = {"feature_range"}
    assert {p.name for p in positional} <= allowed, f"{cls.__name__}: positional {positional}"
    est = cls()
    assert clone(est).get_params() == est.get_params()
    assert hasattr(cls, "_parameter_constraints")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- test-command -->", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", block, re.DOTALL).group(1).strip()
    extracted = subprocess.run(["bash", ".ci/run", "--print-command"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == command
    assert "pytest" in command and "pip install" in command
