"""ReFF's gap at p = 0, q = 1 on the embedded textured digits: Baseline vs ReFF, from scratch or from an encoder
pre-trained on glyph letters (a stand-in for ImageNet pre-training: shapes on textured backgrounds, no digits).
One run per call, one JSON line appended to --out; the investigation behind the ReFF notebook's notes.

  python bench/reff_gap.py --mode pre --pre runs/reff_gap/pre32.pt --n 15000 --epochs 15 --lr 0.1 --mom 0.9 --bs 128
  python bench/reff_gap.py --method base --pre runs/reff_gap/pre32.pt --n 3000 --epochs 12
  python bench/reff_gap.py --method reff --lam 1 --pre runs/reff_gap/pre32.pt --n 3000 --epochs 12
  python bench/reff_gap.py --method reff --lam 1 --size 64 --opt adam --lr 0.003 --bs 64 --epochs 15 --width 8
  python bench/reff_gap.py --method reff --lam 0.2 --shortcut patch --opt adam --lr 0.003 --bs 64 --epochs 8 --n 3000 --width 8
"""
import argparse, json, time, os, sys, math
import torch
from explainaug.core import seed_everything
from explainaug.data import get_dataset, batches, class_patch
from explainaug.models import get_model
from explainaug.train import fit
from explainaug.methods.common import Classify, evaluate
from explainaug.methods.reff import ReFF, REFF_LAYERS, focus

ap = argparse.ArgumentParser()
ap.add_argument("--mode", default="ft")           # pre | ft
ap.add_argument("--method", default="base")
ap.add_argument("--pre", default="none")          # none | path
ap.add_argument("--lam", type=float, default=1.0)
ap.add_argument("--size", type=int, default=32)
ap.add_argument("--digit", type=int, default=0)
ap.add_argument("--n", type=int, default=5000)
ap.add_argument("--epochs", type=int, default=20)
ap.add_argument("--width", type=int, default=16)
ap.add_argument("--lr", type=float, default=0.01)
ap.add_argument("--mom", type=float, default=0.8)
ap.add_argument("--opt", default="sgd")
ap.add_argument("--bs", type=int, default=32)
ap.add_argument("--p", type=float, default=0.0)
ap.add_argument("--q", type=float, default=1.0)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--prec", default="32-true")
ap.add_argument("--order", default="resize-norm")
ap.add_argument("--cam", default="train")
ap.add_argument("--out", default="runs/reff_gap/results.jsonl")
ap.add_argument("--tag", default="")
ap.add_argument("--root", default="data")
ap.add_argument("--layers", default="")         # e.g. layer1 (weight 1; multi-layer default: paper's four)
ap.add_argument("--shortcut", default="texture")  # texture (the background, p) | patch (a class-coloured corner patch, p = 1)
a = ap.parse_args()
dev = "cuda" if torch.cuda.is_available() else "cpu"
t0 = time.time()
seed_everything(a.seed)
if a.mode == "pre":
    letters = [c for c in "ABCDEFGHJKLMNPQRSTUVWXYZabdehr"]
    tr = get_dataset("glyphs", "train", classes=letters, n=a.n // len(letters), image_size=a.size, root=a.root)
    te = get_dataset("glyphs", "test", classes=letters, n=50, image_size=a.size, root=a.root)
    net = get_model("resnet18", num_classes=len(letters), width=a.width)
    m = Classify(net, lr=a.lr, momentum=a.mom, weight_decay=5e-4, epochs=a.epochs, sched="cosine")
    fit(m, lambda e: batches(tr, a.bs, shuffle=True, seed=a.seed, epoch=e, device=dev, drop_last=True), a.epochs, device=dev, precision=a.prec)
    acc = evaluate(net, batches(te, 256, device=dev))["acc"]
    for pp in (0.0, 1.0):
        for sp, nn_ in (("train", 5000), ("test", 1000)): get_dataset("textured_digits", sp, n=nn_, p=pp, q=1.0, image_size=a.size, root=a.root)
    os.makedirs(os.path.dirname(a.pre) or ".", exist_ok=True)
    torch.save({k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}, a.pre)
    print(json.dumps(dict(tag=a.tag, mode="pre", acc=acc, sec=time.time() - t0)))
    sys.exit()
patch = a.shortcut == "patch"
if patch: a.p = 1.0                              # the corner patch is the only shortcut
kw = dict(p=a.p, q=a.q, image_size=a.size, root=a.root)
if a.digit: kw.update(digit_size=a.digit)
tr = get_dataset("textured_digits", "train", n=a.n, **kw)
te = get_dataset("textured_digits", "test", n=1000, **kw)
if patch: tr, te = class_patch(tr, spurious=1.0, seed=a.seed), class_patch(te, spurious=0.0, seed=a.seed)
net = get_model("resnet18", num_classes=10, width=a.width)
if a.pre != "none":
    net.load_state_dict(torch.load(a.pre, weights_only=True), strict=False)
common = dict(opt=a.opt, lr=a.lr, momentum=a.mom, weight_decay=1e-5, epochs=a.epochs)
if a.method == "base": m = Classify(net, **common)
else:
    lam = a.lam
    layers = ("layer4",) if a.method == "single" else tuple(a.layers.split(",")) if a.layers else None
    sel = dict(layers=layers, weights=(1.0,) * len(layers)) if layers else {}
    m = ReFF(net, lam=lam, order=a.order, cam_mode=a.cam, **sel, **common)
hist = fit(m, lambda e: batches(tr, a.bs, shuffle=True, seed=a.seed, epoch=e, device=dev, drop_last=True), a.epochs, device=dev, precision=a.prec)
acc = evaluate(net, batches(te, 256, device=dev))["acc"]
tr_acc = evaluate(net, batches(tr.subset(torch.arange(min(1000, len(tr)))), 256, device=dev))["acc"]
fo = focus(net, list(batches(te.subset(torch.arange(256)), 256, device=dev)))
r = dict(vars(a), acc=acc, train_acc=tr_acc, focus={k: round(v, 3) for k, v in fo.items()}, reff_last=hist[-1].get("reff"), ce_last=hist[-1].get("ce"), sec=round(time.time() - t0))
print(json.dumps(r))
os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
with open(a.out, "a") as f: f.write(json.dumps(r) + "\n")
