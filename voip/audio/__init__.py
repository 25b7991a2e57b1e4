"""Audio pipeline: Opus codec, jitter buffers, mixer, VAD, devices, engines.

No network and no actors here: the client's capture and playback actors
(voip/client) each own one engine. Modules: ``codec`` (format constants, codec interface),
``opus``, ``jitter``, ``mixer``, ``level``, ``vad``, ``ring``, ``devices``,
``sources``/``sinks`` (sound card or file), ``capture``, ``playback``,
``loopback``, ``audiofile``, ``signals``/``analysis`` (test signals, measurements).
"""
