#!/usr/bin/env python3
"""The zipped model of docs/zipper.md in PyTorch: the twin of @zipper/fuse, weight for weight.

Legend: B batch, T positions of a tower's stream, S positions of a source tower's stream,
D width (D_X of the reading tower, D_Y of the source), H heads, K head width, V vocabulary,
E examples, N towers.

The towers are the reference Tower of tools/bench/torch_reference.py (= ../shared/bench/torch_reference.py;
imported through convert.reference_module, not copied).
State-dict keys equal @zipper/fuse's checkpoint keys (`towers.<X>.*`, `inproj.<X>.*`,
`cross.<X>_from_<Y>.<l>.*`); nn.Linear keeps its [out, in] layout and tools/interop/convert.py
transposes exactly the linear weights.

A model is described by the JSON of a fused checkpoint's zipper.json (`towers`, `schedule`,
`options`; see docs/zipper.md "Checkpoint format"); `Zipper(config)` builds it, and
`pack(examples, config)` turns examples (`{segments: [{tower, ids}], targets: [segment index]}`,
or @zipper/fuse's form, a list of segments `{tower, ids, target}`) into the padded per-tower
streams, global indices and loss targets the forward pass needs.
"""
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from convert import reference_module  # noqa: E402

ref = reference_module()

INPUT_PROJECTIONS = ("gated", "replace", "none")
OPTION_DEFAULTS = {"inputProjection": "gated", "inputProjectionLayers": 2, "projectionLayers": 3, "ctc": [], "crossRope": []}
# options of zipper.json that do not change the computation (freeze: which weights train)
INERT_OPTIONS = ("freeze",)


class ZipperConfigError(ValueError):
    """A model description the twin cannot build (names the broken invariant)."""


# ---------------------------------------------------------------------------------------------
# configuration and evaluation order


def resolve_options(options):
    unknown = sorted(set(options or {}) - set(OPTION_DEFAULTS) - set(INERT_OPTIONS))
    if unknown:
        # an option the twin does not implement would silently change the numbers: refuse it
        raise ZipperConfigError(f"options {', '.join(unknown)} are not implemented by the PyTorch twin (it knows {', '.join(sorted(OPTION_DEFAULTS))})")
    o = {**OPTION_DEFAULTS, **(options or {})}
    if o["inputProjection"] not in INPUT_PROJECTIONS:
        raise ZipperConfigError(f"inputProjection must be one of {INPUT_PROJECTIONS}, got {o['inputProjection']!r}")
    for k in ("inputProjectionLayers", "projectionLayers"):
        if not isinstance(o[k], int) or o[k] < 1:
            raise ZipperConfigError(f"{k} must be a positive integer, got {o[k]!r}")
    return o


