"""Golden numbers for packages/core/test/train-*.test.ts (AdamW, clipping, masked loss).

Independent reference: PyTorch's own torch.optim.AdamW, torch.nn.utils.clip_grad_norm_ and
F.cross_entropy, run in float64 on inputs that are exactly representable in float32.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/golden/adamw.py
Writes tools/golden/adamw.json next to this file.
"""
import json
import math
import os

import torch
import torch.nn.functional as F


def f32(t):
    """Round to float32, then compute in float64 (so the TS float32 inputs are identical)."""
    return t.to(torch.float32).to(torch.float64)


def lst(t):
    return t.reshape(-1).tolist()


def adamw_case():
    torch.manual_seed(0)
    # w: [7, 3] decayed; scale: [3] not decayed (the param-name filter).
    w = f32(torch.randn(7, 3)).requires_grad_(True)
    scale = f32(1.0 + 0.1 * torch.randn(3)).requires_grad_(True)
    init = {"w": lst(w.detach()), "scale": lst(scale.detach())}
    lrs = [0.01, 0.02, 0.015, 0.005, 0.001, 0.03]
    opt = torch.optim.AdamW(
        [
            {"params": [w], "weight_decay": 0.1},
            {"params": [scale], "weight_decay": 0.0},
        ],
        lr=lrs[0], betas=(0.9, 0.95), eps=1e-8,
    )
    steps = []
    for t, lr in enumerate(lrs):
        gw = f32(torch.tensor([[math.sin(0.37 * (i * 3 + j) + 1.3 * t) for j in range(3)] for i in range(7)], dtype=torch.float64))
        gw[2, 1] = 0.0  # a zero gradient: only decay moves it
        gs = f32(torch.tensor([math.cos(0.5 * j - 0.7 * t) * 0.01 for j in range(3)], dtype=torch.float64))
        for g in opt.param_groups:
            g["lr"] = lr
        w.grad = gw.clone()
        scale.grad = gs.clone()
        opt.step()
        steps.append({
            "lr": lr,
            "grads": {"w": lst(gw), "scale": lst(gs)},
            "params": {"w": lst(w.detach()), "scale": lst(scale.detach())},
            "exp_avg": {"w": lst(opt.state[w]["exp_avg"]), "scale": lst(opt.state[scale]["exp_avg"])},
            "exp_avg_sq": {"w": lst(opt.state[w]["exp_avg_sq"]), "scale": lst(opt.state[scale]["exp_avg_sq"])},
        })
    return {
        "shapes": {"w": [7, 3], "scale": [3]},
        "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "no_decay": ["scale"],
        "init": init, "steps": steps,
    }


def clip_case(factor):
    torch.manual_seed(1)
    a = f32(factor * torch.randn(11, 7))
    b = f32(factor * torch.randn(13))
    pa = torch.zeros_like(a, requires_grad=True)
    pb = torch.zeros_like(b, requires_grad=True)
    pa.grad, pb.grad = a.clone(), b.clone()
    norm = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm=1.0)
    return {
        "shapes": {"a": [11, 7], "b": [13]},
        "grads": {"a": lst(a), "b": lst(b)},
        "max_norm": 1.0, "total_norm": float(norm),
        "clipped": {"a": lst(pa.grad), "b": lst(pb.grad)},
    }


def loss_case():
    torch.manual_seed(2)
    B, T, V = 2, 7, 11
    logits = f32(3.0 * torch.randn(B, T, V)).requires_grad_(True)
    targets = torch.randint(0, V, (B, T))
    mask = (torch.rand(B, T) < 0.6).to(torch.float64)
    mask[0, 0] = 1.0
    nll = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(-1), reduction="none").reshape(B, T)
    loss = (nll * mask).sum() / mask.sum()
    loss.backward()
    return {
        "shape": [B, T, V], "logits": lst(logits.detach()), "targets": lst(targets),
        "mask": lst(mask), "loss": float(loss), "grad_logits": lst(logits.grad),
    }


if __name__ == "__main__":
    out = {
        "torch": torch.__version__,
        "adamw": adamw_case(),
        "clip_large": clip_case(1.0),
        "clip_small": clip_case(0.01),
        "masked_loss": loss_case(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adamw.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({"wrote": path, "clip_large_norm": out["clip_large"]["total_norm"], "clip_small_norm": out["clip_small"]["total_norm"], "loss": out["masked_loss"]["loss"]}))
