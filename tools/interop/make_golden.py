#!/usr/bin/env python3
"""Golden logits, loss and gradients of a tiny tower from the PyTorch reference, through convert.py.

  /usr/bin/python3 tools/interop/make_golden.py [--out tools/interop/fixtures]

1. builds the reference Tower of ../shared/bench/torch_reference.py (V=13, D=28, 2 layers, 2 heads),
   seed 2405, norms perturbed so a wrong axis cannot pass;
2. saves its state dict and converts it with convert.py to-zipper into fixtures/tiny-tower/
   (so the test of the TypeScript side also proves the converter's output loads);
3. writes fixtures/golden.json: token ids, a loss mask, the logits, the masked next-token
   cross-entropy (sum(mask * nll) / sum(mask)) and its gradient for every parameter, in
   @zipper/core's layout (linear weights transposed to [in, out]).
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from convert import LINEAR, reference_module  # noqa: E402

V, D, L, H, B, T = 13, 28, 2, 2, 3, 11


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(HERE / "fixtures"))
    out = Path(p.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    ref = reference_module()
    torch.manual_seed(2405)
    m = ref.Tower(V, D, L, H)
    with torch.no_grad():
        for name, prm in m.named_parameters():
            if name.endswith(".scale"):
                prm.copy_(1 + 0.3 * torch.randn_like(prm))
        m.emb.weight.mul_(20)
    with tempfile.TemporaryDirectory() as tmp:
        pt = Path(tmp) / "tiny.pt"
        torch.save(m.state_dict(), pt)
        subprocess.run([sys.executable, str(HERE / "convert.py"), "to-zipper", "--in", str(pt), "--heads", str(H),
                        "--max-seq-len", "64", "--out", str(out / "tiny-tower")], check=True, stdout=subprocess.DEVNULL)
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(0, V, (B, T + 1), generator=g)
    mask = (torch.rand((B, T), generator=g) > 0.3).float()
    mask[:, 0] = 1
    logits = m(ids[:, :-1])
    nll = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none")
    loss = (nll * mask.reshape(-1)).sum() / mask.sum()
    m.zero_grad()
    loss.backward()
    grads = {}
    for name, prm in m.named_parameters():
        gr = prm.grad.detach()
        grads[name] = [round(x, 9) for x in (gr.t() if LINEAR.match(name) else gr).flatten().tolist()]
    golden = {
        "config": {"vocabSize": V, "dModel": D, "nLayers": L, "nHeads": H},
        "ids": ids.tolist(),
        "mask": mask.tolist(),
        "logits": [round(x, 7) for x in logits.detach().flatten().tolist()],
        "loss": float(loss),
        "grads": grads,
        "torch": torch.__version__,
    }
    (out / "golden.json").write_text(json.dumps(golden) + "\n")
    print(json.dumps({"wrote": str(out), "loss": float(loss)}))


if __name__ == "__main__":
    main()
