"""Fetch the next pages while this one is written: a sync takes about as long as the slower of the two."""

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue

_DONE = object()


def prefetched[T](pages: Iterator[T], depth: int = 3) -> Iterator[T]:
    """Iterate `pages` in a background thread, at most `depth` ahead, so memory stays bounded."""
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        queue.put(page, timeout=0.2)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it in its own thread
            queue.put(error)

    thread = threading.Thread(target=produce, name="merge-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1)
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
        stop.set()
        thread.join(timeout=5)
