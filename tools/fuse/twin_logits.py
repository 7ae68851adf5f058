#!/usr/bin/env python3
"""The PyTorch twin's per-tower logits of a fused checkpoint on some examples, as one JSON line.

  /usr/bin/python3 tools/fuse/twin_logits.py --model FUSED_DIR [--tower text=TOWER_DIR ...] --examples FILE.json [--ctc]

FILE.json holds a list of examples (each a list of segments `{tower, ids, target?}`, or
`{segments, targets}`). Prints {"logits": {X: flat [B*T*V]}, "shape": {X: [B, T, V]},
"lengths": {X: [real positions per row]}}: what a parity check of another implementation needs.
--ctc: also each CTC head's logits, keyed "<to>_from_<from>" ([B, S_from, C + 1], blank last).
"""
import argparse, json, sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent / "interop"))
import zipper_reference as zr  # noqa: E402
from convert import load_fused, tower_dirs  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--tower", action="append", metavar="NAME=DIR")
    p.add_argument("--examples", required=True)
    p.add_argument("--ctc", action="store_true")
    a = p.parse_args()
    doc, sd = load_fused(a.model, tower_dirs(a.tower))
    try:
        m = zr.Zipper(doc)
    except zr.ZipperConfigError as e:
        sys.exit(f"twin_logits.py: {e}")
    m.load_state_dict(sd, strict=True)
    batch = zr.pack(json.loads(Path(a.examples).read_text()), doc)
    with torch.no_grad():
        logits = m(batch)
        if a.ctc:
            logits.update(m.ctc_logits(batch))
    print(json.dumps({"logits": {x: v.flatten().tolist() for x, v in logits.items()},
                      "shape": {x: list(v.shape) for x, v in logits.items()},
                      "lengths": {x: s["valid"].sum(1).tolist() for x, s in batch["streams"].items()}}))


if __name__ == "__main__":
    main()
