"""Fault injection: damaged files, killed runs and bad input. Each test injects one fault and checks that the error is
clear (names the file or the fix) and that nothing finished is lost. `conftest.py` prints the tally."""
import re, json, os, signal, subprocess, sys, textwrap, time, warnings
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from explainaug.core import CheckpointDamagedError, NonFiniteLossError, load_checkpoint, save_checkpoint
from explainaug.train import Method, fit, unwrap

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "EXPLAINAUG_PROGRESS": "0"}

TOY = '''
import torch
from torch import nn
from explainaug.train import Method

class Toy(Method):
    "A small classifier trained by SGD with momentum and a schedule: enough state to tell a bad resume."
    def __init__(self, nan_at=None):
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, 2, 0.5)
        self.nan_at = nan_at
    def step(self, batch):
        x, y = batch
        loss = nn.functional.cross_entropy(self.model(x), y)
        if self.global_step == self.nan_at: loss = loss * float("nan")
        self.opt.zero_grad(); self.backward(loss); self.opt.step()
        return dict(loss=loss)
    def on_epoch_end(self, epoch): self.sched.step()

def toy_data(n=96):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g); y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
'''
exec(TOY)


def _weights(m):
    return {k: v.clone() for k, v in unwrap(m.model).state_dict().items()}


def _trained(tmp_path, epochs=3):
    out = tmp_path/"run"
    fit(Toy(), toy_data(), epochs, device="cpu", out=out, keep_epochs=True)
    return out/"checkpoint.pt"


# --- damaged checkpoints -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncated_50", "truncated_90", "zero_length", "garbage", "bit_flip"])
def test_damaged_checkpoint(tmp_path, damage, fault):
    ck = _trained(tmp_path)
    good, kept = ck.read_bytes(), sorted(p.name for p in ck.parent.glob("epoch*.pt"))
    n = len(good)
    bad = {"truncated_50": good[:n // 2], "truncated_90": good[:int(n * .9)], "zero_length": b"",
           "garbage": os.urandom(n), "bit_flip": good[:n // 2] + bytes([good[n // 2] ^ 0x10]) + good[n // 2 + 1:]}[damage]
    ck.write_bytes(bad)
    with pytest.raises(CheckpointDamagedError) as e:
        fit(Toy(), toy_data(), 5, device="cpu", out=ck.parent, resume=True)       # never resumes from it, never restarts silently
    msg = str(e.value)
    assert str(ck) in msg and "damaged" in msg and "epoch002.pt" in msg and "delete" in msg, msg
    assert "missing" not in msg.split("It is not")[0] and "weights_only" not in msg
    assert sorted(p.name for p in ck.parent.glob("epoch*.pt")) == kept             # the kept epochs survive
    assert load_checkpoint(ck.parent/"epoch002.pt")["epoch"] == 2
    fault["survived"] = True


def test_interrupted_checkpoint_write(tmp_path, monkeypatch, fault):
    ck = _trained(tmp_path, epochs=2)
    before = ck.read_bytes()
    import explainaug.core as core
    def crash(fd): raise KeyboardInterrupt("killed while writing")
    monkeypatch.setattr(core.os, "fsync", crash)                                     # the new file is half on disk
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(ck, dict(epoch=99, w=torch.zeros(10_000)))
    monkeypatch.undo()
    assert ck.read_bytes() == before and load_checkpoint(ck)["epoch"] == 1           # the previous checkpoint survives
    assert [p.name for p in ck.parent.iterdir() if p.name.endswith(".tmp")] == []    # and no temporary file is left
    fault["survived"] = True


def test_damaged_cache_file(tmp_path, fault):
    from explainaug.data import embedded
    a = embedded("glyphs", "val", root=tmp_path, n=6)
    f, = (tmp_path/"embedded").glob("*.pt")
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        b = embedded("glyphs", "val", root=tmp_path, n=6)
    assert any("damaged" in str(x.message) and str(f) in str(x.message) for x in w)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)      # regenerated, not used
    load_checkpoint(f)                                                               # and sound again
    fault["survived"] = True


# --- killed runs ---------------------------------------------------------------------------------------------------

def _fit_script(tmp_path, out, epochs, sleep=0.0):
    s = tmp_path/f"fit_{out.name}.py"
    s.write_text(TOY + textwrap.dedent(f'''
        import time, torch
        from explainaug.train import fit, unwrap
        class Slow(Toy):
            def on_epoch_end(self, epoch): super().on_epoch_end(epoch); time.sleep({sleep})
        m = Slow(); fit(m, toy_data(), {epochs}, device="cpu", out={str(out)!r}, resume=True)
        torch.save({{k: v for k, v in unwrap(m.model).state_dict().items()}}, {str(out/"final.pt")!r})
    '''))
    return s


def _wait_for(cond, timeout=120, what=""):
    t0 = time.time()
    while not cond():
        if time.time() - t0 > timeout: raise TimeoutError(what)
        time.sleep(0.1)


def test_sigkill_fit_then_resume_is_bit_identical(tmp_path, fault):
    ref, run = tmp_path/"ref", tmp_path/"run"
    subprocess.run([sys.executable, _fit_script(tmp_path, ref, 6)], check=True, env=ENV, capture_output=True)
    p = subprocess.Popen([sys.executable, _fit_script(tmp_path, run, 6, sleep=1.0)], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hist = run/"history.jsonl"
    _wait_for(lambda: hist.exists() and len(hist.read_text().splitlines()) >= 2, what="two epochs")
    p.send_signal(signal.SIGKILL); p.wait()
    done = load_checkpoint(run/"checkpoint.pt")["epoch"] + 1
    assert 2 <= done < 6
    r = subprocess.run([sys.executable, _fit_script(tmp_path, run, 6)], check=True, env=ENV, capture_output=True, text=True)
    assert f"Resuming from {run/'checkpoint.pt'}: {done} of 6 epochs done." in r.stdout, r.stdout
    a, b = torch.load(ref/"final.pt"), torch.load(run/"final.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)                                   # bit-identical on CPU
    assert [json.loads(l)["loss"] for l in hist.read_text().splitlines()] == \
           [json.loads(l)["loss"] for l in (ref/"history.jsonl").read_text().splitlines()]
    fault["survived"] = True


def _paper_nb(body):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}})
    p = nbformat.v4.new_code_cell('profile = "smoke"\nseed = 0\nout_dir = "."\noverrides = {}'); p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell('from explainaug.core import load_profile, Recorder\ncfg = load_profile("toy", profile, overrides)'),
                nbformat.v4.new_code_cell(body)]
    return nb


