"""Dynamic batching: concurrent calls gathered into one batch function call.

A `Batcher` owns one thread. The first queued call opens a batch; the batch
runs when it holds `max_batch` calls or `max_wait` seconds after it opened,
whichever comes first (a `max_wait` of 0 or less takes only what is already
queued). One batch runs at a time, like one forward pass on a GPU. Beyond
`max_queue` waiting calls, `submit` raises `QueueFull` (answered 503 with
Retry-After), so an overloaded worker pushes back instead of piling up work.
"""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable


class QueueFull(Exception):
    """The queue is full: answered 503 with Retry-After."""


class Closed(Exception):
    """The batcher is shut down: answered 503 with Retry-After."""


class Batcher:
    def __init__(self, fn: Callable[[list], list], *, max_batch: int, max_wait: float,
                 max_queue: int, name: str = "batcher"):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.name = name
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()
        self._closed = False
        self._batches = 0
        self._calls = 0
        self._sizes: dict[int, int] = {}
        self._rejected = 0
        self._running = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> Future:
        """Queues item; the future resolves to its answer or raises its error."""
        fut: Future = Future()
        with self._cond:
            if self._closed:
                raise Closed(f"{self.name}: worker is shutting down")
            if len(self._queue) >= self.max_queue:
                self._rejected += 1
                raise QueueFull(f"{self.name} queue is full ({self.max_queue} calls waiting)")
            self._queue.append((item, fut))
            self._cond.notify()
        return fut

    def _gather(self) -> list | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None  # closed and drained
            deadline = time.monotonic() + self.max_wait
            while len(self._queue) < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(self.max_batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(n)]
            self._running = n
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._gather()
            if batch is None:
                return
            live = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
            try:
                if live:
                    results = self.fn([item for item, _ in live])
                    if len(results) != len(live):
                        raise RuntimeError(f"{self.name}: batch answered {len(results)} results "
                                           f"for {len(live)} calls")
                    for (_, fut), res in zip(live, results):
                        if isinstance(res, BaseException):
                            fut.set_exception(res)
                        else:
                            fut.set_result(res)
            except BaseException as e:  # noqa: BLE001 - one bad batch must not stop the batcher
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(e)
            finally:
                with self._cond:
                    self._batches += 1 if live else 0
                    self._calls += len(live)
                    if live:
                        self._sizes[len(live)] = self._sizes.get(len(live), 0) + 1
                    self._running = 0

    def close(self, timeout: float | None = None) -> None:
        """Stops taking calls, answers queued ones with Closed, and waits for
        the running batch to finish."""
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for _, fut in pending:
            if fut.set_running_or_notify_cancel():
                fut.set_exception(Closed(f"{self.name}: worker is shutting down"))
        self._thread.join(timeout)

    def running(self) -> bool:
        """A batch is running."""
        with self._cond:
            return self._running > 0

    def stats(self) -> dict:
        """The counters, in the shape of the Go worker's GET /v1/stats."""
        with self._cond:
            return {
                "batches": self._batches,
                "calls": self._calls,
                "mean_batch_size": (self._calls / self._batches) if self._batches else 0.0,
                "batch_sizes": {str(k): v for k, v in sorted(self._sizes.items())},
                "rejected": self._rejected,
                "queued": len(self._queue),
                "running": self._running,
            }
