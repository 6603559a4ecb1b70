"""Training-step cost of the papers' networks by thread count and memory format: the numbers behind the runner's
one-thread lanes (`explainaug reproduce --jobs 2`).

    python bench/threads.py [--steps 20]

Prints ms a step (forward, backward, SGD) for each network at 1 and 2 threads, NCHW and channels_last, and the
ratios: 2 threads / 1 thread, channels_last / NCHW, and the throughput of two one-thread processes (one on each
core, as `explainaug reproduce --jobs 2` runs them) over one two-thread process.

channels_last is measured here; `fit` converts models on CUDA only, and the notebooks that gain from it on CPU (excon,
to_contrast) convert with `models.channels_last`, which refuses a model with a strided 1x1 convolution of fewer than 8
input channels: its CPU backward corrupts the heap (torch 2.14.1; the width-4 smoke ResNets' `layer2.0.downsample`).
"""
import argparse, subprocess, sys, json

CASES = {   # the papers' cpu-profile networks and batches
    "reff (ResNet-18 w8, 64 px, batch 128)": ("resnet18", dict(num_classes=10, width=8, cifar_stem=False), (128, 3, 64, 64)),
    "excon (ResNet-18 w16, 16 px, batch 128)": ("resnet18", dict(num_classes=10, width=16), (128, 3, 16, 16)),
    "to_contrast (ResNet-18 w8, 16 px, batch 64)": ("resnet18", dict(num_classes=10, width=8), (64, 3, 16, 16)),
    "adv_supcon (ResNet-18 w8, 32 px, batch 32)": ("resnet18", dict(num_classes=2, width=8), (32, 3, 32, 32)),
    "fcl (LeNet w16, 32 px, batch 32)": ("lenet", dict(num_classes=10, width=16, in_chans=3, image_size=32, feat_dim=64), (32, 3, 32, 32)),
}

def child(threads, cl, steps):
    import time, torch
    from explainaug import models
    torch.set_num_threads(threads)
    out = {}
    for name, (fn, kw, shape) in CASES.items():
        torch.manual_seed(0)
        net, x = getattr(models, fn)(**kw), torch.randn(*shape)
        if cl: net = net.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        ts = []
        for i in range(steps + 3):
            t = time.perf_counter()
            loss = net(x).float().pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
            if i >= 3: ts.append(time.perf_counter() - t)
        out[name] = 1e3 * sorted(ts)[len(ts) // 2]
    print(json.dumps(out))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(*a.child, a.steps)
    res = {(t, cl): json.loads(subprocess.run([sys.executable, __file__, "--steps", str(a.steps), "--child", str(t), str(cl)],
                                               check=True, capture_output=True, text=True).stdout) for t in (1, 2) for cl in (0, 1)}
    print(f"{'network':46s} {'1t':>6s} {'1t cl':>6s} {'2t':>6s} {'2t cl':>6s} | {'2t/1t':>6s} {'cl/nchw 1t':>10s} {'cl/nchw 2t':>10s} {'2 lanes/2t':>10s}")
    for name in CASES:
        a1, c1, a2, c2 = (res[k][name] for k in ((1, 0), (1, 1), (2, 0), (2, 1)))
        print(f"{name:46s} {a1:6.1f} {c1:6.1f} {a2:6.1f} {c2:6.1f} | {a1 / a2:6.2f} {a1 / c1:10.2f} {a2 / c2:10.2f} {2 * a2 / a1:10.2f}")
    print("ms a step (median); ratios > 1: the second is faster. '2 lanes/2t': two one-thread NCHW processes over one two-thread NCHW one.")

if __name__ == "__main__":
    sys.exit(main())
