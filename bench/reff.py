"""ReFF training-step cost on CPU: a ReFF step (training forward, Grad-CAM of layer1..layer4 with create_graph,
double backward) against a plain cross-entropy step on the same batch. Prints the times and the ratio.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/reff.py [--batch 32] [--size 32] [--width 8] [--repeats 10] [--device cpu]
"""
import argparse, time
import torch
from explainaug.models import resnet18, ABN
from explainaug.methods.common import Classify
from explainaug.methods.reff import ReFF, ABNClassify


def timeit(method, batch, repeats):
    method.on_epoch_start(0); method.step(batch)                      # warm-up
    if batch["image"].is_cuda: torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(repeats): method.step(batch)
    if batch["image"].is_cuda: torch.cuda.synchronize()
    return (time.perf_counter() - t) / repeats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32); ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=int, default=8); ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.manual_seed(0)
    b = dict(image=torch.rand(a.batch, 3, a.size, a.size, device=a.device), label=torch.randint(0, 10, (a.batch,), device=a.device),
             mask=torch.rand(a.batch, a.size, a.size, device=a.device) > 0.8, index=torch.arange(a.batch, device=a.device))
    kw = dict(lr=0.01, momentum=0.8, weight_decay=1e-5)
    mk = lambda: resnet18(10, width=a.width).to(a.device)
    t = dict(baseline=timeit(Classify(mk(), **kw), b, a.repeats),
             reff=timeit(ReFF(mk(), **kw), b, a.repeats),
             reff_single=timeit(ReFF(mk(), lam=1000.0, layers=("layer4",), weights=(1.0,), **kw), b, a.repeats),
             abn=timeit(ABNClassify(ABN(resnet18(0, width=a.width), 10).to(a.device), **kw), b, a.repeats))
    print(f"torch threads {torch.get_num_threads()}, batch {a.batch}, {a.size}x{a.size}, ResNet-18 width {a.width}, device {a.device}")
    for k, v in t.items(): print(f"{k:12s} {v * 1e3:8.1f} ms   ratio to baseline {v / t['baseline']:.2f}")


if __name__ == "__main__":
    main()
