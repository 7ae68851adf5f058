#!/usr/bin/env python3
"""Convert decoder towers between PyTorch and @zipper/core checkpoints, both ways.

The reference architecture (../shared/bench/torch_reference.py) and @zipper/core's Tower use the
same state-dict keys (`emb.weight`, `blocks.{i}.qkv.weight`, ..., `norm.scale`). The one layout
difference: nn.Linear stores weights [out, in]; @zipper/core stores them [in, out] so that its
forward pass is a plain 2-D matMul (the fast path on the wasm backend). This script transposes
exactly the linear weights and nothing else.

  to-zipper  --in model.pt --heads H --out DIR [--dtype float32|float16] [--max-seq-len N]
             A torch state dict (torch.save(model.state_dict())) -> a zipper checkpoint directory
             (model.safetensors + config.json + metadata.json with the sha256 of the weights).
  to-torch   --in DIR --out model.pt [--check]
             A zipper checkpoint directory -> a torch state dict; --check loads it into the
             reference Tower with strict=True (every key and shape must match) and runs a forward.

Zipped (fused) models, docs/zipper.md "Checkpoint format"; keys `towers.<X>.*`, `inproj.*`,
`cross.*` are the same on both sides, and again exactly the linear weights are transposed:
  to-zipper  --in model.pt --out DIR [--dtype ...] [--tower X=TOWER_DIR ...]
             model.pt = {"config": <zipper.json's towers, schedule, options>, "state_dict": ...}
             (as to-torch writes it) -> a fused checkpoint directory (zipper.json +
             model.safetensors without the weights of towers marked `frozen`; a --tower given for
             a frozen tower is checked to hold exactly the weights in model.pt).
  to-torch   --in DIR --out model.pt [--tower X=TOWER_DIR ...] [--check]
             A fused checkpoint directory (it has zipper.json) -> that model.pt, every tower's
             weights included: a frozen tower's come from its --tower checkpoint, whose sha256
             must equal the one zipper.json records. --check loads the PyTorch twin
             (tools/fuse/zipper_reference.py) with strict=True and runs a forward.

Run with Debian's torch (apt-get install python3-torch):
  /usr/bin/python3 tools/interop/convert.py to-zipper --in model.pt --heads 4 --out ckpt/
The reference is the repository's tools/bench/torch_reference.py (ZIPPER_TORCH_REFERENCE: another folder).
"""
import argparse, datetime, hashlib, json, os, re, struct, sys, tempfile
from pathlib import Path

import torch

ARCH = "zipper-decoder-tower"
FORMAT, FORMAT_VERSION = "zipper-checkpoint", 1
LINEAR = re.compile(r"^blocks\.\d+\.(qkv|out|up|down)\.weight$")
FUSED_FORMAT, FUSED_FORMAT_VERSION = "zipper-fused-checkpoint", 1
_NAME = r"[a-z][a-z0-9_]*"
FUSED_LINEAR = re.compile(
    rf"^(towers\.{_NAME}\.blocks\.\d+\.(qkv|out|up|down)"
    rf"|inproj\.{_NAME}\.layers\.\d+"
    rf"|cross\.{_NAME}_from_{_NAME}\.\d+\.(proj\.layers\.\d+|attn\.(q|kv|out)|ff\.(up|down))"
    rf"|ctc\.{_NAME}_from_{_NAME}(\.encoder\.\d+\.(qkv|out|up|down))?)\.weight$"
)
DTYPES = {"F32": torch.float32, "F16": torch.float16}


def reference_module():
    here = Path(__file__).resolve()
    where = os.environ.get("ZIPPER_TORCH_REFERENCE") or str(here.parents[1] / "bench")  # tools/bench
    sys.path.insert(0, where)
    try:
        import torch_reference  # noqa: E402
    except ImportError as e:
        sys.exit(f"convert.py: cannot import torch_reference.py from {where} ({e}); set ZIPPER_TORCH_REFERENCE")
    return torch_reference


