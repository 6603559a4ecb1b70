"Repository-level checks: the library is in sync with its notebooks, notebooks are clean, pins agree, README is generated."
import re, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _pins(text):
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", text, re.M)}


def test_environment_yml_mirrors_constraints():
    env, lock = _pins((ROOT/"environment.yml").read_text()), _pins((ROOT/"constraints.txt").read_text())
    assert {"torch", "torchvision", "nbdev", "execnb", "fastcore"} <= set(env)
    assert env["torch"] == "2.14.1" and env["torchvision"] == "0.29.1"
    assert {k: v for k, v in env.items() if lock.get(k) != v} == {}


def test_settings_declares_requirements():
    s = (ROOT/"settings.ini").read_text()
    for req in ("torch>=", "torchvision>=", "captum", "papermill", "matplotlib", "ipywidgets", "scikit-learn"):
        assert req in s
    assert "nbdev==2.4.14" in s and "execnb==0.1.18" in s and "fastcore==1.12.47" in s
    assert re.search(r"^tst_flags = slow gpu$", s, re.M)
    assert "explainaug=explainaug.reproduce:main" in s


@pytest.fixture()
def copy(tmp_path):
    for p in ("nbs", "explainaug"): shutil.copytree(ROOT/p, tmp_path/p, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for p in ("settings.ini", "setup.py", "README.md"): shutil.copy(ROOT/p, tmp_path/p)
    return tmp_path


def _snapshot(folder, pattern):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob(pattern)) if "__pycache__" not in p.parts}


def test_export_changes_nothing(copy):
    before = _snapshot(copy/"explainaug", "*.py")
    subprocess.run([BIN/"nbdev_export"], cwd=copy, check=True, capture_output=True)
    after = _snapshot(copy/"explainaug", "*.py")
    assert [str(k) for k in set(before) ^ set(after)] == []
    assert [str(k) for k in before if before[k] != after[k]] == [], "run nbdev_export and commit explainaug/"


def test_notebooks_are_clean(copy):
    before = _snapshot(copy/"nbs", "*.ipynb")
    subprocess.run([BIN/"nbdev_clean"], cwd=copy, check=True, capture_output=True)
    after = _snapshot(copy/"nbs", "*.ipynb")
    assert [str(k) for k in before if before[k] != after[k]] == [], "run nbdev_clean and commit nbs/"


def test_readme_is_generated_from_index(copy):
    subprocess.run([BIN/"jupyter", "nbconvert", "--to", "markdown", "nbs/index.ipynb", "--output-dir", "gen", "--output", "README"],
                   cwd=copy, check=True, capture_output=True)
    assert (copy/"gen"/"README.md").read_text() == (ROOT/"README.md").read_text(), "run `make export` (regenerates README.md)"
    readme = (ROOT/"README.md").read_text()
    assert "make reproduce" in readme and "make test" in readme


def test_console_script():
    r = subprocess.run([BIN/"explainaug", "reproduce", "--list"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "excon" in r.stdout
    r = subprocess.run([BIN/"explainaug", "reproduce", "nope", "--profile", "cpu"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "valid papers" in r.stderr
