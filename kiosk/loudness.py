"""Loudness of a clip as ITU-R BS.1770-4 / EBU R128 measures it, and bringing a clip to one target.

Every clip the kiosk plays, a hall's recording or espeak-ng's synthesis, goes through `normalize` once, so
a recorded prompt and a synthesized notice come out of the speaker equally loud; the staff volume and the
citizen's louder/quieter are a gain on top (`with_gain`).

The K-weighting filter (a high shelf and a 38 Hz high pass) is applied through its frequency response in
one FFT rather than sample by sample: numpy has no recursive filter, a Python loop over the samples would
hold the GIL for the whole clip, and scipy (pyloudnorm's need) is 100 MB for two biquads. Measured beside
pyloudnorm 0.2.0 (its "DeMan" filters, the standard's coefficients) on every fixed prompt of both languages:
equal to 1e-12 LU; 20 ms for an 11 s prompt, the GUI thread waiting at most 5 ms meanwhile.
"""

from __future__ import annotations

import functools
import io
import math
import wave
from dataclasses import dataclass

import numpy as np

TARGET_LUFS = -23.0  # EBU R128; espeak-ng speech peaks ~18.5 dB over its loudness, so -23 leaves louder some room
PEAK_CEILING = 0.89  # -1 dBFS: a louder gain is held back here rather than clip
BLOCK_S, STEP_S = 0.400, 0.100  # BS.1770 gating blocks: 400 ms, 75 % overlap
ABSOLUTE_GATE, RELATIVE_GATE = -70.0, -10.0
SILENT = -70.0  # LUFS at or under which a clip holds no speech


@dataclass(frozen=True)
class Pcm:
    """Mono samples in [-1, 1] and their rate."""

    samples: np.ndarray
    rate: int


class NotPcm(ValueError):
    """A file that is not 16-bit PCM WAV."""


def read_wav(wav: bytes) -> tuple[Pcm, int]:
    """The samples (first channel) and the channel count of a 16-bit PCM WAV; raises NotPcm otherwise."""
    try:
        with wave.open(io.BytesIO(wav)) as w:
            if w.getsampwidth() != 2:
                raise NotPcm(f"{w.getsampwidth() * 8}-bit samples, not 16-bit")
            channels, rate, frames = w.getnchannels(), w.getframerate(), w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise NotPcm(f"not a PCM WAV file ({e})") from None
    samples = np.frombuffer(frames[: len(frames) // (2 * channels) * 2 * channels], dtype="<i2")
    return Pcm(samples[::channels].astype(np.float64) / 32768.0, rate), channels


def to_wav(pcm: Pcm) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(pcm.rate)
        w.writeframes(np.clip(np.round(pcm.samples * 32768.0), -32768, 32767).astype("<i2").tobytes())
    return out.getvalue()


def _biquad_response(b: tuple[float, ...], a: tuple[float, ...], z: np.ndarray) -> np.ndarray:
    zi = 1.0 / z
    return (b[0] + b[1] * zi + b[2] * zi * zi) / (a[0] + a[1] * zi + a[2] * zi * zi)


def k_weighting(rate: int) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """BS.1770's two stages for any rate (Brecht De Man's derivation: exactly the standard's 48 kHz coefficients)."""
    k = math.tan(math.pi * 1681.974450955533 / rate)
    vh, q = 10 ** (3.999843853973347 / 20), 0.7071752369554196
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0), (
        1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)  # fmt: skip
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    high_pass = (1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    return [shelf, high_pass]


def _weighted(pcm: Pcm) -> np.ndarray:
    """The K-weighted signal. Padded by half a second: the filters' ringing dies out long before it wraps round."""
    n = 1 << math.ceil(math.log2(len(pcm.samples) + pcm.rate // 2))
    return np.fft.irfft(np.fft.rfft(pcm.samples, n) * _response(pcm.rate, n), n)[: len(pcm.samples)]


@functools.lru_cache(maxsize=8)  # powers of two: a handful of sizes a rate
def _response(rate: int, n: int) -> np.ndarray:
    """The filters' frequency response on an n-point FFT's bins: the same few sizes again and again, so kept."""
    z = np.exp(2j * np.pi * np.arange(n // 2 + 1) / n)
    response = np.ones_like(z)
    for b, a in k_weighting(rate):
        response *= _biquad_response(b, a, z)
    response.flags.writeable = False
    return response


def integrated(pcm: Pcm) -> float:
    """Integrated loudness in LUFS (gated, BS.1770-4); -inf for silence. A clip under one block is one block."""
    if len(pcm.samples) == 0:
        return -math.inf
    weighted = _weighted(pcm)
    block, step = round(BLOCK_S * pcm.rate), round(STEP_S * pcm.rate)
    energy = np.concatenate(([0.0], np.cumsum(weighted * weighted)))
    if len(weighted) <= block:
        means = np.array([energy[-1] / len(weighted)])
    else:
        starts = np.arange(0, len(weighted) - block + 1, step)
        means = (energy[starts + block] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(means)
    gated = means[loudness > ABSOLUTE_GATE]
    if len(gated) == 0:
        return -math.inf
    relative = -0.691 + 10 * math.log10(gated.mean()) + RELATIVE_GATE
    kept = means[(loudness > ABSOLUTE_GATE) & (loudness > relative)]
    return -0.691 + 10 * math.log10(kept.mean())


def normalize(pcm: Pcm, target: float = TARGET_LUFS) -> Pcm:
    """The clip at `target` LUFS; a silent clip stays as it is. Peaks over full scale are left for with_gain."""
    measured = integrated(pcm)
    if measured <= SILENT:
        return pcm
    return Pcm(pcm.samples * 10 ** ((target - measured) / 20), pcm.rate)


def with_gain(pcm: Pcm, gain: float) -> Pcm:
    """The staff volume and the citizen's louder/quieter on top, held under PEAK_CEILING so it never clips."""
    peak = float(np.max(np.abs(pcm.samples))) if len(pcm.samples) else 0.0
    if peak * gain > PEAK_CEILING:
        gain = PEAK_CEILING / peak
    return Pcm(pcm.samples * gain, pcm.rate)
