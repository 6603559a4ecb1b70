"""Two-view contrastive augmentation on CPU: kornia batched (per-sample parameters) vs a per-sample torchvision v2 loop.

256 images of 32x32, the SupCon pipeline (random resized crop 0.2-1, flip, colour jitter 0.4/0.4/0.4/0.1 p 0.8, grayscale p 0.2).
Run: .venv/bin/python bench/augment.py [--batch 256] [--repeats 5]
"""
import argparse, time
import torch
import torchvision.transforms.v2 as T
from explainaug.augment import ContrastiveAugment


def best(f, repeats):
    f(); ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256); ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    x = torch.rand(a.batch, 3, 32, 32)
    aug = ContrastiveAugment(32)
    v2 = T.Compose([T.RandomResizedCrop(32, scale=(0.2, 1.0), antialias=True), T.RandomHorizontalFlip(),
                    T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)])
    tk = best(lambda: aug.two_views(x), a.repeats)
    tv = best(lambda: (torch.stack([v2(i) for i in x]), torch.stack([v2(i) for i in x])), a.repeats)
    tb = best(lambda: (v2(x), v2(x)), a.repeats)
    print(f"torch threads {torch.get_num_threads()}, batch {a.batch}")
    print(f"kornia batched (per-sample params)  {tk*1e3:7.1f} ms  ratio 1.00")
    print(f"v2 per-sample loop                  {tv*1e3:7.1f} ms  ratio {tv/tk:.2f}")
    print(f"v2 on the batch (ONE param set)     {tb*1e3:7.1f} ms  ratio {tb/tk:.2f}  (not a valid alternative: same crop for all)")


if __name__ == "__main__":
    main()
