#!/usr/bin/env python3
"""Checks of the PyTorch twin itself (the properties docs/zipper.md promises), on the golden model.

  /usr/bin/python3 tools/fuse/check_twin.py        (unittest; about 5 s)

- gates at 0: each tower's logits equal the lone reference tower's on its stream, exactly;
- a position that sees no source position (v = 0) is untouched by every cross-attention layer;
- ragged batches: each example alone gives the logits it gets in the batch;
- causality: changing a later segment changes no logit of an earlier position, in either tower;
- cached greedy decoding (zipper_decode.py) gives the logits of a forward pass over the whole
  sequence, across a switch of output modality, also with rotary cross positions (crossRope) and
  with links that read a CTC head's encoder (feedLinks);
- a tower absent from a batch is skipped, and links reading it leave the reader unchanged;
- links apply in schedule order (to, toLayer, from) whatever order the config lists them in;
- cyclic schedules, duplicate links, unknown towers and out-of-vocabulary ids are refused;
- a fused checkpoint written by convert.py loads back bit-identically, also with a frozen tower
  read from its tower checkpoint, whose sha256 is checked.
"""
import importlib.util, subprocess, sys, tempfile, unittest
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "interop"))
import zipper_decode as zd  # noqa: E402
import zipper_reference as zr  # noqa: E402
from convert import load_fused, save_fused  # noqa: E402

_spec = importlib.util.spec_from_file_location("fuse_make_golden", HERE / "make_golden.py")  # not interop's
mg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mg)

GATES = ("gate", "gate_attn", "gate_ff")


def real(logits, stream):
    return logits[stream["valid"]]  # [positions, V]


