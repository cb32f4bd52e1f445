"""Split stereo: one party per channel, the channel is the speaker.

:mod:`.speech` finds where each channel's party speaks (VAD and energy, minus
leakage, background talk and tones) in the frames and regions of
:mod:`.regions`; :mod:`.digit_pauses` cuts the pauses inside read-out numbers;
:mod:`.voices` tells the party from a second voice on the same line.
"""
