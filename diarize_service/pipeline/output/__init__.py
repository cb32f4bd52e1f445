"""From stage outputs to what the client reads: words to speakers, turns, result, exports.

:mod:`.assign` labels words with speakers (whisperx, in the diarization
worker); :mod:`.turns` cuts them into turns; :mod:`.redaction` masks personal
data; :mod:`.result` and :mod:`.analytics` build the job result;
:mod:`.formats` exports it as TXT, SRT, WebVTT or RTTM.
"""
