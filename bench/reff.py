"""ReFF training-step cost on CPU: a ReFF step (training forward, Grad-CAM of layer1..layer4 with create_graph,
double backward) against a plain cross-entropy step on the same batch. Prints the times and the ratio.

The defaults are the cpu profile's (48x48, batch 128, a width-8 ResNet-18 with the ImageNet stem; --cifar-stem for the
CIFAR one); times are `train.step_seconds` (CPU time on CPU, synchronised wall time on CUDA), the mean of --repeats.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/reff.py [--batch 128] [--size 48] [--width 8] [--repeats 10] [--device cpu]
"""
import argparse, statistics
import torch
from explainaug.models import resnet18, ABN
from explainaug.train import step_seconds
from explainaug.methods.common import Classify
from explainaug.methods.reff import ReFF, ABNClassify


def timeit(method, batch, repeats):
    method.on_epoch_start(0)
    return statistics.mean(step_seconds(lambda: method.step(batch), repeats, warmup=1, device=batch["image"].device))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128); ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--width", type=int, default=8); ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--cifar-stem", action="store_true"); ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.manual_seed(0)
    b = dict(image=torch.rand(a.batch, 3, a.size, a.size, device=a.device), label=torch.randint(0, 10, (a.batch,), device=a.device),
             mask=torch.rand(a.batch, a.size, a.size, device=a.device) > 0.8, index=torch.arange(a.batch, device=a.device))
    kw = dict(lr=0.01, momentum=0.8, weight_decay=1e-5)
    mk = lambda: resnet18(10, width=a.width, cifar_stem=a.cifar_stem).to(a.device)
    t = dict(baseline=timeit(Classify(mk(), **kw), b, a.repeats),
             reff=timeit(ReFF(mk(), **kw), b, a.repeats),
             reff_single=timeit(ReFF(mk(), lam=1000.0, layers=("layer4",), weights=(1.0,), **kw), b, a.repeats),
             abn=timeit(ABNClassify(ABN(resnet18(0, width=a.width, cifar_stem=a.cifar_stem), 10).to(a.device), **kw), b, a.repeats))
    stem = "CIFAR" if a.cifar_stem else "ImageNet"
    print(f"torch threads {torch.get_num_threads()}, batch {a.batch}, {a.size}x{a.size}, ResNet-18 width {a.width} ({stem} stem), device {a.device}")
    for k, v in t.items(): print(f"{k:12s} {v * 1e3:8.1f} ms   ratio to baseline {v / t['baseline']:.2f}")


if __name__ == "__main__":
    main()
