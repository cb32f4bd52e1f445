"""Speech recognition: faster-whisper with word timestamps, decoding again where it made words up.

:mod:`.transcriber` runs Whisper; :mod:`.loops` finds looping and stacked
words, :mod:`.unwritten` speech it wrote no words for.  Runs in the ASR worker.
"""
