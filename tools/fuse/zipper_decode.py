#!/usr/bin/env python3
"""Cached decoding of the PyTorch twin (docs/zipper.md, "Decoding"), for batch 1.

Legend: B batch (1), T new positions of a tower, S positions of a source tower so far, H heads,
K head width, V vocabulary.

`DecodeState` holds, per tower, the reference tower's self-attention KV cache (the cache dicts of
torch_reference.Block), the number of positions so far and their global indices; and per link
the keys and values of the projected source positions [B, H_X, S, K_X] with their global
indices, computed once per source position and appended when the source tower gains positions.
`step` runs new positions of any towers on top of a state; `greedy` decodes an output-modality
schedule (e.g. ["text"] after a speech prompt) until each segment's eos or a length limit.
Cached equals uncached: tools/fuse/check_twin.py compares every step's logits with a forward
pass over the whole sequence.
"""
import torch

import zipper_reference as zr


class DecodeState:
    def __init__(self, model):
        self.caches = {x: [dict() for _ in model.towers[x].blocks] for x in model.towers}
        self.length = {x: 0 for x in model.towers}
        self.gidx = {x: torch.zeros((1, 0), dtype=torch.long) for x in model.towers}
        self.kv = {}  # link key -> (k, v, source gidx [B, S])
        self.weight_total = {}  # link key -> the source weights so far (crossRope sourceWeights)


def link_key(link):
    return f"{zr.cross_name(link)}.{link['toLayer']}"


@torch.no_grad()
def step(model, inputs, state):
    """New positions {X: (ids [1, T], gidx [1, T])} of any towers -> their logits {X: [1, T, V]};
    updates `state` in place."""
    hidden, saved = {}, {}
    appended = set()

    def link_kv(link):
        key, y = link_key(link), link["from"]
        if y in inputs and key not in appended:  # the source gained positions: project them once
            src = saved[(y, link["fromLayer"])]
            if model.link_module(link).fed:  # feedLinks: the CTC head's encoder reads the whole source segment at once
                if state.length[y] > 0:
                    raise ValueError(f"link {key} reads a CTC head's encoder: give the whole {y} segment in one step")
                g = inputs[y][1]
                src = model.fed_source(link, saved, {y: {"gidx": g, "valid": torch.ones_like(g, dtype=torch.bool)}})
            w = model.source_weights.get((link["to"], y))
            pos = None
            if w is not None:  # weighted source positions: each new position after the weights so far
                ids = inputs[y][0]
                pos, ends = zr.weighted_positions(w, {"ids": ids, "valid": torch.ones_like(ids, dtype=torch.bool)}, state.weight_total.get(key, 0.0))
                state.weight_total[key] = float(ends[0])
            k, v = model.link_module(link).keys_values(src, state.length[y], pos)
            old = state.kv.get(key)
            g = inputs[y][1]
            state.kv[key] = (k, v, g) if old is None else (torch.cat([old[0], k], 2), torch.cat([old[1], v], 2), torch.cat([old[2], g], 1))
            appended.add(key)
        return state.kv.get(key)

    for kind, x, l in model.order:
        if x not in inputs:
            continue
        tower = model.towers[x]
        if kind == "block" and l == 0:
            e = tower.emb(inputs[x][0])  # [1, T, D]
            hidden[x] = model.inproj[x](e) if x in model.inproj else e
        elif kind == "block":
            start = state.length[x]
            pos = torch.arange(start, start + inputs[x][0].shape[1])
            hidden[x] = tower.blocks[l - 1](hidden[x], pos, state.caches[x][l - 1])
        else:
            for link in model.links:
                if link["to"] == x and link["toLayer"] == l:
                    kv = link_kv(link)
                    if kv is not None:
                        allowed = kv[2][:, None, :] < inputs[x][1][:, :, None]  # [1, T, S]
                        hidden[x] = model.link_module(link).attend(hidden[x], kv[0], kv[1], allowed, state.length[x])
            continue
        saved[(x, l)] = hidden[x]
    for link in model.links:  # readers without new positions still need the new source positions later
        link_kv(link)
    for x, (ids, g) in inputs.items():
        state.length[x] += ids.shape[1]
        state.gidx[x] = torch.cat([state.gidx[x], g], 1)
    return {x: model.towers[x].norm(h) @ model.towers[x].emb.weight.T for x, h in hidden.items()}


@torch.no_grad()
def greedy(model, prompt, outputs, max_new, pick=None):
    """Greedy decoding of one example: `prompt` segments [{tower, ids}], then a segment of each
    tower in `outputs` (opened with its bos, closed by its eos, which is fed as if generated after
    `max_new` other tokens).
    `pick(tower, logits [V], n)` chooses the n-th token of a segment (default: argmax).
    Returns (segments generated [{tower, ids}], [(tower, stream position, logits [V])] of every
    position whose logits chose a token)."""
    specs = {t["name"]: t for t in model.tower_specs}
    state = DecodeState(model)
    g = 0
    first = {}
    for seg in prompt:
        ids = torch.tensor([seg["ids"]], dtype=torch.long)
        gi = torch.arange(g, g + ids.shape[1])[None]
        if seg["tower"] in first:
            first[seg["tower"]] = (torch.cat([first[seg["tower"]][0], ids], 1), torch.cat([first[seg["tower"]][1], gi], 1))
        else:
            first[seg["tower"]] = (ids, gi)
        g += ids.shape[1]
    out_segments, fed = [], []
    pending = first
    for x in outputs:
        bos, eos = specs[x]["bos"], specs[x]["eos"]
        bos_in = (torch.tensor([[bos]]), torch.tensor([[g]]))
        pending[x] = bos_in if x not in pending else (torch.cat([pending[x][0], bos_in[0]], 1), torch.cat([pending[x][1], bos_in[1]], 1))
        g += 1
        ids = [bos]
        for n in range(max_new + 1):
            logits = step(model, pending, state)[x][0, -1]  # [V]
            fed.append((x, state.length[x] - 1, logits))
            if n == max_new:  # the length limit: eos as if generated (docs/zipper.md, "Decoding")
                nxt = eos
            else:
                nxt = int(logits.argmax()) if pick is None else pick(x, logits, n)
            ids.append(nxt)
            pending = {x: (torch.tensor([[nxt]]), torch.tensor([[g]]))}
            g += 1
            if nxt == eos:
                break  # the eos is fed together with the next segment's bos
        out_segments.append({"tower": x, "ids": ids})
    return out_segments, fed
