"""Single-producer/single-consumer float32 ring buffer for PortAudio callbacks.

PortAudio calls its callbacks on a real-time thread that must not allocate,
block or wait on a lock another thread holds. This ring is preallocated, and
the producer only ever moves the write index and the consumer only the read
index. Each index is a Python int replaced by a single assignment after the
data is copied, which the GIL makes atomic, so neither side locks.

Indices count samples since creation and never wrap (Python ints are
unbounded); the slot is ``index % capacity``.
"""

from __future__ import annotations

import numpy as np


class SampleRing:
    """A fixed-capacity FIFO of float32 samples for one producer and one consumer."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("ring capacity must be positive")
        self.capacity = capacity
        self._buf = np.zeros(capacity, dtype=np.float32)
        self._write = 0  # only the producer assigns this
        self._read = 0  # only the consumer assigns this
        self.overflows = 0  # samples the producer had to drop (ring full)

    @property
    def available(self) -> int:
        """Samples ready to read."""
        return self._write - self._read

    @property
    def free(self) -> int:
        """Samples that can be written without dropping."""
        return self.capacity - (self._write - self._read)

    def write(self, data: np.ndarray) -> int:
        """Producer side: copy in as much of ``data`` as fits; returns samples written.

        What does not fit is dropped and counted in ``overflows``: a real-time
        producer cannot wait for the consumer.
        """
        n = min(len(data), self.free)
        if n < len(data):
            self.overflows += len(data) - n
        if n == 0:
            return 0
        start = self._write % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = data[:first]
        if first < n:
            self._buf[: n - first] = data[first:n]
        self._write += n
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Consumer side: fill ``out`` from the ring; returns samples copied.

        The caller decides what to do with the rest of ``out`` on a short read
        (the playback callback fills it with silence).
        """
        n = min(len(out), self.available)
        if n == 0:
            return 0
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start : start + first]
        if first < n:
            out[first:n] = self._buf[: n - first]
        self._read += n
        return n

    def clear(self) -> None:
        """Consumer side: discard everything currently readable."""
        self._read = self._write