def _toy_paper(tmp_path, epochs=4, sleep=1.0):
    d = tmp_path/"papers"
    (d/"params"/"toy").mkdir(parents=True)
    (d/"params"/"toy"/"smoke.yaml").write_text(f"epochs: {epochs}\nsleep: {sleep}\n")
    nbformat.write(_paper_nb(TOY + textwrap.dedent('''
        import time
        from pathlib import Path
        from explainaug.train import fit, unwrap
        class Slow(Toy):
            def on_epoch_end(self, epoch): super().on_epoch_end(epoch); time.sleep(cfg["sleep"])
        m = Slow(); fit(m, toy_data(), cfg["epochs"], device="cpu", out=Path(out_dir)/"fit", resume=True)
        w = sum(v.double().sum().item() for v in unwrap(m.model).state_dict().values())
        Recorder(out_dir).update({"toy/weight_sum": w})
    ''')), d/"toy.ipynb")
    return d


def test_sigkill_reproduce_then_rerun(tmp_path, fault):
    papers = _toy_paper(tmp_path)
    cmd = lambda out: [BIN/"explainaug", "reproduce", "toy", "--profile", "smoke", "--papers-dir", papers, "--out", out]
    subprocess.run(cmd(tmp_path/"ref"), check=True, env=ENV, capture_output=True)
    p = subprocess.Popen(cmd(tmp_path/"run"), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    hist = tmp_path/"run"/"toy"/"seed0"/"fit"/"history.jsonl"
    _wait_for(lambda: hist.exists() and len(hist.read_text().splitlines()) >= 2, what="two epochs in the notebook")
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    time.sleep(3)                                       # an orphaned kernel notices its parent is gone and exits
    done = load_checkpoint(hist.parent/"checkpoint.pt")["epoch"] + 1
    r = subprocess.run(cmd(tmp_path/"run"), check=True, env=ENV, capture_output=True, text=True)
    executed = (tmp_path/"run"/"toy"/"seed0"/"toy.ipynb").read_text()
    assert f"{done} of 4 epochs done" in executed                                    # the finished epochs were not retrained
    ref = json.loads((tmp_path/"ref"/"toy"/"seed0"/"metrics.json").read_text())["metrics"]
    got = json.loads((tmp_path/"run"/"toy"/"seed0"/"metrics.json").read_text())["metrics"]
    assert got == ref                                                                # the same result as an uninterrupted run
    rep = lambda o: [re.sub(r"\| [\d.]+ min", "| t min", l) for l in (tmp_path/o/"REPORT.md").read_text().splitlines()[4:]
                     if not l.startswith(("Seeds:", "Wall time:"))]                # times aside
    assert rep("run") == rep("ref")
    r = subprocess.run(cmd(tmp_path/"run"), check=True, env=ENV, capture_output=True, text=True)
    assert "finished earlier" in r.stdout, r.stdout                                  # a third run keeps the finished notebook
    fault["survived"] = True


# --- bad input -----------------------------------------------------------------------------------------------------

def _cli(args, capsys):
    from explainaug.reproduce import main
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_malformed_profile_yaml(tmp_path, capsys, fault):
    papers = _toy_paper(tmp_path)
    (papers/"params"/"toy"/"smoke.yaml").write_text("epochs: [4\nsleep: 0\n")
    code, err = _cli(["reproduce", "toy", "--profile", "smoke", "--papers-dir", papers, "--out", tmp_path/"o"], capsys)
    assert code == 2 and "not valid YAML" in err and "smoke.yaml" in err, err
    assert not (tmp_path/"o"/"toy").exists()                                         # nothing ran
    fault["survived"] = True


@pytest.mark.parametrize("key,value,expect", [("epoch", "3", "Unknown parameter(s) ['epoch']"),
                                              ("epochs", "three", "takes a int"), ("epochs", "[1, 2]", "takes a int")])
def test_bad_override(tmp_path, capsys, key, value, expect, fault):
    papers = _toy_paper(tmp_path)
    code, err = _cli(["reproduce", "toy", "--profile", "smoke", "--papers-dir", papers, "--out", tmp_path/"o", "-p", key, value], capsys)
    assert code == 2 and expect in err, err
    fault["survived"] = True


def test_missing_real_dataset(tmp_path, fault):
    from explainaug.data import DatasetNotFoundError, LAYOUTS, get_dataset
    with pytest.raises(DatasetNotFoundError) as e:
        get_dataset("cifar10", "train", root=tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and LAYOUTS in msg and "embedded" in msg, msg
    fault["survived"] = True


def _convnet():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


@pytest.mark.parametrize("fn", ["grad_cam", "fgsm", "pgd"])
@pytest.mark.parametrize("bad", ["shape", "range", "nan"])
def test_bad_images(fn, bad, fault):
    from explainaug.attacks import fgsm, pgd
    from explainaug.explain import grad_cam
    m, x, y = _convnet(), torch.rand(2, 3, 8, 8), torch.tensor([0, 1])
    xb = {"shape": x[0], "range": x * 255, "nan": x.clone().fill_(float("nan"))}[bad]
    call = {"grad_cam": lambda v: grad_cam(m, v, y, layers="0"), "fgsm": lambda v: fgsm(m, v, y, 4 / 255),
            "pgd": lambda v: pgd(m, v, y, 4 / 255, steps=2)}[fn]
    if fn == "grad_cam" and bad == "range":           # Grad-CAM takes what the model takes (normalised inputs are legitimate)
        assert call(xb)["0"].shape == (2, 6, 6)
    else:
        with pytest.raises(ValueError) as e: call(xb)
        assert {"shape": "N x C x H x W", "range": "pass its mean and std", "nan": "NaN"}[bad] in str(e.value), str(e.value)
    fault["survived"] = True


@pytest.mark.parametrize("bad", ["shape", "nan"])
def test_bad_batch_given_to_a_method(tmp_path, bad, fault):
    from explainaug.methods.common import Classify
    x = torch.rand(8, 3, 8, 8)
    img = {"shape": x[:, 0], "nan": x.clone().fill_(float("nan"))}[bad]
    data = [dict(image=img, label=torch.zeros(8, dtype=torch.long))]
    with pytest.raises(ValueError) as e:
        fit(Classify(_convnet(), lr=0.1), data, 1, device="cpu", out=tmp_path/"r")
    assert {"shape": "N x C x H x W", "nan": "NaN"}[bad] in str(e.value), str(e.value)
    fault["survived"] = True


def test_nan_loss_keeps_last_good_weights(tmp_path, fault):
    good = {}
    class Watch(Toy):
        def step(self, batch):
            out = super().step(batch)
            good.update(_weights(self)); return out
    m = Watch(nan_at=9)                                # epoch 1 (6 batches an epoch), after one checkpointed epoch
    with pytest.raises(NonFiniteLossError) as e:
        fit(m, toy_data(), 3, device="cpu", out=tmp_path/"r")
    msg = str(e.value)
    assert "epoch 1, step 9" in msg and "not applied" in msg and str(tmp_path/"r"/"checkpoint.pt") in msg, msg
    w = _weights(m)
    assert all(torch.isfinite(v).all() and torch.equal(v, good[k]) for k, v in w.items())   # the last good step's weights
    assert load_checkpoint(tmp_path/"r"/"checkpoint.pt")["epoch"] == 0                          # the finished epoch is kept
    fault["survived"] = True


def test_loss_landscape_with_a_one_shot_iterable(fault):
    from explainaug.metrics import loss_landscape
    m = _convnet(); x, y = torch.rand(6, 3, 8, 8), torch.tensor([0, 1] * 3)
    batches = [(x[:3], y[:3]), (x[3:], y[3:])]
    ref = loss_landscape(m, nn.functional.cross_entropy, batches, steps=3)["loss"]
    got = loss_landscape(m, nn.functional.cross_entropy, iter(batches), steps=3)["loss"]
    assert torch.equal(got, ref) and bool((got > 0).all())                            # no grid point silently 0
    fault["survived"] = True