def encode_safetensors(tensors, metadata):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        code = {torch.float32: "F32", torch.float16: "F16"}[t.dtype]
        b = t.contiguous().numpy().tobytes()  # little-endian on every platform torch supports here
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def read_safetensors(path):
    return decode_safetensors(Path(path).read_bytes())


def decode_safetensors(data):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + a : 8 + n + b]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).float()
    return out, data


def to_zipper(args):
    sd = torch.load(args.inp, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and "config" in sd:
        return to_zipper_fused(args, sd)
    if not isinstance(sd, dict):
        sd = sd.state_dict()
    if args.heads is None:
        sys.exit("convert.py: --heads is required for a tower (attention heads are not recoverable from weight shapes)")
    emb = sd["emb.weight"]
    n_layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    config = {"vocabSize": emb.shape[0], "dModel": emb.shape[1], "nLayers": n_layers, "nHeads": args.heads,
              "mlpRatio": sd["blocks.0.up.weight"].shape[0] // emb.shape[1], "normEps": 1e-6, "ropeBase": 10000,
              "maxSeqLen": args.max_seq_len, "tieEmbeddings": True}
    dtype = torch.float16 if args.dtype == "float16" else torch.float32
    tensors = {k: (v.t() if LINEAR.match(k) else v).detach().to(dtype).contiguous() for k, v in sd.items()}
    data = encode_safetensors(tensors, {"format": "pt", "arch": ARCH})
    meta = {"format": FORMAT, "formatVersion": FORMAT_VERSION,
            "weights": {"file": "model.safetensors", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "dtype": args.dtype},
            "createdAt": now(), "createdWith": created_with(),
            "user": {"convertedFrom": os.path.basename(args.inp)}}
    write_dir_atomic(args.out, {"model.safetensors": data,
                                "config.json": json_bytes({"arch": ARCH, **config}),
                                "metadata.json": json_bytes(meta)})
    print(json.dumps({"wrote": str(args.out), "tensors": len(tensors), "config": config}))


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def created_with():
    return {"torch": torch.__version__, "converter": "tools/interop/convert.py"}


def json_bytes(value):
    return (json.dumps(value, indent=2) + "\n").encode()


def write_dir_atomic(out, files):
    """Writes {name: bytes} as directory `out`, swapped in only once complete."""
    out = Path(out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    os.chmod(tmp, 0o755)
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    if out.exists():  # swap in atomically enough for a CLI: old dir removed only after the new one is complete
        old = parent / f".{out.name}.old"
        os.replace(out, old)
        os.replace(tmp, out)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(tmp, out)


def to_torch(args):
    d = Path(args.inp)
    if (d / "zipper.json").exists():
        return to_torch_fused(args)
    meta = json.loads((d / "metadata.json").read_text())
    config = json.loads((d / "config.json").read_text())
    tensors, data = read_safetensors(d / "model.safetensors")
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta["weights"]["sha256"]:
        sys.exit(f"convert.py: {d}/model.safetensors sha256 {digest} does not match metadata.json")
    sd = {k: (v.t() if LINEAR.match(k) else v).contiguous() for k, v in tensors.items()}
    torch.save(sd, args.out)
    result = {"wrote": args.out, "tensors": len(sd)}
    if args.check:
        ref = reference_module()
        m = ref.Tower(config["vocabSize"], config["dModel"], config["nLayers"], config["nHeads"])
        m.load_state_dict(sd, strict=True)  # raises naming any missing/unexpected key or bad shape
        with torch.no_grad():
            logits = m(torch.zeros((1, 4), dtype=torch.long))
        result["check"] = {"strict_load": True, "logits_shape": list(logits.shape), "finite": bool(torch.isfinite(logits).all())}
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# zipped models


def fuse_module():
    """tools/fuse/zipper_reference.py (the PyTorch twin of @zipper/fuse)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuse"))
    import zipper_reference  # noqa: E402
    return zipper_reference


def tower_dirs(specs):
    """["text=DIR", ...] -> {"text": Path(DIR)}."""
    out = {}
    for spec in specs or []:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            sys.exit(f"convert.py: --tower takes NAME=DIR (e.g. text=runs/text-tower), got {spec!r}")
        out[name] = Path(where)
    return out


def read_tower_checkpoint(d):
    """A tower checkpoint directory -> (config, tensors in zipper layout, sha256 of its weights)."""
    d = Path(d)
    meta = json.loads((d / "metadata.json").read_text())
    config = json.loads((d / "config.json").read_text())
    tensors, data = read_safetensors(d / meta["weights"]["file"])
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta["weights"]["sha256"]:
        sys.exit(f"convert.py: {d}/{meta['weights']['file']} sha256 {digest} does not match its metadata.json ({meta['weights']['sha256']})")
    return config, tensors, digest


def tower_reference(d):
    """The `checkpoint` entry of zipper.json for a tower checkpoint directory (docs/zipper.md)."""
    meta = json.loads((Path(d) / "metadata.json").read_text())
    user = meta.get("user", {})
    return {"name": user.get("name", Path(d).resolve().name), "version": user.get("version"), "sha256": meta["weights"]["sha256"]}


def model_config(config):
    """The part of zipper.json that describes the model (what the twin and to-zipper need); each
    tower's config is its config.json (with `arch`, which @zipper/fuse's loader requires)."""
    towers = [{**t, "config": {"arch": ARCH, **{k: v for k, v in t["config"].items() if k != "arch"}}} for t in config["towers"]]
    return {"towers": towers, "schedule": config["schedule"], "options": config.get("options", {})}


def save_fused(out, config, state_dict, dtype="float32", towers=None, converted_from=None):
    """Writes a fused checkpoint directory from a torch-layout state dict (docs/zipper.md).

    Towers marked `frozen` in `config` are left out of model.safetensors; for each of them a tower
    checkpoint in `towers` ({name: dir}) is compared with the state dict, which must hold exactly
    its weights. Returns the written zipper.json.
    """
    frozen = {t["name"] for t in config["towers"] if t.get("frozen")}
    towers = towers or {}
    for name in frozen & set(towers):
        _, base, _ = read_tower_checkpoint(towers[name])
        for k, v in base.items():
            mine = state_dict[f"towers.{name}.{k}"]
            mine = mine.t() if LINEAR.match(k) else mine
            if not torch.equal(mine.detach().float(), v):
                sys.exit(f"convert.py: tower {name!r} is marked frozen but its weight {k} differs from {towers[name]}; unfreeze it or pass its own checkpoint")
    keep = {k: v for k, v in state_dict.items() if not (k.startswith("towers.") and k.split(".")[1] in frozen)}
    torch_dtype = torch.float16 if dtype == "float16" else torch.float32
    tensors = {k: (v.t() if FUSED_LINEAR.match(k) else v).detach().to(torch_dtype).contiguous() for k, v in keep.items()}
    data = encode_safetensors(tensors, {"format": "pt", "arch": "zipper-fused"})
    doc = {"format": FUSED_FORMAT, "formatVersion": FUSED_FORMAT_VERSION, **model_config(config),
           "weights": {"file": "model.safetensors", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "dtype": dtype},
           "createdAt": now(), "createdWith": created_with()}
    if converted_from:
        doc["user"] = {"convertedFrom": converted_from}
    write_dir_atomic(out, {"model.safetensors": data, "zipper.json": json_bytes(doc)})
    return doc


def load_fused(d, towers=None):
    """A fused checkpoint directory -> (zipper.json, torch-layout state dict of every weight).

    A frozen tower's weights come from its tower checkpoint in `towers` ({name: dir}), whose
    sha256 must equal the one zipper.json records; exits naming the tower and both hashes if not.
    """
    d = Path(d)
    doc = json.loads((d / "zipper.json").read_text())
    if doc.get("format") != FUSED_FORMAT or doc.get("formatVersion") != FUSED_FORMAT_VERSION:
        sys.exit(f"convert.py: {d}/zipper.json is not a {FUSED_FORMAT} v{FUSED_FORMAT_VERSION} (format {doc.get('format')!r} v{doc.get('formatVersion')!r})")
    tensors, data = read_safetensors(d / doc["weights"]["file"])
    digest = hashlib.sha256(data).hexdigest()
    if digest != doc["weights"]["sha256"]:
        sys.exit(f"convert.py: {d}/{doc['weights']['file']} sha256 {digest} does not match zipper.json ({doc['weights']['sha256']})")
    towers = towers or {}
    for t in doc["towers"]:
        name, stored = t["name"], any(k.startswith(f"towers.{t['name']}.") for k in tensors)
        if t.get("frozen") and stored:
            sys.exit(f"convert.py: {d}: tower {name!r} is marked frozen but model.safetensors holds its weights")
        if not t.get("frozen"):
            if not stored:
                sys.exit(f"convert.py: {d}: tower {name!r} is not frozen but model.safetensors lacks its weights")
            continue
        if name not in towers:
            sys.exit(f"convert.py: tower {name!r} is frozen in {d}: pass its tower checkpoint with --tower {name}=DIR (sha256 {t['checkpoint']['sha256']})")
        _, base, got = read_tower_checkpoint(towers[name])
        want = t["checkpoint"]["sha256"]
        if got != want:
            sys.exit(f"convert.py: tower {name!r}: checkpoint {towers[name]} has sha256 {got}, but {d} was built on sha256 {want}")
        tensors.update({f"towers.{name}.{k}": v for k, v in base.items()})
    sd = {k: (v.t() if FUSED_LINEAR.match(k) else v).contiguous() for k, v in tensors.items()}
    return doc, sd


def to_zipper_fused(args, saved):
    doc = save_fused(args.out, saved["config"], saved["state_dict"], args.dtype, tower_dirs(args.tower), os.path.basename(args.inp))
    print(json.dumps({"wrote": str(args.out), "fused": True, "towers": [t["name"] for t in doc["towers"]],
                      "frozen": [t["name"] for t in doc["towers"] if t.get("frozen")], "links": len(doc["schedule"]["links"])}))


def to_torch_fused(args):
    doc, sd = load_fused(args.inp, tower_dirs(args.tower))
    torch.save({"config": model_config(doc), "state_dict": sd}, args.out)
    result = {"wrote": args.out, "fused": True, "tensors": len(sd)}
    if args.check:
        zr = fuse_module()
        m = zr.Zipper(doc)
        m.load_state_dict(sd, strict=True)  # raises naming any missing/unexpected key or bad shape
        example = [{"tower": t["name"], "ids": [t["bos"], t["eos"]], "target": True} for t in doc["towers"]]
        with torch.no_grad():
            logits = m(zr.pack([example], doc))
        result["check"] = {"strict_load": True, "finite": all(bool(torch.isfinite(v).all()) for v in logits.values()),
                           "logits_shape": {k: list(v.shape) for k, v in logits.items()}}
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-zipper")
    a.add_argument("--in", dest="inp", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--heads", type=int, help="a tower's attention heads (not recoverable from weight shapes); required for towers")
    a.add_argument("--tower", action="append", metavar="NAME=DIR", help="zipped models: a frozen tower's checkpoint, checked against model.pt")
    a.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    a.add_argument("--max-seq-len", type=int, default=2048)
    b = sub.add_parser("to-torch")
    b.add_argument("--in", dest="inp", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--tower", action="append", metavar="NAME=DIR", help="zipped models: the tower checkpoint of a frozen tower")
    b.add_argument("--check", action="store_true")
    args = p.parse_args()
    (to_zipper if args.cmd == "to-zipper" else to_torch)(args)


if __name__ == "__main__":
    main()
