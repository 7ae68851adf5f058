#!/usr/bin/env python3
"""Train a zipped model's fusion layers (and any unfrozen tower) with PyTorch DistributedDataParallel.

  torchrun --nproc_per_node N tools/fuse/train_ddp.py --model FUSED_DIR --data train.jsonl --out OUT_DIR \
      [--tower text=TOWER_DIR ...] [--freeze text,speech] [--steps 100] [--batch 8] [--lr 1e-3] \
      [--weights text=1,speech=1] [--seed 0] [--backend auto|gloo|nccl] [--timeout 1800]

Reads a fused checkpoint (docs/zipper.md; a frozen tower's weights come from its --tower
checkpoint) through tools/interop/convert.py, trains the PyTorch twin (zipper_reference.py) on
already-tokenized examples (JSONL, see tools/fuse/README.md), and writes the result as a fused
checkpoint again, which @zipper/fuse loads. Without torchrun it runs as one process.

Each step draws a global batch of `--batch` examples per rank from a seeded shuffle (the same on
every rank; rank r takes its slice). The loss is the contract's multi-stream loss over the GLOBAL
batch: each stream's denominator is its target count summed over all ranks (all_reduce), and each
rank's term is scaled by the world size, so DDP's gradient average is exactly the gradient of the
global loss. Gradients are clipped to norm 1.0 (--clip) and AdamW steps.

Frozen towers (--freeze) do not train. In the output a tower is stored as `frozen` (weights left
out, read from its tower checkpoint) when it was frozen in training and either already frozen in
the input or given with --tower (then checked to be bit-identical to that checkpoint); otherwise
its weights are stored.

Prints one JSON line per logged step ({"step", "loss", "losses"}) from rank 0, one line per rank
with the sha256 of its parameters at the end ({"rank", "paramsSha256"}), and a summary line.
"""
import argparse, hashlib, json, os, random, sys, time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent / "interop"))
import zipper_reference as zr  # noqa: E402
from convert import load_fused, save_fused, tower_dirs, tower_reference  # noqa: E402


def parse_weights(text, names):
    out = {}
    for part in filter(None, (text or "").split(",")):
        name, _, value = part.partition("=")
        if name not in names:
            sys.exit(f"train_ddp.py: --weights names tower {name!r}, not one of {', '.join(names)}")
        out[name] = float(value)
    return out


def read_examples(path, config):
    examples = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    ex = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"train_ddp.py: {path}:{i}: not JSON ({e})")
                if not isinstance(ex, dict) or not isinstance(ex.get("segments"), list):
                    sys.exit(f"train_ddp.py: {path}:{i}: expected {{\"segments\": [{{\"tower\", \"ids\"}}], \"targets\": [segment indices]}}")
                examples.append(zr.example_segments(ex))
    if not examples:
        sys.exit(f"train_ddp.py: {path} holds no example")
    try:
        zr.pack(examples, config)  # validates every tower name and token id once
    except zr.ZipperConfigError as e:
        sys.exit(f"train_ddp.py: {path}: {e} (example numbers count from 0)")
    return examples


def batch_indices(n, step, size, seed):
    """The `size` example indices of global step `step`: consecutive seeded permutations of 0..n-1."""
    start = step * size
    out, epoch = [], start // n
    pos = start % n
    while len(out) < size:
        perm = list(range(n))
        random.Random(seed * 1_000_003 + epoch).shuffle(perm)
        out += perm[pos:][: size - len(out)]
        epoch, pos = epoch + 1, 0
    return out


def params_sha256(model):
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()


def to_device(batch, device):
    return {"streams": {x: {k: v.to(device) for k, v in s.items()} for x, s in batch["streams"].items()}}


