"explainaug as a pip user gets it: sdist -> wheel, installed (not editable) into a throw-away environment, run from outside the repository."
import json, os, shutil, subprocess, sys, sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("settings.ini", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "constraints.txt")


def _clean_env(**extra):
    "The environment without explainaug's own variables, PYTHONPATH or JUPYTER_PATH: a user's shell."
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLAINAUG_") and k not in ("JUPYTER_PATH", "PYTHONPATH")}
    return {**env, **extra}


def _run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    "A venv holding only the built wheel; the dependencies come from this venv's site-packages by a .pth line (no download)."
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp/"src"
    shutil.copytree(ROOT/"explainaug", src/"explainaug", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT/"nbs"/"papers", src/"nbs"/"papers", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for f in SOURCES: shutil.copy(ROOT/f, src/f)
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp/"dist", src])   # the sdist, then the wheel from it
    wheel, = (tmp/"dist").glob("*.whl")
    sdist, = (tmp/"dist").glob("*.tar.gz")
    env = tmp/"env"
    _run([sys.executable, "-m", "venv", "--without-pip", env])
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    (site/"deps.pth").write_text(sysconfig.get_path("purelib") + "\n")   # a plain path: this venv's editable finder is not loaded
    _run([sys.executable, "-m", "pip", "--python", env/"bin"/"python", "install", "--no-deps", "--no-index", wheel])
    return dict(env=env, site=site, wheel=wheel, sdist=sdist, tmp=tmp)


def test_wheel_contents(installed):
    import zipfile
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "explainaug/papers/excon.ipynb" in names and "explainaug/papers/params/excon/smoke.yaml" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    py = installed["env"]/"bin"/"python"
    r = _run([py, "-c", "import explainaug, explainaug.train; print(explainaug.__file__)"], cwd=installed["tmp"], env=_clean_env())
    assert r.stdout.strip().startswith(str(installed["site"])), r.stdout    # the wheel's copy, not the clone
    _run([sys.executable, "-m", "pip", "--python", py, "check"])


def test_reproduce_from_outside_the_repository(installed, tmp_path):
    user, cache = tmp_path/"user", tmp_path/"cache"
    user.mkdir()
    env = _clean_env(XDG_CACHE_HOME=str(cache), OMP_NUM_THREADS="1", EXPLAINAUG_PROGRESS="0", MPLBACKEND="Agg")
    exe = installed["env"]/"bin"/"explainaug"
    r = _run([exe, "reproduce", "--list"], cwd=user, env=env)
    assert str(installed["site"]/"explainaug"/"papers") in r.stdout and "excon        notebook" in r.stdout, r.stdout
    r = _run([exe, "reproduce", "excon", "--profile", "smoke", "--out", "run"], cwd=user, env=env)
    rep = (user/"run"/"REPORT.md").read_text()
    assert "## excon" in rep and "failed" not in rep.split("Seeds:")[1].split("\n")[0], rep
    assert json.loads((user/"run"/"excon"/"seed0"/"metrics.json").read_text())["metrics"]
    assert sorted(p.name for p in user.iterdir()) == ["run"]             # nothing written beside the run folder
    assert (cache/"explainaug").is_dir()                                  # the embedded data went to the user cache
    _run([exe, "notebooks", "mine"], cwd=user, env=env)
    assert (user/"mine"/"reff.ipynb").exists() and (user/"mine"/"params"/"reff"/"cpu.yaml").exists()
