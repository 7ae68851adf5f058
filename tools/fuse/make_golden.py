#!/usr/bin/env python3
"""Golden logits, per-stream losses and gradients of a tiny zipped model, from the PyTorch twin.

  /usr/bin/python3 tools/fuse/make_golden.py [--out tools/fuse/fixtures]

1. builds the twin (zipper_reference.py) of two towers of different widths and depths:
   text V=13 D=16 H=2 L=2 (bos 11, eos 12), speech V=11 D=24 H=3 L=3 (bos 9, eos 10), input
   projections 'gated' (2 layers), source projections of 2 layers, 5 links (speech reads text
   after each of its blocks, from text's h0, block 1 and block 2; text reads speech blocks 1 and 3
   after its blocks 1 and 2); seed 2405; every gate in [0.3, 0.9], fusion weights
   normal(0, 1/sqrt(fan_in)), biases and norm scales perturbed, so that cross-attention moves
   the logits and a swapped axis cannot pass;
2. saves each tower with convert.py to-zipper (fixtures/text-tower, fixtures/speech-tower) and the
   zipped model with convert.py to-zipper (fixtures/zipped: zipper.json + model.safetensors, both
   towers unfrozen, so every weight is in it; zipper.json records the tower checkpoints' sha256);
3. writes fixtures/golden.json (the examples, their per-tower streams, logits, per-stream losses,
   denominators, weights, total loss; and the logits and losses of the same weights with input
   projection 'replace' and 'none') and fixtures/golden-grads.safetensors (the gradient of the
   weighted total loss for every parameter, in @zipper/fuse's layout: linear weights [in, out]);
4. writes fixtures/train.jsonl: 24 aligned ASR/TTS examples for tools/fuse/train_ddp.py;
5. the same for three towers in fixtures/three (zipped/, golden.json, golden-grads.safetensors):
   text, speech and image of widths 8, 12 and 4, two links into one reader layer (applied in
   schedule order), segments of all three towers in one row.
The batch is ragged: an ASR row [speech][text], a TTS row [text][speech] and a row
[text][speech][text] whose first text segment sees no speech (v = 0).
"""
import argparse, json, math, subprocess, sys, tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "interop"))
import zipper_reference as zr  # noqa: E402
from convert import FUSED_LINEAR, encode_safetensors, load_fused, tower_reference  # noqa: E402

SEED = 2405
CONVERT = str(HERE.parent / "interop" / "convert.py")
TOWERS = [
    {"name": "text", "config": {"vocabSize": 13, "dModel": 16, "nLayers": 2, "nHeads": 2}, "bos": 11, "eos": 12},
    {"name": "speech", "config": {"vocabSize": 11, "dModel": 24, "nLayers": 3, "nHeads": 3}, "bos": 9, "eos": 10},
]
LINKS = [  # schedule order: (to, toLayer, from)
    {"to": "speech", "toLayer": 1, "from": "text", "fromLayer": 0},
    {"to": "speech", "toLayer": 2, "from": "text", "fromLayer": 1},
    {"to": "speech", "toLayer": 3, "from": "text", "fromLayer": 2},
    {"to": "text", "toLayer": 1, "from": "speech", "fromLayer": 1},
    {"to": "text", "toLayer": 2, "from": "speech", "fromLayer": 3},
]
OPTIONS = {"inputProjection": "gated", "inputProjectionLayers": 2, "projectionLayers": 2}
WEIGHTS = {"text": 1.0, "speech": 0.5}
TOWER_DEFAULTS = {"mlpRatio": 4, "normEps": 1e-6, "ropeBase": 10000, "maxSeqLen": 64, "tieEmbeddings": True}


def model_config():
    towers = [{**t, "config": {**t["config"], **TOWER_DEFAULTS}, "frozen": False} for t in TOWERS]
    return {"towers": towers, "schedule": {"links": LINKS}, "options": OPTIONS}


