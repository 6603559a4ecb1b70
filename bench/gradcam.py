"""Grad-CAM speed on CPU: explainaug's batched grad_cam vs captum LayerGradCam vs a per-sample loop.

ResNet-18 (CIFAR stem), a batch of 128 32x32 images, layer4, ground-truth targets. Prints times and ratios.
Run: OMP_NUM_THREADS=1 .venv/bin/python bench/gradcam.py [--batch 128] [--repeats 3] [--device cpu]
"""
import argparse, time
import torch
from captum.attr import LayerGradCam
from explainaug.explain import grad_cam
from explainaug.models import resnet18


def timeit(f, repeats):
    f()                                        # warm-up
    t = time.perf_counter()
    for _ in range(repeats): f()
    return (time.perf_counter() - t) / repeats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.manual_seed(0)
    net = resnet18(10).to(a.device).eval()
    x, y = torch.rand(a.batch, 3, 32, 32, device=a.device), torch.randint(0, 10, (a.batch,), device=a.device)
    ours = grad_cam(net, x, y)["layer4"]
    ref = LayerGradCam(net, net.layer4).attribute(x, target=y, relu_attributions=True)[:, 0]
    print(f"max |ours - captum| = {(ours - ref).abs().max().item():.2e}")
    t = dict(ours=timeit(lambda: grad_cam(net, x, y), a.repeats),
             captum=timeit(lambda: LayerGradCam(net, net.layer4).attribute(x, target=y, relu_attributions=True), a.repeats),
             loop=timeit(lambda: [grad_cam(net, x[i:i+1], y[i:i+1]) for i in range(a.batch)], max(1, a.repeats // 3)),
             ours_4_layers=timeit(lambda: grad_cam(net, x, y, layers=("layer1", "layer2", "layer3", "layer4")), a.repeats))
    print(f"torch threads: {torch.get_num_threads()}, batch {a.batch}, device {a.device}")
    for k, v in t.items(): print(f"{k:14s} {v*1e3:8.0f} ms   ratio to ours {v / t['ours']:.2f}")


if __name__ == "__main__":
    main()
