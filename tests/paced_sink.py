"""Stands in for a sound card in tests: takes a WAV on standard input and 'plays' it for its duration."""

import sys
import time
import wave

with wave.open(sys.stdin.buffer) as audio:
    seconds = audio.getnframes() / audio.getframerate()
time.sleep(seconds)
