"""Golden log-mel values for packages/tokenizers/test/speech-features.test.ts.

An independent reference: torch.stft (center=True, reflect padding, periodic Hann window of
win_length zero-padded to n_fft) and a mel matrix written here from the HTK formula
(torchaudio.functional.melscale_fbanks(norm=None, mel_scale="htk") semantics; torchaudio is not
installed here). The test signal is a closed-form sum of tones and a chirp, regenerated in the test.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/speech/golden-logmel.py
"""
import json
import math
import pathlib

import torch

torch.set_num_threads(1)
OUT = pathlib.Path(__file__).resolve().parents[2] / "packages/tokenizers/test/golden/speech-logmel.json"


def signal(n, sr):
    t = torch.arange(n, dtype=torch.float64) / sr
    # 0.5 sin(2 pi 440 t) + 0.25 sin(2 pi 1234.5 t + 0.3) + 0.1 chirp from 100 Hz to sr/3
    f1 = sr / 3
    dur = n / sr
    chirp = torch.sin(2 * math.pi * (100 * t + (f1 - 100) * t * t / (2 * dur)))
    return 0.5 * torch.sin(2 * math.pi * 440 * t) + 0.25 * torch.sin(2 * math.pi * 1234.5 * t + 0.3) + 0.1 * chirp


def hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_matrix(sr, n_fft, n_mels, f_min, f_max):
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1, dtype=torch.float64)
    m_pts = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=torch.float64)
    f_pts = torch.tensor([mel_to_hz(float(m)) for m in m_pts], dtype=torch.float64)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - freqs.unsqueeze(1)  # [Fb, M+2]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0).T  # [M, Fb]


def case(name, sr, n, n_fft, win, hop, n_mels, f_min, f_max, floor):
    x = signal(n, sr)
    window = torch.hann_window(win, periodic=True, dtype=torch.float64)
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=win, window=window, center=True,
                      pad_mode="reflect", return_complex=True)  # [Fb, T]
    power = spec.abs() ** 2
    fb = mel_matrix(sr, n_fft, n_mels, f_min, f_max)
    mel = fb @ power  # [M, T]
    logmel = torch.log(torch.clamp(mel, min=floor)).T  # [T, M]
    return {
        "name": name,
        "config": {"sampleRate": sr, "nFft": n_fft, "winLength": win, "hopLength": hop, "nMels": n_mels,
                   "fMin": f_min, "fMax": f_max, "logFloor": floor},
        "samples": n,
        "frames": logmel.shape[0],
        "filterbank": [round(float(v), 9) for v in fb.flatten()],
        "power_frame3": [round(float(v), 6) for v in power[:, 3]],
        "logmel": [round(float(v), 6) for v in logmel.flatten()],
    }


cases = [
    case("default-16k", 16000, 3203, 512, 400, 160, 80, 0.0, 8000.0, 1e-5),
    case("odd-8k", 8000, 1999, 256, 203, 67, 13, 100.0, 3700.0, 1e-4),
]
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"torch": torch.__version__, "cases": cases}))
print(json.dumps({"out": str(OUT), "cases": [(c["name"], c["frames"]) for c in cases]}))
