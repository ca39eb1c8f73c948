"""Loudness of a clip as ITU-R BS.1770-4 / EBU R128 measures it, and bringing a clip to one target.

Every clip the kiosk plays, a hall's recording or espeak-ng's synthesis, goes through `normalize` once, so
a recorded prompt and a synthesized notice come out of the speaker equally loud; the staff volume and the
citizen's louder/quieter are a gain on top (`with_gain`).

The K-weighting filter (a high shelf and a 38 Hz high pass) is applied through its frequency response, in
FFT blocks, rather than sample by sample: numpy has no recursive filter, a Python loop over the samples would
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


FFT_POINTS = 1 << 15  # a block of the overlap-save filter: its memory stays ~1 MB whatever the clip's length


def _weighted(pcm: Pcm) -> np.ndarray:
    """The K-weighted signal, filtered block by block (overlap-save) with the filters' first half second.

    Blocks, not one FFT of the clip: a 10 s clip in one FFT took ~16 MB at its peak, which the kiosk's resident
    memory kept; the filters' ringing has died out long before half a second."""
    tail = pcm.rate // 2
    response = _response(pcm.rate, tail)
    step = FFT_POINTS - tail
    padded = np.concatenate((np.zeros(tail), pcm.samples))
    out = np.empty(len(pcm.samples))
    for start in range(0, len(out), step):
        block = np.fft.irfft(np.fft.rfft(padded[start : start + FFT_POINTS], FFT_POINTS) * response, FFT_POINTS)
        out[start : start + step] = block[tail : tail + min(step, len(out) - start)]
    return out


@functools.lru_cache(maxsize=4)  # one per sample rate
def _response(rate: int, tail: int) -> np.ndarray:
    """The frequency response, on a block's bins, of the filters' impulse response cut after `tail` samples."""
    impulse = [1.0] + [0.0] * tail
    for b, a in k_weighting(rate):  # the two biquads run once on an impulse: a few ms per rate, then kept
        x1 = x2 = y1 = y2 = 0.0
        for i, x in enumerate(impulse):
            y = b[0] * x + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            impulse[i], x1, x2, y1, y2 = y, x, x1, y, y1
    response = np.fft.rfft(np.array(impulse), FFT_POINTS)
    response.flags.writeable = False
    return response


def integrated(pcm: Pcm) -> float:
    """Integrated loudness in LUFS (gated, BS.1770-4); -inf for silence. A clip under one block is one block."""
    if len(pcm.samples) == 0:
        return -math.inf
    energy = _weighted(pcm)  # then, in place (no copy of a long clip): the running sum of its squares
    np.cumsum(np.square(energy, out=energy), out=energy)
    block, step = round(BLOCK_S * pcm.rate), round(STEP_S * pcm.rate)
    if len(energy) <= block:
        means = np.array([energy[-1] / len(energy)])
    else:
        ends = np.arange(block, len(energy) + 1, step) - 1
        means = (energy[ends] - np.where(ends >= block, energy[ends - block], 0.0)) / block
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