def save(a, doc, model, freeze, towers, when):
    """Writes the model to --out as a fused checkpoint (atomically); returns its zipper.json."""
    out_doc = {**doc, "towers": [{**t, "frozen": t["name"] in freeze and (bool(t.get("frozen")) or t["name"] in towers)} for t in doc["towers"]]}
    cpu_sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return save_fused(a.out, out_doc, cpu_sd, a.dtype, towers, converted_from=f"train_ddp.py --model {a.model}, {when}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fused checkpoint directory (zipper.json + model.safetensors)")
    p.add_argument("--tower", action="append", metavar="NAME=DIR", help="a tower checkpoint (required for towers frozen in --model)")
    p.add_argument("--data", required=True, help="JSONL of tokenized examples (tools/fuse/README.md)")
    p.add_argument("--out", required=True, help="where to write the trained fused checkpoint")
    p.add_argument("--freeze", default="", help="comma-separated towers whose weights do not train")
    p.add_argument("--weights", default="", help="per-stream loss weights, e.g. text=1,speech=0.5 (default 1)")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=8, help="examples per rank per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=1)
    p.add_argument("--save-every", type=int, default=0, help="also write --out every N steps (rank 0; 0: only at the end)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (CPU)")
    p.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto", help="auto: nccl with CUDA, else gloo")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="storage dtype of the output")
    p.add_argument("--timeout", type=float, default=1800, help="seconds a rank waits for the others (rendezvous, collectives) before failing")
    a = p.parse_args()

    distributed = "WORLD_SIZE" in os.environ
    backend = a.backend if a.backend != "auto" else ("nccl" if torch.cuda.is_available() else "gloo")
    if distributed:
        dist.init_process_group(backend, timeout=timedelta(seconds=a.timeout))
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}") if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        # the reference tower builds its rotary tables with factory calls on the default device
        torch.set_default_tensor_type(torch.cuda.FloatTensor)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    towers = tower_dirs(a.tower)
    doc, sd = load_fused(a.model, towers)
    names = [t["name"] for t in doc["towers"]]
    for name, d in towers.items():
        if name not in names:
            sys.exit(f"train_ddp.py: --tower names {name!r}, not one of {', '.join(names)}")
        spec = next(t for t in doc["towers"] if t["name"] == name)
        got, want = tower_reference(d)["sha256"], spec["checkpoint"]["sha256"]
        if got != want:
            sys.exit(f"train_ddp.py: tower {name!r}: checkpoint {d} has sha256 {got}, but {a.model} was built on sha256 {want}")
    freeze = [x for x in a.freeze.split(",") if x]
    for x in freeze:
        if x not in names:
            sys.exit(f"train_ddp.py: --freeze names tower {x!r}, not one of {', '.join(names)}")
    weights = parse_weights(a.weights, names)
    model = zr.Zipper(doc)
    model.load_state_dict(sd, strict=True)
    for x in freeze:
        for prm in model.towers[x].parameters():
            prm.requires_grad_(False)
    model.to(device)
    examples = read_examples(a.data, doc)
    # find_unused_parameters: a rank's batch may lack a tower or a target stream, leaving weights unused
    net = DDP(model, find_unused_parameters=True) if distributed else model
    trainable = [prm for prm in model.parameters() if prm.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=a.lr, weight_decay=a.weight_decay)
    frozen_before = {k: v.detach().clone() for k, v in model.state_dict().items() if k.split(".")[1] in freeze and k.startswith("towers.")}

    losses, t0 = [], time.perf_counter()
    for step in range(a.steps):
        idx = batch_indices(len(examples), step, a.batch * world, a.seed)[rank * a.batch : (rank + 1) * a.batch]
        batch = to_device(zr.pack([examples[i] for i in idx], doc), device)
        counts = torch.tensor([float(batch["streams"][x]["mask"].sum()) if x in batch["streams"] else 0.0 for x in names], device=device)
        if distributed:
            dist.all_reduce(counts)
        denominators = dict(zip(names, counts.tolist()))
        logits = net(batch)
        loss, shares = zr.stream_losses(logits, batch, denominators, weights)
        opt.zero_grad(set_to_none=True)
        (loss * world).backward()  # DDP averages gradients over ranks: world * mean = the global loss's gradient
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(trainable, a.clip)
        opt.step()
        report = torch.tensor([float(loss)] + [float(shares[x]) if x in shares else 0.0 for x in names], device=device)
        if distributed:
            dist.all_reduce(report)
        losses.append(report[0].item())
        if rank == 0 and (step % a.log_every == 0 or step == a.steps - 1):
            print(json.dumps({"step": step + 1, "loss": report[0].item(),
                              "losses": {x: report[1 + i].item() for i, x in enumerate(names) if denominators[x] > 0}}), flush=True)
        if rank == 0 and a.save_every > 0 and (step + 1) % a.save_every == 0 and step + 1 < a.steps:
            save(a, doc, model, freeze, towers, f"step {step + 1}")

    for k, v in frozen_before.items():  # frozen weights did not move
        assert torch.equal(model.state_dict()[k], v), f"frozen weight {k} changed"
    digest = params_sha256(model)
    print(json.dumps({"rank": rank, "paramsSha256": digest}), flush=True)
    digests = [None] * world
    if distributed:
        dist.all_gather_object(digests, digest)
    else:
        digests = [digest]
    if rank == 0:
        if len(set(digests)) != 1:
            sys.exit(f"train_ddp.py: the ranks' weights differ after training: {digests}")
        out_doc = save(a, doc, model, freeze, towers, f"step {a.steps}")
        print(json.dumps({"done": True, "steps": a.steps, "ranks": world, "backend": backend if distributed else None,
                          "lossFirst": losses[0], "lossLast": losses[-1], "seconds": round(time.perf_counter() - t0, 3),
                          "frozen": [t["name"] for t in out_doc["towers"] if t["frozen"]], "out": a.out}), flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