def check_tower(t):
    c = t["config"]
    # the reference tower hard-codes these; a tower config that differs cannot be twinned
    fixed = {"mlpRatio": 4, "normEps": 1e-6, "ropeBase": 10000, "tieEmbeddings": True}
    for k, v in fixed.items():
        if c.get(k, v) != v:
            raise ZipperConfigError(f"tower {t['name']!r}: {k} = {c[k]!r}, the PyTorch reference supports only {v!r}")
    if c["dModel"] % c["nHeads"] or (c["dModel"] // c["nHeads"]) % 2:
        raise ZipperConfigError(f"tower {t['name']!r}: dModel / nHeads must be an even integer (rotary pairs)")


def evaluation_order(towers, links):
    """Steps ("block", X, l) and ("cross", X, l) in an order that respects every dependency.

    ("block", X, l) computes m_X(l), the output of X's block l before any cross-attention after it
    (l = 0: the input projection h0). ("cross", X, l) applies, in schedule order, the links whose
    reader is X after block l; it needs m_X(l) and the m_Y(m) of each link. Any order that meets
    these dependencies computes the same numbers; raises ZipperConfigError on a cycle.
    """
    n_layers = {t["name"]: t["config"]["nLayers"] for t in towers}
    crossed = {(l["to"], l["toLayer"]) for l in links}
    deps = {}  # step -> set of steps it needs
    for x, n in n_layers.items():
        for l in range(n + 1):
            prev = set() if l == 0 else {("cross", x, l - 1) if (x, l - 1) in crossed else ("block", x, l - 1)}
            deps[("block", x, l)] = prev
    seen = set()
    for link in links:
        x, l, y, m = link["to"], link["toLayer"], link["from"], link["fromLayer"]
        if (x, l, y) in seen:
            raise ZipperConfigError(f"duplicate link {y}->{x} after block {l}: one cross-attention per (reader, reader layer, source)")
        seen.add((x, l, y))
        if x not in n_layers or y not in n_layers:
            raise ZipperConfigError(f"link {y}->{x}: unknown tower")
        if x == y:
            raise ZipperConfigError(f"tower {x!r} cannot cross-attend to itself")
        if not 1 <= l <= n_layers[x]:
            raise ZipperConfigError(f"link {y}->{x}: toLayer {l} outside 1..{n_layers[x]}")
        if not 0 <= m <= n_layers[y]:
            raise ZipperConfigError(f"link {y}->{x}: fromLayer {m} outside 0..{n_layers[y]}")
        deps.setdefault(("cross", x, l), {("block", x, l)}).add(("block", y, m))
    order, done = [], set()
    pending = sorted(deps, key=lambda s: (s[2], s[1], s[0]))  # deterministic: shallow layers first
    while pending:
        ready = [s for s in pending if deps[s] <= done]
        if not ready:
            stuck = sorted(f"{s[1]}@{s[2]}" for s in pending if s[0] == "cross")
            raise ZipperConfigError(f"the schedule's links form a dependency cycle (cross-attention layers {', '.join(stuck)} wait on each other)")
        for s in ready:
            order.append(s)
            done.add(s)
        pending = [s for s in pending if s not in done]
    return order


# ---------------------------------------------------------------------------------------------
# modules


class Affine(nn.Module):
    """`n` affine layers (D_in -> D_out, then D_out -> D_out), each followed by ReLU."""

    def __init__(self, d_in, d_out, n):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d_in if i == 0 else d_out, d_out) for i in range(n)])
        for lin in self.layers:  # He: each layer is followed by ReLU (as @zipper/fuse's params.ts)
            nn.init.normal_(lin.weight, std=(2.0 / lin.in_features) ** 0.5)
            nn.init.zeros_(lin.bias)

    def forward(self, x):
        for lin in self.layers:
            x = F.relu(lin(x))
        return x


class InputProjection(nn.Module):
    """h0 from e = emb[ids]: 'gated' e + tanh(gate) * ReLU(MLP(e)), 'replace' ReLU(MLP(e))."""

    def __init__(self, d, n, mode):
        super().__init__()
        self.mode = mode
        self.layers = Affine(d, d, n).layers  # keys inproj.<X>.layers.<i>.*
        if mode == "gated":
            self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, e):  # [B, T, D] -> [B, T, D]
        h = e
        for lin in self.layers:  # ReLU between the layers and after the last
            h = F.relu(lin(h))
        return h if self.mode == "replace" else e + torch.tanh(self.gate) * h


def rope_at(x, pos):
    """Rotary embedding at float positions pos [T] (the reference tower's rope, base 10000).

    As core's ropeTables with a scale: the position n * rate is formed in float64 and rounded to
    float32, then multiplied by the float32 inverse frequency."""
    return ref.rope(x, pos.to(torch.float32))


def rope_rows(x, pos):
    """Rotary embedding of x [B, H, S, K] at a position per row and source position, pos [B, S]
    (weighted source positions, crossRope sourceWeights): `rope_at` of each row."""
    return torch.cat([rope_at(x[b : b + 1], pos[b]) for b in range(x.shape[0])])


def weighted_positions(weights, source, start=0.0):
    """A weighted cross-rope pair's key positions [B, S]: per row, `start` plus the sum (float64, as
    @zipper/fuse's cross-positions.ts) of the weights of the real source positions before each; and
    each row's sum after them [B] (where a decoder's next source positions start)."""
    w = weights[source["ids"]] * source["valid"].to(torch.float64)  # [B, S]
    ends = start + torch.cumsum(w, 1)
    return ends - w, ends[:, -1]


