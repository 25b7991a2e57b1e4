"""Audio pipeline: Opus codec, jitter buffers, mixer, VAD, devices, engines.

No network and no actors here: the client wraps the capture and playback
engines in actors. Modules: ``codec`` (format constants, codec interface),
``opus``, ``jitter``, ``mixer``, ``level``, ``vad``, ``ring``, ``devices``,
``sources``/``sinks`` (sound card or file), ``capture``, ``playback``,
``loopback``, ``audiofile``, ``signals``/``analysis`` (test signals, measurements).
"""