class Twin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.config = mg.model_config()
        cls.model = mg.build(cls.config)
        cls.examples = mg.examples()
        cls.batch = zr.pack(cls.examples, cls.config)
        with torch.no_grad():
            cls.logits = cls.model(cls.batch)

    def zero_gates(self, model, keep=()):
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.split(".")[-1] in GATES and not any(name.startswith(k) for k in keep):
                    p.zero_()

    def test_gates_zero_give_lone_towers_exactly(self):
        m = mg.build(self.config)
        self.zero_gates(m)
        with torch.no_grad():
            zipped = m(self.batch)
            for x, s in self.batch["streams"].items():
                lone = m.towers[x](s["ids"])  # the reference tower on the same padded stream
                self.assertTrue(torch.equal(real(zipped[x], s), real(lone, s)), x)

    def test_position_without_source_is_untouched(self):
        # row 2 is [text][speech][text]: its first text segment (stream positions 0..2) sees no speech,
        # so zeroing every cross-attention gate (keeping the input projections) leaves it as it is
        m = mg.build(self.config)
        self.zero_gates(m, keep=("inproj.",))
        with torch.no_grad():
            no_cross = m(self.batch)
        self.assertTrue(torch.equal(self.logits["text"][2, :3], no_cross["text"][2, :3]))
        self.assertFalse(torch.allclose(self.logits["text"][2, 3:8], no_cross["text"][2, 3:8], atol=1e-3))
        # the speech stream's first position of each row that opens with speech sees no text either
        self.assertTrue(torch.equal(self.logits["speech"][0, 0], no_cross["speech"][0, 0]))
        for lg in self.logits.values():
            self.assertTrue(bool(torch.isfinite(lg).all()))

    def test_ragged_batch_equals_examples_alone(self):
        with torch.no_grad():
            for b, ex in enumerate(self.examples):
                alone_batch = zr.pack([ex], self.config)
                alone = self.model(alone_batch)
                for x, s in alone_batch["streams"].items():
                    n = int(s["valid"].sum())
                    d = (alone[x][0, :n] - self.logits[x][b, :n]).abs().max()
                    self.assertLess(float(d), 1e-5, f"row {b}, {x}")

    def test_later_segment_changes_no_earlier_logit(self):
        ex = [dict(s) for s in self.examples[2]]  # [text][speech][text]
        ex[2] = {**ex[2], "ids": [11, 0, 1, 2, 5, 7, 12]}  # another, longer last segment
        ex_speech = [dict(s) for s in self.examples[2]]
        ex_speech[1] = {**ex_speech[1], "ids": [9, 1, 2, 10]}  # another middle segment
        with torch.no_grad():
            base = self.model(zr.pack([self.examples[2]], self.config))
            changed = self.model(zr.pack([ex], self.config))
            changed_mid = self.model(zr.pack([ex_speech], self.config))
        # global indices: text 0..2, speech 3..7, text 8..
        # (not bit-equal: a longer source changes matrix shapes, so sums round differently)
        self.assertLess(float((base["text"][0, :3] - changed["text"][0, :3]).abs().max()), 1e-5)
        self.assertLess(float((base["speech"][0, :5] - changed["speech"][0, :5]).abs().max()), 1e-5)
        self.assertLess(float((base["text"][0, :3] - changed_mid["text"][0, :3]).abs().max()), 1e-5)
        self.assertGreater(float((base["text"][0, 3:] - changed_mid["text"][0, 3:]).abs().max()), 1e-3)  # later text reads it

    def test_tower_absent_from_batch(self):
        text_only = [[{"tower": "text", "ids": [11, 1, 2, 12], "target": True}]]
        batch = zr.pack(text_only, self.config)
        self.assertEqual(list(batch["streams"]), ["text"])
        with torch.no_grad():
            lg = self.model(batch)
            m = mg.build(self.config)
            self.zero_gates(m, keep=("inproj.",))
            ref = m(batch)
        self.assertEqual(list(lg), ["text"])
        self.assertTrue(torch.equal(lg["text"], ref["text"]))
        loss, shares = zr.stream_losses(lg, batch, denominators={"text": 3.0, "speech": 0.0})
        self.assertEqual(list(shares), ["text"])

    def test_links_apply_in_schedule_order_whatever_the_given_order(self):
        shuffled = {**self.config, "schedule": {"links": list(reversed(self.config["schedule"]["links"]))}}
        m = zr.Zipper(shuffled)
        m.load_state_dict(self.model.state_dict(), strict=True)
        self.assertEqual(list(m.state_dict()), list(self.model.state_dict()))
        with torch.no_grad():
            lg = m(self.batch)
        for x in lg:
            self.assertTrue(torch.equal(lg[x], self.logits[x]), x)

    def test_cached_decoding_equals_uncached(self):
        # ASR-like prompt, then text and, after the modality switch, speech; and a [text] prompt -> speech
        # (random weights make greedy repeat bos; a scripted pick closes segments with eos early, so
        # that an eos and the next segment's bos are fed together)
        eos = {"text": 12, "speech": 10}
        script = lambda x, logits, n: eos[x] if n == 3 else int(logits[:9].argmax())  # noqa: E731
        for prompt, outputs, pick in (([{"tower": "speech", "ids": [9, 1, 2, 3, 10]}], ["text", "speech"], None),
                                      ([{"tower": "speech", "ids": [9, 1, 2, 3, 10]}], ["text", "speech", "text"], script),
                                      ([{"tower": "text", "ids": [11, 4, 5, 12]}, {"tower": "speech", "ids": [9, 2, 10]}], ["text"], None)):
            segments, fed = zd.greedy(self.model, prompt, outputs, max_new=6, pick=pick)
            self.assertEqual([s["tower"] for s in segments], outputs)
            if pick:
                self.assertEqual([len(s["ids"]) for s in segments], [5, 5, 5])  # bos, 3 tokens, eos
            else:  # random weights repeat bos: every segment reaches the limit and gets its eos
                self.assertEqual([s["ids"][-1] for s in segments], [eos[x] for x in outputs])
                self.assertEqual([len(s["ids"]) for s in segments], [8] * len(outputs))  # bos, 6 tokens, eos
            with torch.no_grad():
                full = self.model(zr.pack([prompt + segments], self.config))
            self.assertGreaterEqual(len(fed), 6)
            for x, i, logits in fed:
                self.assertLess(float((full[x][0, i] - logits).abs().max()), 1e-5, f"{x} position {i}")

    def test_cached_decoding_equals_uncached_with_cross_positions(self):
        # crossRope rotates cached keys at their source positions and each new query at n * rate
        config = {**self.config, "options": {**self.config.get("options", {}), "crossRope": [
            {"to": "text", "from": "speech", "rate": 2.5}, {"to": "speech", "from": "text", "rate": 0.4}]}}
        model = zr.Zipper(config)
        model.load_state_dict(self.model.state_dict())
        prompt = [{"tower": "speech", "ids": [9, 1, 2, 3, 10]}]
        segments, fed = zd.greedy(model, prompt, ["text", "speech"], max_new=6)
        with torch.no_grad():
            full = model(zr.pack([prompt + segments], config))
            plain = self.model(zr.pack([prompt + segments], self.config))
        for x, i, logits in fed:
            self.assertLess(float((full[x][0, i] - logits).abs().max()), 1e-5, f"{x} position {i}")
        self.assertGreater(float((full["text"] - plain["text"]).abs().max()), 1e-4)  # the positions matter

    def test_cached_decoding_equals_uncached_with_weighted_source_positions(self):
        # crossRope sourceWeights: the speech <- text keys at the sums of the text weights before them,
        # also while the text grows token by token (the decoder keeps the running sum)
        v = next(t for t in self.config["towers"] if t["name"] == "text")["config"]["vocabSize"]
        weights = [0.5 + (i * 7 % 5) * 0.4 for i in range(v)]
        config = {**self.config, "options": {**self.config.get("options", {}), "crossRope": [
            {"to": "text", "from": "speech", "rate": 2.5}, {"to": "speech", "from": "text", "rate": 0.4, "sourceWeights": weights}]}}
        ranks = {**config, "options": {**config["options"], "crossRope": [
            {"to": "text", "from": "speech", "rate": 2.5}, {"to": "speech", "from": "text", "rate": 0.4}]}}
        model, plain = zr.Zipper(config), zr.Zipper(ranks)
        model.load_state_dict(self.model.state_dict())
        plain.load_state_dict(self.model.state_dict())
        prompt = [{"tower": "speech", "ids": [9, 1, 2, 3, 10]}]
        segments, fed = zd.greedy(model, prompt, ["text", "speech"], max_new=6)
        with torch.no_grad():
            full = model(zr.pack([prompt + segments], config))
            by_rank = plain(zr.pack([prompt + segments], ranks))
        for x, i, logits in fed:
            self.assertLess(float((full[x][0, i] - logits).abs().max()), 1e-5, f"{x} position {i}")
        self.assertGreater(float((full["speech"] - by_rank["speech"]).abs().max()), 1e-4)  # the weights matter

    def test_cached_decoding_equals_uncached_with_fed_links(self):
        # feedLinks: the text <- speech links read the CTC head's bidirectional encoder, computed once
        # over the whole speech prompt and cached as keys/values
        config = {**self.config, "options": {**self.config.get("options", {}), "ctc": [
            {"from": "speech", "to": "text", "encoderLayers": 1, "feedLinks": True}]}}
        torch.manual_seed(1)
        model = zr.Zipper(config)
        missing, unexpected = model.load_state_dict(self.model.state_dict(), strict=False)
        self.assertTrue(all(k.startswith("ctc.") for k in missing), missing)
        self.assertTrue(unexpected and all(k.startswith("cross.text_from_speech.") and ".proj." in k for k in unexpected), unexpected)
        prompt = [{"tower": "speech", "ids": [9, 1, 2, 3, 4, 5, 10]}]
        segments, fed = zd.greedy(model, prompt, ["text"], max_new=6)
        with torch.no_grad():
            full = model(zr.pack([prompt + segments], config))
            plain = self.model(zr.pack([prompt + segments], self.config))
        self.assertGreaterEqual(len(fed), 6)
        for x, i, logits in fed:
            self.assertLess(float((full[x][0, i] - logits).abs().max()), 1e-5, f"{x} position {i}")
        self.assertGreater(float((full["text"] - plain["text"]).abs().max()), 1e-4)  # the links read the encoder

    def test_refusals(self):
        bad = {**self.config, "schedule": {"links": [
            {"to": "text", "toLayer": 1, "from": "speech", "fromLayer": 2},
            {"to": "speech", "toLayer": 1, "from": "text", "fromLayer": 2}]}}
        with self.assertRaisesRegex(zr.ZipperConfigError, "cycle"):
            zr.Zipper(bad)
        with self.assertRaisesRegex(zr.ZipperConfigError, "duplicate link speech->text after block 1"):
            zr.Zipper({**self.config, "schedule": {"links": [{"to": "text", "toLayer": 1, "from": "speech", "fromLayer": 1},
                                                             {"to": "text", "toLayer": 1, "from": "speech", "fromLayer": 2}]}})
        with self.assertRaisesRegex(zr.ZipperConfigError, "toLayer 3 outside 1..2"):
            zr.Zipper({**self.config, "schedule": {"links": [{"to": "text", "toLayer": 3, "from": "speech", "fromLayer": 1}]}})
        with self.assertRaisesRegex(zr.ZipperConfigError, "unknown tower 'image'"):
            zr.pack([[{"tower": "image", "ids": [0]}]], self.config)
        with self.assertRaisesRegex(zr.ZipperConfigError, "token id 13 outside tower 'text'"):
            zr.pack([[{"tower": "text", "ids": [11, 13]}]], self.config)

    def test_checkpoint_round_trip_with_frozen_tower(self):
        with tempfile.TemporaryDirectory() as tmp:
            text_dir = Path(tmp) / "text-tower"
            pt = Path(tmp) / "text.pt"
            torch.save(self.model.towers["text"].state_dict(), pt)
            subprocess.run([sys.executable, str(HERE.parent / "interop" / "convert.py"), "to-zipper", "--in", str(pt), "--heads", "2",
                            "--max-seq-len", "64", "--out", str(text_dir)], check=True, stdout=subprocess.DEVNULL)
            from convert import tower_reference
            config = {**self.config, "towers": [{**t, "frozen": t["name"] == "text", "checkpoint": tower_reference(text_dir) if t["name"] == "text" else None}
                                                for t in self.config["towers"]]}
            save_fused(Path(tmp) / "zipped", config, self.model.state_dict(), towers={"text": text_dir})
            doc, sd = load_fused(Path(tmp) / "zipped", {"text": text_dir})
            self.assertEqual(set(sd), set(self.model.state_dict()))
            for k, v in self.model.state_dict().items():
                self.assertTrue(torch.equal(sd[k], v), k)
            with self.assertRaises(SystemExit) as e:
                load_fused(Path(tmp) / "zipped")  # the frozen tower's checkpoint is required
            self.assertIn("--tower text=DIR", str(e.exception))
            other = Path(tmp) / "other"
            torch.save({k: v + 1 if k == "norm.scale" else v for k, v in self.model.towers["text"].state_dict().items()}, pt)
            subprocess.run([sys.executable, str(HERE.parent / "interop" / "convert.py"), "to-zipper", "--in", str(pt), "--heads", "2",
                            "--out", str(other)], check=True, stdout=subprocess.DEVNULL)
            with self.assertRaises(SystemExit) as e:
                load_fused(Path(tmp) / "zipped", {"text": other})
            self.assertIn(doc["towers"][0]["checkpoint"]["sha256"], str(e.exception))


if __name__ == "__main__":
    unittest.main()