class CrossAttention(nn.Module):
    """Multi-head attention of reader positions over projected source positions; no biases; no
    rotary positions unless `rope_rate` (the zipper.json option crossRope): then keys at source
    stream position m are rotated as m and queries at reader stream position n as n * rate."""

    def __init__(self, d, heads, rope_rate=None):
        super().__init__()
        self.h = heads
        self.rope_rate = rope_rate
        self.q = nn.Linear(d, d, bias=False)
        self.kv = nn.Linear(d, 2 * d, bias=False)
        self.out = nn.Linear(d, d, bias=False)
        for lin in (self.q, self.kv, self.out):  # LeCun
            nn.init.normal_(lin.weight, std=(1.0 / lin.in_features) ** 0.5)

    def keys_values(self, s, start=0, pos=None):  # s [B, S, D] at source positions start.. (or pos [B, S]) -> k, v [B, H, S, K] (what a decoding cache keeps)
        B, S, D = s.shape
        k, v = self.kv(s).view(B, S, 2, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        if self.rope_rate is not None:
            k = rope_at(k, torch.arange(start, start + S, dtype=torch.float32)) if pos is None else rope_rows(k, pos)
        return k, v

    def forward(self, n, k, v, allowed, start=0):  # n [B, T, D], k, v [B, H, S, K], allowed bool [B, T, S]
        B, T, D = n.shape
        H = self.h
        q = self.q(n).view(B, T, H, D // H).transpose(1, 2)  # [B, H, T, K]
        if self.rope_rate is not None:  # reader positions start.. start+T-1 (start > 0 when decoding)
            q = rope_at(q, torch.arange(start, start + T, dtype=torch.float64) * self.rope_rate)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // H)  # [B, H, T, S]
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.softmax(scores, -1) @ v  # [B, H, T, K]
        return self.out(a.transpose(1, 2).reshape(B, T, D))


class FeedForward(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.up = nn.Linear(d, 4 * d, bias=False)
        self.down = nn.Linear(4 * d, d, bias=False)
        for lin in (self.up, self.down):  # LeCun
            nn.init.normal_(lin.weight, std=(1.0 / lin.in_features) ** 0.5)

    def forward(self, x):
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class GatedCrossAttention(nn.Module):
    """One link: x + v tanh(a) attn(norm(x), ReLU(g(m_Y))), then x + v tanh(b) ff(norm(x))."""

    def __init__(self, d_reader, heads, d_source, proj_layers, eps, rope_rate=None, fed=False):
        super().__init__()
        self.fed = fed  # reads a CTC head's encoder output (feedLinks): the source is already projected
        self.proj = Affine(d_source, d_reader, proj_layers)
        self.norm_attn = ref.RMSNorm(d_reader, eps)
        self.attn = CrossAttention(d_reader, heads, rope_rate)
        self.gate_attn = nn.Parameter(torch.zeros(1))
        self.norm_ff = ref.RMSNorm(d_reader, eps)
        self.ff = FeedForward(d_reader)
        self.gate_ff = nn.Parameter(torch.zeros(1))

    def keys_values(self, m_src, start=0, pos=None):  # m_src [B, S, D_Y] (fed: [B, S, D_X]) at source positions start.. (or pos [B, S]) -> k, v [B, H_X, S, K_X]
        return self.attn.keys_values(m_src if self.fed else self.proj(m_src), start, pos)

    def forward(self, x, m_src, allowed, pos=None):  # x [B, T, D_X], m_src [B, S, D_Y], allowed bool [B, T, S], pos [B, S] or None
        return self.attend(x, *self.keys_values(m_src, 0, pos), allowed)

    def attend(self, x, k, v, allowed, start=0):  # x [B, T, D_X], k, v [B, H_X, S, K_X], allowed bool [B, T, S]
        sees = allowed.any(-1, keepdim=True)  # [B, T, 1]
        vis = sees.to(x.dtype)
        # a row that sees nothing attends everything (finite), and v = 0 removes it exactly
        safe = allowed | ~sees
        x = x + vis * torch.tanh(self.gate_attn) * self.attn(self.norm_attn(x), k, v, safe, start)
        return x + vis * torch.tanh(self.gate_ff) * self.ff(self.norm_ff(x))


class EncoderBlock(nn.Module):
    """core's block (ln1, qkv, out, ln2, up, down; keys as the reference tower's) attending as `allowed` says:
    rotary q/k at the stream's positions, a query with no allowed key gets 0 from the attention."""

    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = ref.RMSNorm(d), ref.RMSNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d, bias=False)
        self.up = nn.Linear(d, 4 * d, bias=False)
        self.down = nn.Linear(4 * d, d, bias=False)

    def forward(self, x, pos, allowed):  # x [B, S, D], pos [S], allowed bool [B, S, S]
        B, S, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, S, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)  # [B, H, S, K] each
        q, k = ref.rope(q, pos), ref.rope(k, pos)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])  # [B, H, S, S]
        m = allowed[:, None]
        p = torch.softmax(scores.masked_fill(~m, float("-inf")), -1).nan_to_num(0.0) * m
        x = x + self.out((p @ v).transpose(1, 2).reshape(B, S, D))
        return x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))


