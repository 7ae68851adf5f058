#!/usr/bin/env python3
"""Speed of the PyTorch twin of a zipped pair of towers, for side-by-side comparisons.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/fuse/bench_twin.py train|generate [options]

The model: a text and a speech tower of the reference preset (torch_reference.py's defaults:
vocab 512, D 256, 4 layers, 4 heads; options change them), zipped by `--cross` gated
cross-attention layers per direction (the paper's every-n-th schedule: tower X's n-th link after
block n * L_X / cross, reading the other tower's block n * L_Y / cross), input projections
'gated' (2 layers), source projections of `--projection-layers` layers.

  train     one optimizer step (forward, per-stream loss, backward, AdamW lr 1e-3, clip 1.0) on a
            batch of `--batch` rows alternating ASR [speech S][text T] (target text) and TTS
            [text T][speech S] (target speech); --freeze text leaves the text tower out of
            training. tokens_per_s = batch * (S + T + 4) / step time (bos/eos included).
  generate  greedy decoding with the caches of zipper_decode.py, batch 1: an ASR prompt of S speech
            units, then `--new-tokens` text tokens (eos excluded from the choice so that every
            run decodes the same count, then eos at the length limit); ms_per_token = time of
            the whole decode (prompt included) / --new-tokens.
Prints one JSON line.
"""
import argparse, json, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from blas_threads import blas_threads, set_threads  # noqa: E402
import zipper_decode as zd  # noqa: E402
import zipper_reference as zr  # noqa: E402


def every_nth(towers, count):
    """The paper's schedule (as @zipper/fuse's everyNthSchedule): count links per ordered pair."""
    links = []
    for to in towers:
        for src in towers:
            if to["name"] == src["name"]:
                continue
            lt, ls = to["config"]["nLayers"], src["config"]["nLayers"]
            if lt % count or ls % count:
                sys.exit(f"bench_twin.py: --cross {count} must divide both towers' layer counts ({lt}, {ls})")
            links += [{"to": to["name"], "toLayer": n * lt // count, "from": src["name"], "fromLayer": n * ls // count} for n in range(1, count + 1)]
    return sorted(links, key=lambda l: (l["to"], l["toLayer"], l["from"]))


def config_of(a):
    def tower(name, vocab, d):
        return {"name": name, "config": {"vocabSize": vocab + 2, "dModel": d, "nLayers": a.layers, "nHeads": a.heads}, "bos": vocab, "eos": vocab + 1}

    towers = [tower("text", a.text_vocab, a.d), tower("speech", a.speech_vocab, a.speech_d or a.d)]
    return {"towers": towers, "schedule": {"links": every_nth(towers, a.cross)},
            "options": {"inputProjection": "gated", "inputProjectionLayers": 2, "projectionLayers": a.projection_layers}}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["train", "generate"])
    p.add_argument("--text-vocab", type=int, default=512, help="text tokens (bos and eos come on top)")
    p.add_argument("--speech-vocab", type=int, default=512, help="speech units (bos and eos come on top)")
    p.add_argument("--d", type=int, default=256, help="text tower width (and speech, unless --speech-d)")
    p.add_argument("--speech-d", type=int, default=0)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--cross", type=int, default=4, help="cross-attention layers per direction")
    p.add_argument("--projection-layers", type=int, default=3)
    p.add_argument("--text-len", type=int, default=16, help="T: text tokens per example")
    p.add_argument("--speech-len", type=int, default=128, help="S: speech units per example")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--freeze", default="", help="train: comma-separated towers that do not train")
    p.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    a = p.parse_args()
    torch.manual_seed(0)
    if a.threads:
        set_threads(torch, a.threads)
    config = config_of(a)
    m = zr.Zipper(config)
    n_params = sum(p.numel() for p in m.parameters())
    spec = {t["name"]: t for t in config["towers"]}

    def seg(x, n, target=False):
        t = spec[x]
        return {"tower": x, "ids": [t["bos"], *torch.randint(0, t["bos"], (n,)).tolist(), t["eos"]], "target": target}

    if a.mode == "train":
        for x in filter(None, a.freeze.split(",")):
            for prm in m.towers[x].parameters():
                prm.requires_grad_(False)
        trainable = [prm for prm in m.parameters() if prm.requires_grad]
        opt = torch.optim.AdamW(trainable, lr=1e-3)
        rows = [[seg("speech", a.speech_len), seg("text", a.text_len, True)] if i % 2 == 0 else [seg("text", a.text_len), seg("speech", a.speech_len, True)]
                for i in range(a.batch)]
        batch = zr.pack(rows, config)

        def train_step():
            loss, _ = zr.stream_losses(m(batch), batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
            return loss.item()

        for _ in range(2):
            train_step()
        t = time.perf_counter()
        for _ in range(a.steps):
            train_step()
        dt = (time.perf_counter() - t) / a.steps
        out = {"engine": "pytorch", "model": "zipper-twin", "mode": "train", "params": n_params, "step_s": dt,
               "tokens_per_s": a.batch * (a.speech_len + a.text_len + 4) / dt, "freeze": a.freeze}
    else:
        m.eval()
        prompt = [seg("speech", a.speech_len)]
        eos = spec["text"]["eos"]

        def pick(x, logits, n):  # greedy among the non-eos tokens: a fixed number of tokens per run
            return int(torch.cat([logits[:eos], logits[eos + 1:] - float("inf")]).argmax())

        def gen():
            segments, _ = zd.greedy(m, prompt, ["text"], a.new_tokens, pick)
            assert len(segments[0]["ids"]) == a.new_tokens + 2  # bos, the tokens, eos at the length limit

        gen()
        reps = max(1, a.steps // 5)
        t = time.perf_counter()
        for _ in range(reps):
            gen()
        dt = (time.perf_counter() - t) / reps
        out = {"engine": "pytorch", "model": "zipper-twin", "mode": "generate", "params": n_params,
               "ms_per_token": 1000 * dt / a.new_tokens, "tokens_per_s": a.new_tokens / dt}
    out.update({k: getattr(a, k) for k in ("text_vocab", "speech_vocab", "d", "speech_d", "layers", "heads", "cross", "projection_layers", "text_len", "speech_len", "batch")})
    out["threads"] = torch.get_num_threads()
    out["blas_threads"] = blas_threads()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
