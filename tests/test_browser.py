"""The explorers in a real browser: JupyterLab from this venv on 127.0.0.1, headless system Chromium driven by
Playwright. A notebook builds a cpu-profile-sized model and both explorers; the test runs it, moves every control,
clicks a t-SNE point, deselects every class, and asserts on what the page shows (the canvas pixels, the summary
line, the error line), timing each redraw. Then it checks that saved notebooks show the explorers' last figures:
one saved from JupyterLab (widget state saved) and one executed by papermill, each reopened with a fresh kernel, the
saved one opened with no kernel at all, and the HTML page of the executed one.
Skipped with one line when no Chromium (or Playwright) is found; every process it starts is stopped by its pid."""
import http.client, json, os, secrets, shutil, signal, socket, statistics, subprocess, sys, textwrap, time, urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = os.environ.get("EXPLAINAUG_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
HOW = "install Chromium (apt-get install -y chromium) or set EXPLAINAUG_CHROMIUM to a Chrome binary"
if CHROMIUM is None:
    pytest.skip(f"browser test skipped: no Chromium found; {HOW}", allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    pytest.skip("browser test skipped: playwright is not installed; pip install playwright (the dev extra has it)",
                allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
BIN = Path(sys.executable).parent

SETUP = '''
import json, os, sys
import numpy as np
from explainaug.core import seed_everything
from explainaug.data import get_dataset, channel_stats
from explainaug.models import resnet18, Classifier, linear_classifier
from explainaug.methods.supcon import Normalized
from explainaug.widgets import SaliencyExplorer, EmbeddingExplorer
ds = get_dataset("glyphs", "test", n=80, classes="pretrain", image_size=24)   # the excon cpu profile's images and encoder
mean, std = channel_stats(ds)
seed_everything(0)
enc = Normalized(resnet18(0, width=16), mean, std)
model = Classifier(enc, linear_classifier(enc.feat_dim, ds.num_classes)).eval()
sx = SaliencyExplorer(model, ds, layer="layer2.1.conv2", fill_value=mean.tolist())
ee = EmbeddingExplorer(model, ds, classes=[0, 1, 2, 3, 4], n_per_class=8, layer="layer2.1.conv2", fill_value=mean.tolist())
'''
SHOW = '''
display(sx)
display(ee)
'''
TARGET = '''
P = ee._points(ee._values["classes"]); xy = ee._display_xy(); n = len(P["index"])
d = np.hypot(*(xy[:n, None] - xy[None]).transpose(2, 0, 1)); d[np.arange(n), np.arange(n)] = np.inf
k = int(np.argmax(np.where(np.arange(n) == ee.state["point"], -1, d.min(1))))   # the dot farthest from any other
print("TARGET " + json.dumps(dict(k=k, pos=ee.point_position(k), index=int(P["index"][k]), label=ee._name(int(P["labels"][k])),
                                  names=[ee._name(c) for c in sorted(ee._values["classes"])],
                                  kernel=os.getpid(), python=sys.executable)))
'''


def _notebook(path: Path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(name="python3", display_name="Python 3 (explainaug)", language="python")
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(s).strip()) for s in (SETUP, SHOW, TARGET)]
    nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try: os.kill(pid, 0)
    except ProcessLookupError: return False
    except PermissionError: return True
    try:                                                                 # a zombie of ours is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError: return False


def _stop(pid: int, wait: float = 10):
    "SIGTERM `pid`, then SIGKILL it if it is still there after `wait` seconds."
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try: os.kill(pid, sig)
        except ProcessLookupError: return
        t = time.time()
        while time.time() - t < wait:
            if not _alive(pid): return
            time.sleep(0.1)


def _start_lab(root: Path, home: Path, tries: int = 3) -> "Lab":
    "A running JupyterLab; a new free port if another process took the first one before the server bound it."
    for i in range(tries):
        lab = Lab(root, home)
        try: lab.wait(); return lab
        except (RuntimeError, TimeoutError):
            lab.stop()
            if i == tries - 1: raise


class Lab:
    "JupyterLab from this venv on 127.0.0.1 with a token, in an isolated Jupyter config/data/settings home."
    def __init__(self, root: Path, home: Path):
        self.port, self.token, self.root = _free_port(), secrets.token_hex(16), root
        settings = home / "settings" / "@jupyter-widgets" / "jupyterlab-manager"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
        for ext, value in (("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
                           ("notebook-extension/tracker", {"windowingMode": "none"})):   # every cell in the DOM
            f = home / "settings" / "@jupyterlab" / f"{ext}.jupyterlab-settings"
            f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(value))
        self.env = env = {**os.environ, "OMP_NUM_THREADS": "1", "EXPLAINAUG_PROGRESS": "0", "MPLBACKEND": "Agg",
               "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_PLATFORM_DIRS": "1"}
        self.log = open(home / "lab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={root}",
             "--ServerApp.open_browser=False", "--allow-root", "--ServerApp.terminals_enabled=False",
             "--LabApp.extension_manager=readonly", "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=root)
        self.kernels: set[int] = set()

    def api(self, path: str, method: str = "GET", body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return json.loads(body) if body else None

    def wait(self, timeout: float = 60):
        t = time.time()
        while time.time() - t < timeout:
            if self.proc.poll() is not None: raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}; see {self.log.name}")
            try: return self.api("/api/status")
            except (OSError, http.client.HTTPException): time.sleep(0.3)    # not up yet (or not it: a port taken meanwhile)
        raise TimeoutError(f"JupyterLab did not answer within {timeout} s; see {self.log.name}")

    def session(self, nb: str):
        "Start the notebook's kernel (the venv's python3 kernelspec) before the page asks for one."
        return self.api("/api/sessions", "POST", dict(path=nb, name=nb, type="notebook", kernel=dict(name="python3")))

    def url(self, nb: str) -> str: return f"http://127.0.0.1:{self.port}/lab/tree/{nb}?token={self.token}&reset"

    def shutdown_kernels(self):
        for k in self.api("/api/kernels"): self.api(f"/api/kernels/{k['id']}", "DELETE")

    def stop(self):
        try: self.shutdown_kernels()
        except Exception: pass
        _stop(self.proc.pid); self.proc.wait(5)
        for pid in self.kernels: _stop(pid, 5)                          # a kernel the server left behind
        self.log.close()


# JavaScript run in the page: a short signature of a canvas's pixels (FNV-1a over a strided sample of its RGBA data)
def settled(el, quiet=1.0, timeout=30.0):
    "The canvas signature of `el` once it has not changed for `quiet` seconds (a redraw can send more than one frame)."
    last, since, t0 = None, time.time(), time.time()
    while time.time() - t0 < timeout:
        s = el.evaluate(SIG)
        if s != last: last, since = s, time.time()
        elif time.time() - since >= quiet: return s
        time.sleep(0.1)
    return last

SIG = """el => { let h = 2166136261, n = 0, size = '';
  for (const c of el.querySelectorAll('canvas')) { if (!c.width) continue; size += c.width + 'x' + c.height + ' ';
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 12) { h = Math.imul(h ^ (d[i] | d[i + 1] << 8 | d[i + 2] << 16), 16777619) >>> 0;
      if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++; } }
  return size ? size + ':' + h + ':' + n : null; }"""


class Explorer:
    "One explorer's output in the page: its root element, canvas signature and summary text."
    def __init__(self, page, cls: str, timings: list):
        self.page, self.root, self.name, self.timings = page, page.locator(f".explainaug-{cls}").first, cls, timings

    def sig(self): return self.root.evaluate(SIG)
    def status(self): return self.root.locator(".explainaug-status").inner_text()
    def control(self, name): return self.root.locator(f".explainaug-{name}")

    def act(self, what: str, action, expect=None, canvas: bool = True, timeout: float = 30):
        "Do `action`, wait until the canvas changed (if `canvas`) and `expect(status)` holds; record the time."
        before, text = self.sig(), self.status()
        t = time.perf_counter()
        action()
        deadline = t + timeout
        while True:
            s, txt = self.sig(), self.status()
            ok = (not canvas or (s is not None and s != before)) and (expect(txt) if expect else txt != text)
            if ok: break
            if time.perf_counter() > deadline:
                raise AssertionError(f"{self.name}: {what} did not change the page within {timeout} s "
                                     f"(canvas {'changed' if s != before else 'unchanged'}; status {txt!r})")
            time.sleep(0.02)
        dt = time.perf_counter() - t
        self.timings.append((f"{self.name}: {what}", dt))
        return txt


def slider_step(ctl, key="ArrowRight"):
    return lambda: (ctl.locator(".noUi-handle").focus(), ctl.locator(".noUi-handle").press(key))


def accept_kernel(page, wait: float = 3):
    "Accept JupyterLab's 'Select Kernel' dialog (python3 preselected) if it comes up within `wait` seconds."
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try: dialog.wait_for(timeout=wait * 1000)
    except Exception: return
    dialog.locator("button.jp-mod-accept").click()


def run_all(page):
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    accept_kernel(page, 2)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    accept_kernel(page, 2)


def test_explorers_in_browser(tmp_path, capsys):
    t0, c0 = time.perf_counter(), time.process_time()
    root, home = tmp_path / "root", tmp_path / "home"; root.mkdir(); home.mkdir()
    _notebook(root / "explorers.ipynb")
    lab = _start_lab(root, home)
    # the papermill run (as `explainaug reproduce` does) goes on while the browser part runs; it starts once the
    # server is up, so that its kernel's random ports cannot take the server's
    pm = subprocess.Popen([sys.executable, "-m", "papermill", "--log-level", "WARNING", "explorers.ipynb", "executed.ipynb"],
                          cwd=root, env={**os.environ, "OMP_NUM_THREADS": "1", "EXPLAINAUG_PROGRESS": "0", "MPLBACKEND": "Agg"},
                          stdout=subprocess.DEVNULL, stderr=open(home / "papermill.log", "w"))
    timings: list = []
    phases = {}
    mark = lambda name: phases.setdefault(name, time.perf_counter() - t0)
    try:
        mark("server up")
        lab.session("explorers.ipynb")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport=dict(width=1400, height=1000))
                page.goto(lab.url("explorers.ipynb"))
                run_all(page)
                target = page.locator(".jp-OutputArea-output", has_text="TARGET ").first
                target.wait_for(state="attached", timeout=120_000)
                mark("notebook ran")
                first_static = page.eval_on_selector_all("img[class^=explainaug-static]", "els => els.map(e => e.src.split(',')[1])")
                assert len(first_static) == 2, f"{len(first_static)} static copies in the live page (hidden), expected 2"
                info = json.loads(target.inner_text().split("TARGET ", 1)[1].strip().splitlines()[0])
                lab.kernels.add(info["kernel"])
                assert info["python"].startswith(str(BIN.parent)), f"the kernel is not this venv's python: {info['python']}"
                assert "model not found" not in page.content()

                sx, ee = Explorer(page, "saliencyexplorer", timings), Explorer(page, "embeddingexplorer", timings)
                for e in (sx, ee): e.root.locator("canvas").first.wait_for(timeout=60_000)
                page.wait_for_function(f"() => {{ const f = {SIG}; return ['saliencyexplorer', 'embeddingexplorer'].every("
                                       "c => { const s = f(document.querySelector('.explainaug-' + c)); return s && +s.split(':')[2] > 0 }) }",
                                       timeout=60_000)
                assert "100% kept" not in sx.status() and "threshold 0.50" in sx.status()

                # SaliencyExplorer: threshold slider, method and layer dropdowns, image slider
                kept = lambda txt: int(txt.split("% kept")[0].rsplit(" ", 1)[1])
                k0 = kept(sx.status())
                txt = sx.act("threshold +0.05", slider_step(sx.control("threshold")), lambda t: "threshold 0.55" in t)
                txt = sx.act("threshold +0.05", slider_step(sx.control("threshold")), lambda t: "threshold 0.60" in t)
                assert kept(txt) <= k0
                txt = sx.act("threshold -0.05", slider_step(sx.control("threshold"), "ArrowLeft"), lambda t: "threshold 0.55" in t)
                sx.act("method -> IG", lambda: sx.control("method").locator("select").select_option("Integrated Gradients"),
                       lambda t: "· Integrated Gradients ·" in t)
                sx.act("method -> Grad-CAM", lambda: sx.control("method").locator("select").select_option("Grad-CAM"),
                       lambda t: "Grad-CAM @ layer2.1.conv2" in t)
                sx.act("layer -> layer3", lambda: sx.control("layer").locator("select").select_option("layer3"),
                       lambda t: "Grad-CAM @ layer3 ·" in t)
                sx.act("image +1", slider_step(sx.control("index")), lambda t: t.startswith("image 1:"))
                sx.act("image +1", slider_step(sx.control("index")), lambda t: t.startswith("image 2:"))

                # EmbeddingExplorer: click a dot, point slider, masked points, class selector, empty selection and back
                names = info["names"]
                ee.root.locator("canvas").first.scroll_into_view_if_needed()
                box = ee.root.locator("canvas").first.bounding_box()
                fx, fy = info["pos"]
                ee.act(f"click point {info['k']}", lambda: page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"]),
                       lambda t: t.startswith(f"point {info['k']}: image #{info['index']} ({info['label']})"))
                k2 = info["k"] + (1 if info["k"] < 39 else -1)
                ee.act("point slider", slider_step(ee.control("point"), "ArrowRight" if info["k"] < 39 else "ArrowLeft"),
                       lambda t: t.startswith(f"point {k2}: "))
                ee.act("masked points off", lambda: ee.control("show_masked").locator("input").click(), lambda t: "40 dots, 0 crosses" in t)
                ee.act("masked points on", lambda: ee.control("show_masked").locator("input").click(), lambda t: "40 dots, 40 crosses" in t)
                sel = ee.control("classes").locator("select")
                ee.act("classes: first 3", lambda: sel.select_option(label=names[:3]), lambda t: f"24 dots, 24 crosses of {', '.join(names[:3])}" in t)
                err = ee.root.locator(".explainaug-error")
                t = time.perf_counter(); sel.select_option([])
                err.wait_for(state="visible", timeout=30_000); timings.append(("embeddingexplorer: no class (message)", time.perf_counter() - t))
                assert "Choose at least one class" in err.inner_text()
                assert not ee.root.locator("canvas").first.is_visible(), "the figure should give way to the message"
                assert "model not found" not in page.content()
                ee.act("classes: first 2", lambda: sel.select_option(label=names[:2]), lambda t: f"16 dots, 16 crosses of {', '.join(names[:2])}" in t, canvas=False)
                assert not err.is_visible() and ee.root.locator("canvas").first.is_visible()
                ee.act("classes: first 3 again", lambda: sel.select_option(label=names[:3]), lambda t: f"24 dots, 24 crosses of {', '.join(names[:3])}" in t)

                mark("interactions done")
                # saved from JupyterLab (widget state saved), kernel gone, reopened: the last figures, not an error
                live = {e.name: settled(e.root) for e in (sx, ee)}   # the last frame drawn, not one on its way
                page.keyboard.press("Control+s")
                page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30_000)
                time.sleep(1)
                saved = nbformat.read(root / "explorers.ipynb", as_version=4)
                assert "widgets" in saved.metadata, "JupyterLab did not save the widget state"
                # each explorer's static copy (shown without a kernel) followed the frames drawn by the interactions (display
                # updates from the widgets' callbacks reach the page); that it is the last frame is checked in 14_widgets
                statics = [o["data"]["image/png"] for c in saved.cells for o in c.get("outputs", []) if "explainaug-static" in str(o.get("data", {}).get("text/html", ""))]
                assert len(statics) == 2 and not set(statics) & set(first_static), f"{len(statics)} static copies, {len(set(statics) & set(first_static))} never updated"
                lab.shutdown_kernels(); _stop(info["kernel"], 10)
                for name, nbname in (("saved from JupyterLab", "explorers.ipynb"), ("executed by papermill", "executed.ipynb")):
                    if nbname == "executed.ipynb":
                        assert pm.wait(180) == 0, (home / "papermill.log").read_text()[-3000:]
                        assert "widgets" in nbformat.read(root / nbname, as_version=4).metadata
                    pg = browser.new_page(viewport=dict(width=1400, height=1000))
                    lab.session(nbname)                                # a fresh kernel, as JupyterLab starts on opening
                    pg.goto(lab.url(nbname))
                    pg.locator(".jp-Notebook").first.wait_for(timeout=60_000); accept_kernel(pg, 2)
                    if nbname == "executed.ipynb":                     # untrusted: JupyterLab shows the static PNGs
                        pg.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output img').length >= 2 || "
                                             "document.querySelectorAll('.explainaug-embeddingexplorer canvas').length > 0", timeout=60_000)
                    for cls in ("saliencyexplorer", "embeddingexplorer"):
                        el = pg.locator(f".explainaug-{cls}").first
                        if nbname == "executed.ipynb" and not el.count(): continue
                        el.locator("canvas").first.wait_for(timeout=60_000)
                        pg.wait_for_function(f"el => {{ const s = ({SIG})(el); return s && +s.split(':')[2] > 0 }}",
                                             arg=el.element_handle(), timeout=30_000)
                        if nbname == "explorers.ipynb":
                            try: pg.wait_for_function(f"el => ({SIG})(el) === {json.dumps(live[cls])}", arg=el.element_handle(), timeout=15_000)
                            except Exception: pass                     # the restored image may still be loading; asserted next
                            assert el.evaluate(SIG) == live[cls], f"{name}: {cls} does not show its last figure"
                    for bad in ("Error displaying widget", "Loading widget"):
                        assert bad not in pg.locator(".jp-Notebook").inner_text(), f"{name}: {bad!r} shown"
                    pg.screenshot(path=str(home / f"reopened-{nbname}.png"))
                    pg.close()
                # opened with no kernel at all (trusted, as its user saved it): the static copies, no "Loading widget..."
                nk = nbformat.read(root / "explorers.ipynb", as_version=4)
                nk.metadata["kernelspec"] = dict(name="no-such-kernel", display_name="none", language="none")   # nothing to match:
                nk.metadata.pop("language_info", None)                                                             # JupyterLab asks
                nbformat.write(nk, root / "nokernel.ipynb")
                subprocess.run([str(BIN / "jupyter"), "trust", str(root / "nokernel.ipynb")], env=lab.env, check=True, capture_output=True)
                pg = browser.new_page(viewport=dict(width=1400, height=1000)); pg.goto(lab.url("nokernel.ipynb"))
                pg.locator(".jp-Notebook").first.wait_for(timeout=60_000)
                dialog = pg.locator(".jp-Dialog", has_text="Select Kernel"); dialog.wait_for(timeout=30_000)
                dialog.locator("button", has_text="No Kernel").first.click()
                pg.wait_for_function("() => [...document.querySelectorAll('img[class^=explainaug-static]')]"
                                     ".filter(e => e.offsetParent && e.complete && e.naturalWidth > 0).length >= 2", timeout=60_000)
                time.sleep(1)
                for bad in ("Error displaying widget", "Loading widget"):
                    assert bad not in pg.locator(".jp-Notebook").inner_text(), f"no kernel: {bad!r} shown"
                pg.screenshot(path=str(home / "reopened-nokernel.png")); pg.close()
                # the HTML page `explainaug reproduce` writes beside an executed notebook: no kernel, no widget manager
                from explainaug.reproduce import render
                page_html = root / render(root / "executed.ipynb")["html"]
                pg = browser.new_page(viewport=dict(width=1400, height=1000)); pg.goto(page_html.as_uri())
                pg.wait_for_load_state("load")
                shown = pg.eval_on_selector_all("img[class^=explainaug-static]", "els => els.filter(e => e.offsetParent && e.complete && e.naturalWidth > 0).length")
                assert shown >= 2, f"the HTML page shows {shown} figure(s), expected both explorers' figures"
                for bad in ("Error displaying widget", "Loading widget"): assert bad not in pg.inner_text("body"), f"HTML page: {bad!r} shown"
                pg.screenshot(path=str(home / "executed-html.png")); pg.close()
            except BaseException:
                for i, pg in enumerate(pg for c in browser.contexts for pg in c.pages):
                    pg.screenshot(path=str(home / f"failure-{i}.png"))
                print(f"\nbrowser test failed: screenshots and the JupyterLab log are in {home}")
                raise
            finally:
                browser.close()
    finally:
        if pm.poll() is None: _stop(pm.pid)
        lab.stop()
    for pid in lab.kernels | {lab.proc.pid, pm.pid}: assert not _alive(pid), f"process {pid} is still running"
    wall = time.perf_counter() - t0
    dts = [dt for _, dt in timings]
    lines = [f"  {w:45s} {dt:6.2f} s" for w, dt in timings]
    med = statistics.median(dts)
    budget = float(os.environ.get("EXPLAINAUG_REDRAW_BUDGET", "0"))    # a timing is measured and printed; asserted only on request
    with capsys.disabled():
        print("\nbrowser test redraw times (action to changed canvas and summary line):\n" + "\n".join(lines))
        print(f"browser test: {len(dts)} interactions, redraw median {med:.2f} s, max {max(dts):.2f} s "
              f"(target < 0.5 s: {'met' if med < 0.5 else 'NOT met'}; EXPLAINAUG_REDRAW_BUDGET=S asserts it); wall {wall:.0f} s ("
              + ", ".join(f"{k} at {v:.0f} s" for k, v in phases.items()) + f"); test process CPU {time.process_time() - c0:.1f} s")
    if budget: assert med < budget, f"median redraw {med:.2f} s over {budget} s"