def segment_mask(source):
    """bool [B, S, S]: both positions real and in the same segment of the stream (a run of consecutive global indices)."""
    g, valid = source["gidx"], source["valid"]
    start = torch.ones_like(valid)
    start[:, 1:] = g[:, 1:] != g[:, :-1] + 1
    seg = torch.cumsum((start & valid).long(), 1)
    return (seg[:, :, None] == seg[:, None, :]) & valid[:, :, None] & valid[:, None, :]


class CtcHead(nn.Module):
    """`ctc.<to>_from_<from>.*`: optional bidirectional encoder blocks (encoderLayers) and their norm, then weight/bias."""

    def __init__(self, d, heads, classes, encoder_layers):
        super().__init__()
        self.encoder = nn.ModuleList([EncoderBlock(d, heads) for _ in range(encoder_layers)])
        if encoder_layers:
            self.encoder_norm = ref.RMSNorm(d)
        lin = nn.Linear(d, classes + 1)  # the initialization of a linear layer; keys weight / bias
        self.weight, self.bias = lin.weight, lin.bias

    def forward(self, s, source):  # s [B, S, D] (the link's projection of the source states)
        return F.linear(self.encode(s, source), self.weight, self.bias)

    def encode(self, s, source):  # what the linear layer (and, with feedLinks, the links) read
        if len(self.encoder):
            pos = torch.arange(s.shape[1], device=s.device)
            allowed = segment_mask(source)
            for b in self.encoder:
                s = b(s, pos, allowed)
            s = self.encoder_norm(s)
        return s


def cross_name(link):
    return f"{link['to']}_from_{link['from']}"


