"""FCL's step cost: one training step of XE, XE+Gaussian, CL+Gaussian and FCL (utility backward + two perturbed
forwards) on the same batch and network, as ms per step and as a ratio to XE. Defaults: the cpu profile's MNIST LeNet
(width 8, batch 128, 28x28 grey, 15 classes); `--arch resnet56 --size 32 --chans 3 --batch 1024` is the paper's CIFAR
setting (on a GPU). Prints the table; writes it to $OUT/fcl_steps.json if $OUT is set.

Run: .venv/bin/python bench/fcl.py [--arch lenet] [--batch 128] [--reps 10] [--threads 1]
"""
import argparse, json, os
import torch
from explainaug.core import get_device
from explainaug.models import lenet, resnet56
from explainaug.methods.fcl import make_method, median_step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="lenet", choices=["lenet", "resnet56"]); ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128); ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--chans", type=int, default=1); ap.add_argument("--classes", type=int, default=15)
    ap.add_argument("--k", type=int, default=256); ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: the default)")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device()
    g = torch.Generator().manual_seed(0)
    batch = dict(image=torch.rand(a.batch, a.chans, a.size, a.size, generator=g).to(dev),
                 label=torch.randint(0, a.classes, (a.batch,), generator=g).to(dev))
    def net():
        torch.manual_seed(0)
        m = lenet(a.classes, in_chans=a.chans, image_size=a.size, width=a.width, feat_dim=64) if a.arch == "lenet" else resnet56(a.classes, in_chans=a.chans)
        return m.to(dev)
    kw = {"XE": {}, "XE+Gaussian": dict(sigma=0.3, lam=1e-4, reduction="sum"), "CL+Gaussian": dict(sigma=0.5, lam=1e-4), "FCL": dict(k=a.k, sigma=0.5, lam=1e-4)}
    t = {n: median_step(make_method(n, net(), opt="adam", lr=1e-3, **p), batch, a.reps) for n, p in kw.items()}
    print(f"{a.arch} width {a.width}, batch {a.batch} x {a.chans}x{a.size}x{a.size}, {dev}, torch threads {torch.get_num_threads()}")
    for n, v in t.items(): print(f"{n:12s} {v * 1000:8.1f} ms/step  {v / t['XE']:5.2f}x XE")
    if os.environ.get("OUT"):
        json.dump(dict(setting=vars(a), device=str(dev), seconds=t, ratio={n: v / t["XE"] for n, v in t.items()}),
                  open(os.path.join(os.environ["OUT"], "fcl_steps.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
