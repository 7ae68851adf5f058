# A probe (tools/speech/README.md, "CTC probes"): CTC from the pretrained speech tower's (frozen, causal) hidden
# states at layer L through N trainable bidirectional layers. Does a bidirectional adapter over the
# tower's states read the characters far better than the shipped causal CTC head (test-clean CER 0.436)?
import json, sys, time, os, random, argparse, math
import torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctc_common import CHARS, load_split, score, targets  # noqa: E402
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, os.path.join(HERE, '../../interop')); sys.path.insert(0, os.path.join(HERE, '../../bench'))
import convert, torch_reference as ref
p = argparse.ArgumentParser()
p.add_argument('--layer', type=int, default=2); p.add_argument('--adapter', type=int, default=2)
p.add_argument('--minutes', type=float, default=20); p.add_argument('--lr', type=float, default=1e-3)
p.add_argument('--batch', type=int, default=16); p.add_argument('--out', required=True)
p.add_argument('--data', required=True, help='a zipper data build whose units are cached (zipper fuse train or pretrain ran on it)')
p.add_argument('--units-cache', default='0d2b4d91158f59b4', help='the default speech tokenizer\'s cache folder')
p.add_argument('--limit', type=int, default=0)
p.add_argument('--tower', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../packages/checkpoints/speech-small/tower'))
a = p.parse_args()
torch.manual_seed(0); random.seed(0); torch.set_num_threads(int(os.environ.get('THREADS', '2')))
D = a.data; C = f'{D}/.cache/units/{a.units_cache}'
cfg, t, _ = convert.read_tower_checkpoint(a.tower)
tower = ref.Tower(cfg['vocabSize'], cfg['dModel'], cfg['nLayers'], cfg['nHeads'])
sd = {k: (v.T.contiguous() if v.dim() == 2 and not k.startswith('emb') else v) for k, v in t.items()}
print(tower.load_state_dict(sd, strict=True), file=sys.stderr); tower.eval()
for m in tower.modules():
    if isinstance(m, ref.RMSNorm): m.eps = cfg['normEps']
BOS, EOS = 512, 513
def states(rs):
    out = []
    with torch.no_grad():
        order = sorted(range(len(rs)), key=lambda i: len(rs[i][0]))
        for i in range(0, len(order), 32):
            idx = order[i:i + 32]
            for j in idx:  # one row at a time: no padding question; the tower is causal
                ids = torch.tensor([[BOS] + rs[j][0] + [EOS]])
                pos = torch.arange(ids.shape[1]); x = tower.emb(ids)
                for b in tower.blocks[:a.layer]: x = b(x, pos)
                rs[j].append(x[0, 1:-1].clone())
    return rs
t0 = time.time()
train = states(load_split(D, C, 'aligned-asr.100pct.jsonl', a.limit) + load_split(D, C, 'aligned-tts.100pct.jsonl', a.limit)); dev = states(load_split(D, C, 'dev.jsonl', a.limit)); test = states(load_split(D, C, 'test-clean.jsonl', a.limit))
print(f'states in {time.time()-t0:.0f}s', len(train), file=sys.stderr, flush=True)
d = cfg['dModel']
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.pos = nn.Embedding(2048, d); s.inp = nn.Linear(d, d)
        l = nn.TransformerEncoderLayer(d, 4, 4 * d, 0.1, batch_first=True, norm_first=True)
        s.enc = nn.TransformerEncoder(l, a.adapter) if a.adapter > 0 else None; s.out = nn.Linear(d, len(CHARS) + 1)
    def forward(s, x, pad):
        h = s.inp(x) + s.pos(torch.arange(x.shape[1]))[None]
        if s.enc is not None: h = s.enc(h, src_key_padding_mask=pad)
        return s.out(h)
m = M(); opt = torch.optim.AdamW(m.parameters(), lr=a.lr, weight_decay=0.01)
def batch(rs):
    T = max(len(r[0]) for r in rs); x = torch.zeros(len(rs), T, d); pad = torch.ones(len(rs), T, dtype=torch.bool)
    for i, r in enumerate(rs): x[i, :len(r[0])] = r[2]; pad[i, :len(r[0])] = False
    return x, pad
t0 = time.time(); step = 0; hist = []
order = sorted(range(len(train)), key=lambda i: len(train[i][0])); buckets = [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
done = False
while not done:
    random.shuffle(buckets)
    for bk in buckets:
        rs = [train[i] for i in bk]; x, pad = batch(rs)
        tgt, tl = targets(rs)
        lp = m(x, pad).log_softmax(-1).transpose(0, 1); il = (~pad).sum(1)
        for g in opt.param_groups: g['lr'] = a.lr * min(1, step / 300)
        loss = F.ctc_loss(lp, tgt, il, tl, zero_infinity=True); opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); step += 1
        if step % 100 == 0: print(f'step {step} loss {loss.item():.3f} {time.time()-t0:.0f}s', file=sys.stderr, flush=True)
        if step % 625 == 0:
            cer, wer = score(m, dev, batch); hist.append({'step': step, 'devCER': cer, 'devWER': wer, 'sec': time.time() - t0}); print(hist[-1], file=sys.stderr, flush=True)
        if time.time() - t0 > a.minutes * 60: done = True; break
cer, wer = score(m, dev, batch); tc, tw = score(m, test, batch)
res = {'args': vars(a), 'steps': step, 'devCER': cer, 'devWER': wer, 'testCleanCER': tc, 'testCleanWER': tw, 'hist': hist}
print(json.dumps(res)); json.dump(res, open(a.out, 'w'))
