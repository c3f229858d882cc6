"""Fetch the next pages while this one is written: a sync takes about as long as the slower of the two."""

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue

from django.db import connections

_DONE = object()


class Prefetched[T]:
    """Iterate `pages` in a background thread, at most `depth` ahead, so memory stays bounded."""

    def __init__(self, pages: Iterator[T], depth: int = 3) -> None:
        self._pages = pages
        self._queue: Queue[object] = Queue(maxsize=depth)
        self._stop = threading.Event()

    @property
    def ready(self) -> bool:
        """Whether the next page (or the end) has already arrived."""
        return not self._queue.empty()

    def _hand_over(self, item: object) -> bool:
        """Queue an item unless the consumer has stopped (a full queue nobody reads would hold this thread,
        and its database connection, for as long as the worker lives); returns whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for page in self._pages:
                if not self._hand_over(page):
                    return
            self._hand_over(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it in its own thread
            self._hand_over(error)
        finally:
            connections.close_all()  # this thread's own, opened by the client's fleet budget

    def __iter__(self) -> Iterator[T]:
        thread = threading.Thread(target=self._produce, name="merge-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=1)
                except Empty:
                    if not thread.is_alive():
                        raise RuntimeError("the page fetcher stopped without a result") from None
                    continue
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            self._stop.set()
            thread.join(timeout=5)
