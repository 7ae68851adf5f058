"""PyTorch reference for tools/bench/units-bench.ts: featurize (torch.stft + mel + log) and quantize
(nearest of K centroids via ||c||^2 - 2 x.c) on one thread. Reads the raw float32 files the TS bench
writes (audio, mel matrix, centroids, config.json) and prints JSON: median seconds and the unit ids.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/bench/units_ref.py DIR RUNS
"""
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
d = pathlib.Path(sys.argv[1])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
cfg = json.loads((d / "config.json").read_text())
audio = torch.from_numpy(np.fromfile(d / "audio.f32", dtype=np.float32))
mel_fb = torch.from_numpy(np.fromfile(d / "mel.f32", dtype=np.float32).reshape(cfg["nMels"], cfg["nFft"] // 2 + 1))
cent = torch.from_numpy(np.fromfile(d / "centroids.f32", dtype=np.float32).reshape(cfg["numUnits"], -1))
window = torch.hann_window(cfg["winLength"], periodic=True)
stack = cfg["stack"]


def encode(x):
    spec = torch.stft(x, n_fft=cfg["nFft"], hop_length=cfg["hopLength"], win_length=cfg["winLength"], window=window,
                      center=True, pad_mode="reflect", return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2  # [Fb, T]
    logmel = torch.log(torch.clamp(mel_fb @ power, min=cfg["logFloor"])).T  # [T, M]
    t = logmel.shape[0]
    pad = (-t) % stack
    if pad:
        logmel = torch.cat([logmel, logmel[-1:].expand(pad, -1)])
    v = logmel.reshape(-1, stack * logmel.shape[1])  # [U, s*M]
    score = (cent * cent).sum(1) - 2 * (v @ cent.T)  # [U, K]
    return score.argmin(1)


with torch.inference_mode():
    ids = encode(audio)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        encode(audio)
        times.append(time.perf_counter() - t0)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "medianSeconds": statistics.median(times),
                  "times": times, "ids": ids.tolist()}))
