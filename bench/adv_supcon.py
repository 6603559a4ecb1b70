"""Step cost of Alg. 1 (adversarial CE) and Alg. 2 (adversarial SupCon) against their clean steps, for several M (C34: about M + 2).

One batch of random images, fresh methods from explainaug.methods.adversarial, the median of `--repeats` steps after a warm-up step.
Run: .venv/bin/python bench/adv_supcon.py [--size 32] [--width 8] [--batch 64] [--steps 2 5 10] [--arch resnet18] [--device cpu]
"""
import argparse, statistics
import torch
from explainaug.models import get_model
from explainaug.methods.supcon import Normalized, SupCon
from explainaug.methods.adversarial import CE, AdvCE, AdvSupCon, classifier, step_cost


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32); ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64); ap.add_argument("--steps", type=int, nargs="+", default=[2, 5, 10])
    ap.add_argument("--arch", default="resnet18"); ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    stem = a.size <= 64
    enc = lambda: Normalized(get_model(a.arch, num_classes=0, width=a.width, cifar_stem=stem), [0.5] * 3, [0.25] * 3)
    b = dict(image=torch.rand(a.batch, 3, a.size, a.size, device=dev), label=torch.randint(0, 2, (a.batch,), device=dev))
    sup = dict(iterative=False, opt="adam", lr=1e-3, sched=None, augment="none", image_size=a.size)
    med = lambda f: statistics.median(step_cost(f, b, a.repeats))
    ce, sc = med(lambda: CE(classifier(enc(), 2), opt="adam", lr=1e-3)), med(lambda: SupCon(enc(), 2, **sup))
    print(f"{a.arch} width {a.width}, {a.size}x{a.size}, batch {a.batch}, {dev}, torch threads {torch.get_num_threads()}")
    print(f"clean CE step {1e3 * ce:.1f} ms, clean SupCon step {1e3 * sc:.1f} ms")
    print(f"{'M':>3} {'M+2':>4} {'Alg.1 ms':>9} {'Alg.1/CE':>9} {'Alg.2 ms':>9} {'Alg.2/SupCon':>13}")
    for M in a.steps:
        t1 = med(lambda: AdvCE(classifier(enc(), 2), steps=M, opt="adam", lr=1e-3))
        t2 = med(lambda: AdvSupCon(enc(), 2, steps=M, **sup))
        print(f"{M:>3} {M + 2:>4} {1e3 * t1:>9.1f} {t1 / ce:>9.2f} {1e3 * t2:>9.1f} {t2 / sc:>13.2f}")


if __name__ == "__main__":
    main()
