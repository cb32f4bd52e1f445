"""One call through the models: decode, ASR beside diarization, words to speakers, the result.

:mod:`.processor` and :mod:`.workers` conduct the stages, each in a
sub-package of its own: :mod:`.asr`, :mod:`.diarization`, :mod:`.channels`
(split stereo) and :mod:`.output`.  :mod:`.audio`, :mod:`.types`,
:mod:`.digits` and :mod:`.options` are leaves every stage may use.  Nothing
here imports from ``jobs/``, ``api/`` or ``storage/``; no ``__init__`` imports
a stage, so the API process can import what it needs without torch.
"""