def build(config):
    torch.manual_seed(SEED)
    m = zr.Zipper(config)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith(".scale"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("gate") or name.endswith("gate_attn") or name.endswith("gate_ff"):
                p.uniform_(0.3, 0.9)
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif not name.startswith("towers.") and p.dim() == 2:
                p.normal_(0, 1 / math.sqrt(p.shape[1]))  # nn.Linear [out, in]: fan_in = shape[1]
            elif name.endswith("emb.weight"):
                p.mul_(20)
    return m


def examples():
    g = torch.Generator().manual_seed(11)

    def seg(tower, n, target):
        t = next(x for x in TOWERS if x["name"] == tower)
        content = torch.randint(0, t["bos"], (n,), generator=g).tolist()  # ids below bos: content tokens
        return {"tower": tower, "ids": [t["bos"], *content, t["eos"]], "target": target}

    return [
        [seg("speech", 5, False), seg("text", 3, True)],  # ASR: speech 7, text 5
        [seg("text", 2, False), seg("speech", 7, True)],  # TTS: text 4, speech 9
        [seg("text", 1, False), seg("speech", 3, True), seg("text", 3, True)],  # text 3 + 5, speech 5
    ]


def training_examples(n=24):
    """Aligned pairs for train_ddp.py (fixtures/train.jsonl): a text of 2..5 ids below bos, its
    "speech" two units per text id ((3 id + 1) mod 9, then id mod 9), as ASR or TTS in turn."""
    g = torch.Generator().manual_seed(7)
    out = []
    for i in range(n):
        text = torch.randint(0, 11, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g).tolist()
        speech = [u for t in text for u in ((3 * t + 1) % 9, t % 9)]
        t_seg = {"tower": "text", "ids": [11, *text, 12]}
        s_seg = {"tower": "speech", "ids": [9, *speech, 10]}
        out.append({"segments": [s_seg, t_seg], "targets": [1]} if i % 2 == 0 else {"segments": [t_seg, s_seg], "targets": [1]})
    return out


def rounded(t, digits=7):
    return [round(x, digits) for x in t.detach().flatten().tolist()]


GATE_NAMES = ("gate", "gate_attn", "gate_ff")


def save_zipped(m, config, out, tmp):
    """The twin's weights through convert.py to-zipper into out/zipped; checks they load back exactly."""
    pt = Path(tmp) / "zipped.pt"
    torch.save({"config": config, "state_dict": m.state_dict()}, pt)
    subprocess.run([sys.executable, CONVERT, "to-zipper", "--in", str(pt), "--out", str(out / "zipped")], check=True, stdout=subprocess.DEVNULL)
    doc, sd = load_fused(out / "zipped")
    assert set(sd) == set(m.state_dict())
    for k, v in m.state_dict().items():  # the checkpoint holds exactly the twin's weights
        assert torch.equal(sd[k], v), k
    return doc


def golden_case(m, config, doc, exs, weights, out):
    """Logits, per-stream losses and every gradient of the weighted total loss on `exs`: writes
    out/golden-grads.safetensors and returns golden.json's content."""
    batch = zr.pack(exs, config)
    logits = m(batch)
    loss, shares = zr.stream_losses(logits, batch, weights=weights)
    m.zero_grad()
    loss.backward()
    grads = {}
    for name, prm in m.named_parameters():
        gr = prm.grad.detach()
        assert gr.abs().sum() > 0, f"{name}: zero gradient, the golden batch does not exercise it"
        grads[name] = (gr.t() if FUSED_LINEAR.match(name) else gr).contiguous()
    (out / "golden-grads.safetensors").write_bytes(encode_safetensors(grads, {"format": "pt", "what": "gradients of the weighted total loss"}))

    with torch.no_grad():  # how much the fusion moves each tower's logits (gates 0 = lone towers)
        plain = zr.Zipper(config)
        plain.load_state_dict({k: (torch.zeros_like(v) if k.split(".")[-1] in GATE_NAMES else v) for k, v in m.state_dict().items()})
        lone = plain(batch)
    effect = {x: float(((logits[x] - lone[x]) * batch["streams"][x]["valid"][..., None]).abs().max()) for x in logits}
    assert min(effect.values()) > 0.1, f"cross-attention barely moves the logits: {effect}"

    streams = {x: {"ids": s["ids"].tolist(), "global": s["gidx"].tolist(), "lengths": s["valid"].sum(1).tolist(),
                   "targets": s["targets"].tolist(), "mask": s["mask"].tolist()} for x, s in batch["streams"].items()}
    return {
        "config": {k: doc[k] for k in ("towers", "schedule", "options")},
        "examples": exs,
        "weights": weights,
        "streams": streams,
        "logits": {x: rounded(v) for x, v in logits.items()},
        "logitsShape": {x: list(v.shape) for x, v in logits.items()},
        "denominators": zr.target_counts(batch),
        "losses": {x: float(v) for x, v in shares.items()},
        "loss": float(loss),
        "fusionEffect": effect,
        "grads": "golden-grads.safetensors",
        "torch": torch.__version__,
    }


def three_towers(out, tmp):
    """fixtures/three: text V7 D8 H2 L2, speech V5 D12 H3 L2, image V6 D4 H1 L1 (towers stored, no
    tower checkpoints); text's block 1 is followed by two links, applied in schedule order (from
    image, then from speech), and image reads text's h0."""
    towers = [
        {"name": "text", "config": {"vocabSize": 7, "dModel": 8, "nLayers": 2, "nHeads": 2, **TOWER_DEFAULTS}, "bos": 5, "eos": 6},
        {"name": "speech", "config": {"vocabSize": 5, "dModel": 12, "nLayers": 2, "nHeads": 3, **TOWER_DEFAULTS}, "bos": 3, "eos": 4},
        {"name": "image", "config": {"vocabSize": 6, "dModel": 4, "nLayers": 1, "nHeads": 1, **TOWER_DEFAULTS}, "bos": 4, "eos": 5},
    ]
    config = {"towers": [{**t, "frozen": False, "checkpoint": None} for t in towers],
              "schedule": {"links": [  # schedule order: (to, toLayer, from)
                  {"to": "image", "toLayer": 1, "from": "text", "fromLayer": 0},
                  {"to": "speech", "toLayer": 2, "from": "text", "fromLayer": 1},
                  {"to": "text", "toLayer": 1, "from": "image", "fromLayer": 1},
                  {"to": "text", "toLayer": 1, "from": "speech", "fromLayer": 1},
                  {"to": "text", "toLayer": 2, "from": "speech", "fromLayer": 2},
              ]},
              "options": {"inputProjection": "gated", "inputProjectionLayers": 1, "projectionLayers": 3}}
    m = build(config)
    out.mkdir(parents=True, exist_ok=True)
    doc = save_zipped(m, config, out, tmp)
    exs = [
        [{"tower": "image", "ids": [4, 0, 3, 5]}, {"tower": "speech", "ids": [3, 1, 2, 0, 4]}, {"tower": "text", "ids": [5, 2, 4, 6], "target": True}],
        [{"tower": "text", "ids": [5, 1, 6]}, {"tower": "image", "ids": [4, 2, 2, 1, 5], "target": True}],
        [{"tower": "speech", "ids": [3, 2, 4]}, {"tower": "text", "ids": [5, 0, 3, 1, 6], "target": True}, {"tower": "speech", "ids": [3, 0, 0, 2, 1, 4], "target": True}],
    ]
    golden = golden_case(m, config, doc, exs, {"text": 1.0, "speech": 0.8, "image": 0.6}, out)
    (out / "golden.json").write_text(json.dumps(golden) + "\n")
    return golden


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(HERE / "fixtures"))
    out = Path(p.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    config = model_config()
    m = build(config)
    with tempfile.TemporaryDirectory() as tmp:
        for t in config["towers"]:
            pt = Path(tmp) / f"{t['name']}.pt"
            torch.save(m.towers[t["name"]].state_dict(), pt)
            d = out / f"{t['name']}-tower"
            subprocess.run([sys.executable, CONVERT, "to-zipper", "--in", str(pt), "--heads", str(t["config"]["nHeads"]),
                            "--max-seq-len", str(t["config"]["maxSeqLen"]), "--out", str(d)], check=True, stdout=subprocess.DEVNULL)
            t["checkpoint"] = tower_reference(d)
        doc = save_zipped(m, config, out, tmp)
        three = three_towers(out / "three", tmp)

    exs = examples()
    golden = golden_case(m, config, doc, exs, WEIGHTS, out)
    batch = zr.pack(exs, config)
    variants = {}  # the other input projections on the same weights (their keys are a subset)
    for mode in ("replace", "none"):
        vc = {**config, "options": {**OPTIONS, "inputProjection": mode}}
        vm = zr.Zipper(vc)
        vm.load_state_dict({k: v for k, v in m.state_dict().items() if k in vm.state_dict()}, strict=True)
        with torch.no_grad():
            vl = vm(batch)
            vloss, vshares = zr.stream_losses(vl, batch, weights=WEIGHTS)
        variants[mode] = {"logits": {x: rounded(v) for x, v in vl.items()}, "losses": {x: float(v) for x, v in vshares.items()}, "loss": float(vloss)}
    golden["inputProjectionVariants"] = variants
    (out / "golden.json").write_text(json.dumps(golden) + "\n")
    (out / "train.jsonl").write_text("".join(json.dumps(ex) + "\n" for ex in training_examples()))
    print(json.dumps({"wrote": str(out), "loss": golden["loss"], "losses": golden["losses"], "fusionEffect": golden["fusionEffect"],
                      "three": {"loss": three["loss"], "losses": three["losses"], "fusionEffect": three["fusionEffect"]}}))


if __name__ == "__main__":
    main()
