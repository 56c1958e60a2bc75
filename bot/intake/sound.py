"""Intake, pydub imported once without its warning about ffmpeg: take AudioSegment from here.

pydub looks for ffmpeg on PATH when it is imported and warns (a RuntimeWarning, an error under
the test settings) when there is none. The binary it would find is never used: ``ffmpeg.py``
points ``AudioSegment.converter`` at the located ffmpeg and we never let pydub call ffprobe.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_silence

__all__ = ["AudioSegment", "detect_silence"]
