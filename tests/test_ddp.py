"DDP through Lightning Fabric on CPU (gloo): two processes with half batches train exactly like one process with full batches."
import subprocess, sys, textwrap

SCRIPT = textwrap.dedent('''
    import sys, tempfile, torch
    from torch import nn
    from explainaug.train import Method, fit
    class CE(Method):
        def __init__(self):
            torch.manual_seed(0)
            self.model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.5)
        def step(self, batch):
            x, y = batch
            loss = nn.functional.cross_entropy(self.model(x), y)
            self.opt.zero_grad(); self.backward(loss); self.opt.step()
            return dict(loss=loss)
    def loader(bs):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(64, 8, generator=g); y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=bs, shuffle=False)
    if __name__ == "__main__":
        one = CE(); h1 = fit(one, loader(16), 3, device="cpu")
        two = CE(); h2 = fit(two, loader(8), 3, device="cpu", devices=2, strategy="ddp_fork", out=tempfile.mkdtemp())
        for a, b in zip(one.model.parameters(), two.model.parameters()):
            assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
        assert abs(h1[-1]["loss"] - h2[-1]["loss"]) < 1e-5, (h1[-1], h2[-1])
        print("DDP-OK")
''')


def test_ddp_two_processes_match_one(tmp_path):
    script = tmp_path/"ddp.py"; script.write_text(SCRIPT)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env={"EXPLAINAUG_PROGRESS": "0", "PATH": ""})
    assert "DDP-OK" in r.stdout, r.stdout[-2000:] + r.stderr[-4000:]