class Zipper(nn.Module):
    """N reference towers zipped by gated cross-attention (docs/zipper.md)."""

    def __init__(self, config):
        super().__init__()
        self.tower_specs = [dict(t) for t in config["towers"]]
        if len(self.tower_specs) < 2:
            raise ZipperConfigError(f"a zipped model needs at least 2 towers, got {len(self.tower_specs)}")
        for t in self.tower_specs:
            check_tower(t)
        # schedule order (docs/zipper.md): (to, toLayer, from), names by code point, as @zipper/fuse sorts them
        self.links = sorted((dict(l) for l in config["schedule"]["links"]), key=lambda l: (l["to"], l["toLayer"], l["from"]))
        self.options = resolve_options(config.get("options"))
        self.order = evaluation_order(self.tower_specs, self.links)
        spec = {t["name"]: t for t in self.tower_specs}
        self.towers = nn.ModuleDict()
        for t in self.tower_specs:
            c = t["config"]
            self.towers[t["name"]] = ref.Tower(c["vocabSize"], c["dModel"], c["nLayers"], c["nHeads"])
        self.inproj = nn.ModuleDict()
        if self.options["inputProjection"] != "none":
            for t in self.tower_specs:
                self.inproj[t["name"]] = InputProjection(t["config"]["dModel"], self.options["inputProjectionLayers"], self.options["inputProjection"])
        rates = {(r["to"], r["from"]): float(r["rate"]) for r in self.options["crossRope"]}
        # weighted source positions (crossRope sourceWeights): one weight per source token id
        self.source_weights = {
            (r["to"], r["from"]): torch.tensor(r["sourceWeights"], dtype=torch.float64) for r in self.options["crossRope"] if "sourceWeights" in r
        }
        for r in self.options["crossRope"]:
            unknown = sorted(set(r) - {"to", "from", "rate", "sourceWeights"})
            if unknown:
                raise ZipperConfigError(f"crossRope {r['to']} <- {r['from']}: {', '.join(unknown)} not implemented by the PyTorch twin")
        self.ctc_heads = [dict(h) for h in self.options["ctc"]]
        fed = {(h["to"], h["from"]) for h in self.ctc_heads if h.get("feedLinks")}
        self.cross = nn.ModuleDict()
        for link in self.links:
            cx, cy = spec[link["to"]]["config"], spec[link["from"]]["config"]
            by_layer = self.cross[cross_name(link)] if cross_name(link) in self.cross else nn.ModuleDict()
            is_fed = (link["to"], link["from"]) in fed
            # a fed link has no projection of its own, but for the head's link, whose projection is the encoder's input
            own_proj = not is_fed or link is self.ctc_link(link)
            by_layer[str(link["toLayer"])] = GatedCrossAttention(
                cx["dModel"],
                cx["nHeads"],
                cy["dModel"],
                self.options["projectionLayers"] if own_proj else 0,
                cx.get("normEps", 1e-6),
                rates.get((link["to"], link["from"])),
                fed=is_fed,
            )
            self.cross[cross_name(link)] = by_layer
        # CTC heads (option ctc): a linear layer [D_to -> C + 1] on the first to <- from link's source projection
        self.ctc = nn.ModuleDict()
        for h in self.ctc_heads:
            link = self.ctc_link(h)
            if link is None:
                raise ZipperConfigError(f"ctc head {h['to']} <- {h['from']}: no such link in the schedule")
            unknown = sorted(set(h) - {"from", "to", "labels", "encoderLayers", "feedLinks", "search"})  # search: decoding settings, no weights
            if unknown:
                raise ZipperConfigError(f"ctc head {h['to']} <- {h['from']}: {', '.join(unknown)} not implemented by the PyTorch twin")
            classes = h["labels"]["classes"] if h.get("labels") else spec[h["to"]]["config"]["vocabSize"]
            c_to = spec[h["to"]]["config"]
            self.ctc[f"{h['to']}_from_{h['from']}"] = CtcHead(c_to["dModel"], c_to["nHeads"], classes, int(h.get("encoderLayers", 0)))

    def ctc_link(self, head):
        """The link whose source projection a CTC head reads: the first `to <- from` in schedule order."""
        return next((l for l in self.links if l["to"] == head["to"] and l["from"] == head["from"]), None)

    def link_module(self, link):
        return self.cross[cross_name(link)][str(link["toLayer"])]

    def ctc_logits(self, batch):
        """Per CTC head {"<to>_from_<from>": [B, S_from, C + 1]} (blank last) of a packed batch."""
        saved = self.forward(batch, keep_states=True)[1]
        out = {}
        for h in self.ctc_heads:
            if h["from"] not in batch["streams"]:
                continue
            name = f"{h['to']}_from_{h['from']}"
            out[name] = self.ctc[name](self.head_input(h, saved), batch["streams"][h["from"]])
        return out

    def head_input(self, h, saved):
        """The head's link's projection of the source states it reads."""
        link = self.ctc_link(h)
        return self.link_module(link).proj(saved[(h["from"], link["fromLayer"])])

    def fed_source(self, link, saved, streams):
        """What a link reads: the source block's output, or (feedLinks) its CTC head's encoder output."""
        h = next((h for h in self.ctc_heads if h.get("feedLinks") and h["to"] == link["to"] and h["from"] == link["from"]), None)
        if h is None:
            return saved[(link["from"], link["fromLayer"])]
        return self.ctc[f"{h['to']}_from_{h['from']}"].encode(self.head_input(h, saved), streams[h["from"]])

    def forward(self, batch, keep_states=False):
        """Per-tower logits {X: [B, T_X, V_X]} of a packed batch (see `pack`); with keep_states,
        (logits, {(X, l): m_X(l)})."""
        streams = batch["streams"]
        hidden, saved, pos = {}, {}, {}
        for kind, x, l in self.order:
            if x not in streams:
                continue  # no position of this tower in the batch
            tower = self.towers[x]
            if kind == "block" and l == 0:
                ids = streams[x]["ids"]  # [B, T]
                pos[x] = torch.arange(ids.shape[1], device=ids.device)
                e = tower.emb(ids)  # [B, T, D]
                hidden[x] = self.inproj[x](e) if x in self.inproj else e
            elif kind == "block":
                hidden[x] = tower.blocks[l - 1](hidden[x], pos[x])
            else:
                for link in self.links:
                    if link["to"] == x and link["toLayer"] == l and link["from"] in streams:
                        y = link["from"]
                        allowed = cross_mask(streams[x], streams[y])
                        w = self.source_weights.get((x, y))
                        key_pos = None if w is None else weighted_positions(w, streams[y])[0]
                        hidden[x] = self.link_module(link)(hidden[x], self.fed_source(link, saved, streams), allowed, key_pos)
                continue
            saved[(x, l)] = hidden[x]  # m_X(l): before the cross-attention after block l
        logits = {x: self.towers[x].norm(hidden[x]) @ self.towers[x].emb.weight.T for x in (t["name"] for t in self.tower_specs) if x in hidden}
        return (logits, saved) if keep_states else logits


