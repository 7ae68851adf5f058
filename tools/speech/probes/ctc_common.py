"""What both CTC probes share: the cached units of a data build, the character alphabet, greedy
CTC decoding and its scoring (character and word error rates by Levenshtein distance)."""
import json
import struct

import torch

CHARS = " 'abcdefghijklmnopqrstuvwxyz"  # class 0 is the blank, CHARS[i] is class i + 1
CHAR_ID = {c: i + 1 for i, c in enumerate(CHARS)}


def read_units(cache, sha):
    """The units of one audio file from DATA/.cache/units/<tokenizer>/ (ZUN1: count, then uint16 units)."""
    b = open(f"{cache}/{sha[:2]}/{sha}.units", "rb").read()
    assert b[:4] == b"ZUN1", f"{sha}: not a units file"
    n = struct.unpack("<I", b[4:8])[0]
    return list(struct.unpack(f"<{n}H", b[8:8 + 2 * n]))


def load_split(data, cache, manifest, limit=0, dedup=False):
    """[[units, text], ...] of a manifest's utterances whose units are cached."""
    out = []
    for line in open(f"{data}/{manifest}"):
        r = json.loads(line)
        try:
            u = read_units(cache, r["sha256"])
        except FileNotFoundError:
            continue
        if dedup:
            u = [x for i, x in enumerate(u) if i == 0 or x != u[i - 1]]
        out.append([u, r["text"]])
        if limit and len(out) >= limit:
            break
    return out


def targets(rows):
    """CTC targets (concatenated) and their lengths for rows [[units, text, ...], ...]."""
    ids = [[CHAR_ID[c] for c in r[1] if c in CHAR_ID] for r in rows]
    return torch.tensor([i for row in ids for i in row]), torch.tensor([len(row) for row in ids])


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[-1]


def greedy_text(classes):
    """Best class per frame -> text: repeats merged, blanks dropped, spaces collapsed."""
    return " ".join("".join(CHARS[c - 1] for j, c in enumerate(classes) if c and (j == 0 or c != classes[j - 1])).split())


def score(model, rows, batch):
    """(CER, WER) of greedy decoding of `model(*batch(rows))` over rows [[units, text, ...], ...]."""
    model.eval()
    ce = cn = we = wn = 0
    with torch.no_grad():
        for i in range(0, len(rows), 32):
            b = rows[i:i + 32]
            best = model(*batch(b)).argmax(-1)
            for k, r in enumerate(b):
                hyp = greedy_text(best[k, :len(r[0])].tolist())
                ce += edit_distance(hyp, r[1])
                cn += len(r[1])
                we += edit_distance(hyp.split(), r[1].split())
                wn += len(r[1].split())
    model.train()
    return ce / cn, we / wn
