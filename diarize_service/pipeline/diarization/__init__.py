"""Speaker diarization: who spoke when, from pyannote's algorithm with local models.

:mod:`.diarizer` assembles it: segmentation-3.0 (:mod:`.onnx_segmentation`,
on ONNX Runtime through :mod:`.onnx_export`), CAM++ embeddings
(:mod:`.embedding`), clustering (:mod:`.clustering`) and turn reassignment
(:mod:`.reassignment`).  Runs in the diarization worker (torch).
"""