# ---------------------------------------------------------------------------------------------
# batches, masks and the loss


def cross_mask(reader, source):
    """bool [B, T, S]: reader position (global index g) may attend source position (global index < g).

    Padded positions carry global index -1 in `gidx` and `valid` False: a padded source position is
    never attended, a padded reader position attends nothing (v = 0).
    """
    g_r, g_s = reader["gidx"], source["gidx"]
    return (g_s[:, None, :] < g_r[:, :, None]) & source["valid"][:, None, :] & reader["valid"][:, :, None]


def example_segments(ex):
    """An example's segments with a `target` flag each: accepts `[segment, ...]` (each maybe
    `target: true`, the @zipper/fuse form) or `{segments: [...], targets: [segment indices]}`."""
    if isinstance(ex, dict):
        targets = set(ex.get("targets", []))
        return [{**seg, "target": bool(seg.get("target")) or i in targets} for i, seg in enumerate(ex["segments"])]
    return [{**seg, "target": bool(seg.get("target"))} for seg in ex]


def pack(examples, config):
    """Examples -> {"streams": {X: {ids, gidx, valid, targets, mask}}}, [B, T_X] tensors per tower.

    A tower's stream is the concatenation of its segments, right-padded with its eos; gidx is each
    token's index in the concatenation of all segments (-1 for padding). Position i's target is
    stream[i + 1] when that token is in the same segment and the segment is a target (so a
    segment's bos is never a target, its eos is). A tower with no position in the batch has no
    stream (as @zipper/fuse's layoutBatch).
    """
    specs = {t["name"]: t for t in config["towers"]}
    rows = {x: [] for x in specs}
    for e_i, ex in enumerate(examples):
        per = {x: {"ids": [], "gidx": [], "tgt": [], "m": []} for x in specs}
        g = 0
        for s_i, seg in enumerate(example_segments(ex)):
            x, ids = seg["tower"], list(seg["ids"])
            if x not in per:
                raise ZipperConfigError(f"example {e_i}, segment {s_i}: unknown tower {x!r} (towers: {', '.join(specs)})")
            bad = [i for i in ids if not 0 <= i < specs[x]["config"]["vocabSize"]]
            if bad:
                raise ZipperConfigError(f"example {e_i}, segment {s_i}: token id {bad[0]} outside tower {x!r}'s vocabulary")
            p = per[x]
            p["ids"] += ids
            p["gidx"] += list(range(g, g + len(ids)))
            p["tgt"] += ids[1:] + [0]
            p["m"] += [1.0 if seg["target"] else 0.0] * (len(ids) - 1) + [0.0]
            g += len(ids)
        for x in specs:
            rows[x].append(per[x])
    streams = {}
    for x, spec in specs.items():
        T = max(len(r["ids"]) for r in rows[x])
        if T == 0:
            continue

        def col(field, fill, dtype):
            return torch.tensor([r[field] + [fill] * (T - len(r[field])) for r in rows[x]], dtype=dtype)

        streams[x] = {
            "ids": col("ids", spec["eos"], torch.long),
            "gidx": col("gidx", -1, torch.long),
            "valid": col("gidx", -1, torch.long) >= 0,
            "targets": col("tgt", 0, torch.long),
            "mask": col("m", 0.0, torch.float32),
        }
    return {"streams": streams}


def target_counts(batch):
    """{X: number of targets of X's stream in this batch} (the per-stream denominators of one step)."""
    return {x: float(s["mask"].sum()) for x, s in batch["streams"].items()}


def stream_losses(logits, batch, denominators=None, weights=None):
    """(total, shares): share_X = sum(mask * nll_X) / d_X, total = sum_X w_X share_X.

    d_X defaults to this batch's target count; a stream with d_X = 0 contributes nothing and is left
    out of `shares` (as core's streamLoss). A missing weight is 1.
    """
    denominators = denominators or target_counts(batch)
    weights = weights or {}
    total, shares = None, {}
    for x, lg in logits.items():
        d = denominators[x]
        if d == 0:
            continue
        s = batch["streams"][x]
        nll = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), s["targets"].reshape(-1), reduction="none")
        shares[x] = (nll * s["mask"].reshape(-1)).sum() / d
        term = weights.get(x, 1.0) * shares[x]
        total = term if total is None else total + term
    return (total if total is not None else torch.zeros(())), shares
