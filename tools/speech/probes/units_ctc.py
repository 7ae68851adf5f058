# A probe (tools/speech/README.md, "CTC probes"): how well can CTC read characters from the speech units alone?
# A from-scratch transformer over unit embeddings, bidirectional or causal, CTC over characters.
import json, sys, time, math, os, random, argparse
import torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctc_common import CHARS, load_split, score, targets  # noqa: E402
p = argparse.ArgumentParser()
p.add_argument('--causal', action='store_true'); p.add_argument('--minutes', type=float, default=20)
p.add_argument('--layers', type=int, default=4); p.add_argument('--d', type=int, default=256)
p.add_argument('--lr', type=float, default=1e-3); p.add_argument('--batch', type=int, default=16)
p.add_argument('--dedup', action='store_true'); p.add_argument('--out', required=True)
p.add_argument('--data', required=True, help='a zipper data build whose units are cached (zipper fuse train or pretrain ran on it)')
p.add_argument('--units-cache', default='0d2b4d91158f59b4', help='the default speech tokenizer\'s cache folder')
a = p.parse_args()
torch.manual_seed(0); random.seed(0); torch.set_num_threads(int(os.environ.get('THREADS', '2')))
D = a.data; C = f'{D}/.cache/units/{a.units_cache}'
train = load_split(D, C, 'aligned-asr.100pct.jsonl', dedup=a.dedup) + load_split(D, C, 'aligned-tts.100pct.jsonl', dedup=a.dedup); dev = load_split(D, C, 'dev.jsonl', dedup=a.dedup); test = load_split(D, C, 'test-clean.jsonl', dedup=a.dedup)
print(len(train), len(dev), len(test), file=sys.stderr)
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Embedding(512, a.d); s.pos = nn.Embedding(2048, a.d)
        l = nn.TransformerEncoderLayer(a.d, 4, 4 * a.d, 0.1, batch_first=True, norm_first=True)
        s.enc = nn.TransformerEncoder(l, a.layers); s.out = nn.Linear(a.d, len(CHARS) + 1)
    def forward(s, x, pad):
        T = x.shape[1]; h = s.emb(x) + s.pos(torch.arange(T))[None]
        mask = torch.triu(torch.full((T, T), float('-inf')), 1) if a.causal else None
        return s.out(s.enc(h, mask=mask, src_key_padding_mask=pad))
m = M(); opt = torch.optim.AdamW(m.parameters(), lr=a.lr, weight_decay=0.01)
def batch(rs):
    T = max(len(r[0]) for r in rs); x = torch.zeros(len(rs), T, dtype=torch.long); pad = torch.ones(len(rs), T, dtype=torch.bool)
    for i, r in enumerate(rs): x[i, :len(r[0])] = torch.tensor(r[0]); pad[i, :len(r[0])] = False
    return x, pad
t0 = time.time(); step = 0; hist = []
order = sorted(range(len(train)), key=lambda i: len(train[i][0]))
buckets = [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
while time.time() - t0 < a.minutes * 60:
    random.shuffle(buckets)
    for bk in buckets:
        rs = [train[i] for i in bk]; x, pad = batch(rs)
        tgt, tl = targets(rs)
        lp = m(x, pad).log_softmax(-1).transpose(0, 1); il = (~pad).sum(1)
        frac = min(1, step / 300); lr = a.lr * frac
        for g in opt.param_groups: g['lr'] = lr
        loss = F.ctc_loss(lp, tgt, il, tl, zero_infinity=True); opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); step += 1
        if step % 100 == 0: print(f'step {step} loss {loss.item():.3f} {time.time()-t0:.0f}s', file=sys.stderr, flush=True)
        if step % 600 == 0:
            cer, wer = score(m, dev, batch); hist.append({'step': step, 'devCER': cer, 'devWER': wer, 'sec': time.time() - t0}); print(hist[-1], file=sys.stderr, flush=True)
        if time.time() - t0 > a.minutes * 60: break
cer, wer = score(m, dev, batch); tc, tw = score(m, test, batch)
res = {'args': vars(a), 'steps': step, 'devCER': cer, 'devWER': wer, 'testCleanCER': tc, 'testCleanWER': tw, 'hist': hist}
print(json.dumps(res)); json.dump(res, open(a.out, 'w'))
