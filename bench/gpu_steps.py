"""Training-step cost at the paper profiles' scale through the engine (`fit`), on the default device (a GPU):
ExCon / ExConB vs SupCon (ResNet-50, CIFAR stem, batch 256, 32x32 glyphs) and ReFF vs the cross-entropy baseline
(ResNet-50, ImageNet stem, batch 32, 224x224 textured digits), in bf16-mixed and fp32. Prints ms per batch and the
ratios; writes them to $OUT/gpu_steps.json (or ./gpu_steps.json). A SupCon-family "batch" is one encoder step plus
its share of the classifier epoch.

Run: PRECS="bf16-mixed 32-true" python bench/gpu_steps.py
"""
import time, json, math, os, torch
from explainaug.core import seed_everything, get_device
from explainaug.data import get_dataset, batches
from explainaug.models import get_model
from explainaug.train import fit
from explainaug.methods.common import Classify
from explainaug.methods.supcon import SupCon, ExCon, Normalized
from explainaug.methods.reff import ReFF
dev, res = str(get_device()), {}
if dev != "cuda": print("no CUDA device: timings on", dev)
print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "")
def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

def run(name, make, data, precision):
    m = make(); fit(m, lambda e: iter(data[:2]), 1, device=dev, precision=precision)      # warm-up
    sync(); t = time.perf_counter()
    h = fit(m, lambda e: iter(data), 1, device=dev, precision=precision)
    sync(); dt = (time.perf_counter() - t) / len(data)
    res[f"{name}/{precision}"] = dict(ms_per_batch=round(1e3 * dt, 1), last={k: round(float(v), 4) for k, v in h[-1].items() if isinstance(v, (int, float))})
    print(name, precision, res[f"{name}/{precision}"], flush=True)
seed_everything(0)
gl = get_dataset("glyphs", "train", classes="all", n=64)
gb = list(batches(gl, 256, shuffle=True, device=dev, drop_last=True))
mean, std = gl.images.float().div(255).mean((0, 2, 3)).tolist(), gl.images.float().div(255).std((0, 2, 3)).tolist()
enc = lambda: Normalized(get_model("resnet50", num_classes=0, width=64), mean, std)
kw = dict(data=gb, epochs=1, warmup=0, lr=0.5)
for prec in os.environ.get("PRECS", "bf16-mixed 32-true").split():
    run("excon/SupCon", lambda: SupCon(enc(), gl.num_classes, **kw), gb, prec)
    run("excon/ExCon", lambda: ExCon(enc(), gl.num_classes, **kw), gb, prec)
    run("excon/ExConB", lambda: ExCon(enc(), gl.num_classes, background=True, **kw), gb, prec)
td = get_dataset("textured_digits", "train", p=0.0, q=1.0, n=320, image_size=224)
tb = list(batches(td, 32, shuffle=True, device=dev, drop_last=True))
net = lambda: get_model("resnet50", num_classes=10, cifar_stem=False)
for prec in os.environ.get("PRECS", "bf16-mixed 32-true").split():
    run("reff/Baseline", lambda: Classify(net(), lr=0.01, momentum=0.8, weight_decay=1e-5), tb, prec)
    run("reff/ReFF", lambda: ReFF(net(), lam=1.0, lr=0.01, momentum=0.8, weight_decay=1e-5), tb, prec)
for k in os.environ.get("PRECS", "bf16-mixed 32-true").split():
    res[f"ratio/ExCon_to_SupCon/{k}"] = res[f"excon/ExCon/{k}"]["ms_per_batch"] / res[f"excon/SupCon/{k}"]["ms_per_batch"]
    res[f"ratio/ReFF_to_Baseline/{k}"] = res[f"reff/ReFF/{k}"]["ms_per_batch"] / res[f"reff/Baseline/{k}"]["ms_per_batch"]
json.dump(res, open(os.environ.get("OUT", ".") + "/gpu_steps.json", "w"), indent=1)
print(json.dumps({k: v for k, v in res.items() if k.startswith("ratio")}))
