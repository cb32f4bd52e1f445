"""Is this call narrowband (telephone, <= 4 kHz of audio) or wideband?

Speaker embeddings of narrowband speech sit closer together: CAM++ was
trained on 16 kHz audio, and with nothing above 3.4 kHz every voice loses the
same part of its spectrum.  Different speakers then end up nearer each other
than a wideband threshold expects, and clustering merges them.  The
diarizer therefore picks its clustering threshold by bandwidth.

Only the spectrum is trusted, not the container's sample rate: an 8 kHz call
saved as a 16 kHz MP3 is still narrowband.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

# Power between 4.5 and 7.5 kHz relative to 0.3-3.4 kHz.  Measured on the
# shared data: wideband speech (AMI, VCTK, ARCTIC) -11 to -23 dB; 8 kHz
# telephone audio resampled to 16 kHz (pyannote's sample call, the simulated
# calls) -66 to -86 dB.  -45 dB sits far from both.
NARROWBAND_DB = -45.0
TELEPHONE_BAND = (300.0, 3400.0)
UPPER_BAND = (4500.0, 7500.0)


def upper_band_db(audio: np.ndarray, sample_rate: int = 16_000) -> float | None:
    """Energy above 4.5 kHz relative to the telephone band, in dB (None: no signal to judge)."""
    if sample_rate < 2 * UPPER_BAND[1] or len(audio) < 1024:
        return None
    freqs, power = welch(audio.astype(np.float64, copy=False), fs=sample_rate, nperseg=1024)
    low = power[(freqs >= TELEPHONE_BAND[0]) & (freqs <= TELEPHONE_BAND[1])].sum()
    high = power[(freqs >= UPPER_BAND[0]) & (freqs <= UPPER_BAND[1])].sum()
    if low <= 1e-12:
        return None
    return float(10 * np.log10(high / low + 1e-20))


def is_narrowband(audio: np.ndarray, sample_rate: int = 16_000) -> bool:
    """True for telephone-band audio (nothing above ~4 kHz), whatever rate it is stored at."""
    if sample_rate <= 8_000:
        return True
    ratio = upper_band_db(audio, sample_rate)
    return ratio is not None and ratio < NARROWBAND_DB
