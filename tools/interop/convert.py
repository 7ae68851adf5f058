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

Run with Debian's torch (apt-get install python3-torch):
  /usr/bin/python3 tools/interop/convert.py to-zipper --in model.pt --heads 4 --out ckpt/
Set ZIPPER_TORCH_REFERENCE to the folder holding torch_reference.py if it is not ../shared/bench.
"""
import argparse, datetime, hashlib, json, os, re, struct, sys, tempfile
from pathlib import Path

import torch

ARCH = "zipper-decoder-tower"
FORMAT, FORMAT_VERSION = "zipper-checkpoint", 1
LINEAR = re.compile(r"^blocks\.\d+\.(qkv|out|up|down)\.weight$")
DTYPES = {"F32": torch.float32, "F16": torch.float16}


def reference_module():
    here = Path(__file__).resolve()
    where = os.environ.get("ZIPPER_TORCH_REFERENCE") or str(here.parents[2].parent / "shared" / "bench")
    sys.path.insert(0, where)
    try:
        import torch_reference  # noqa: E402
    except ImportError as e:
        sys.exit(f"convert.py: cannot import torch_reference.py from {where} ({e}); set ZIPPER_TORCH_REFERENCE")
    return torch_reference


def write_safetensors(path, tensors, metadata):
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
    data = struct.pack("<Q", len(h)) + h + b"".join(blobs)
    Path(path).write_bytes(data)
    return data


def read_safetensors(path):
    data = Path(path).read_bytes()
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
    if not isinstance(sd, dict):
        sd = sd.state_dict()
    emb = sd["emb.weight"]
    n_layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    config = {"vocabSize": emb.shape[0], "dModel": emb.shape[1], "nLayers": n_layers, "nHeads": args.heads,
              "mlpRatio": sd["blocks.0.up.weight"].shape[0] // emb.shape[1], "normEps": 1e-6, "ropeBase": 10000,
              "maxSeqLen": args.max_seq_len, "tieEmbeddings": True}
    dtype = torch.float16 if args.dtype == "float16" else torch.float32
    tensors = {k: (v.t() if LINEAR.match(k) else v).detach().to(dtype).contiguous() for k, v in sd.items()}
    out = Path(args.out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    os.chmod(tmp, 0o755)
    data = write_safetensors(tmp / "model.safetensors", tensors, {"format": "pt", "arch": ARCH})
    (tmp / "config.json").write_text(json.dumps({"arch": ARCH, **config}, indent=2) + "\n")
    meta = {"format": FORMAT, "formatVersion": FORMAT_VERSION,
            "weights": {"file": "model.safetensors", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "dtype": args.dtype},
            "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "createdWith": {"torch": torch.__version__, "converter": "tools/interop/convert.py"},
            "user": {"convertedFrom": os.path.basename(args.inp)}}
    (tmp / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    if out.exists():  # swap in atomically enough for a CLI: old dir removed only after the new one is complete
        old = parent / f".{out.name}.old"
        os.replace(out, old)
        os.replace(tmp, out)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(tmp, out)
    print(json.dumps({"wrote": str(out), "tensors": len(tensors), "config": config}))


def to_torch(args):
    d = Path(args.inp)
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-zipper")
    a.add_argument("--in", dest="inp", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--heads", type=int, required=True, help="attention heads (not recoverable from weight shapes)")
    a.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    a.add_argument("--max-seq-len", type=int, default=2048)
    b = sub.add_parser("to-torch")
    b.add_argument("--in", dest="inp", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--check", action="store_true")
    args = p.parse_args()
    (to_zipper if args.cmd == "to-zipper" else to_torch)(args)


if __name__ == "__main__":
    main()
