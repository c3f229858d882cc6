"""The page fetcher's thread ends with the run, however the run ends."""

import threading
from collections.abc import Iterator

import pytest

from skillibrium.sync.prefetch import Prefetched


def test_a_consumer_that_stops_early_leaves_no_fetcher_thread_behind() -> None:
    """A run that crashes while its fetcher has read the last page and waits to say so (the queue full) used
    to leave that thread, and its database connection, blocked for the worker's lifetime."""
    last_page_handed_over = threading.Event()

    def pages() -> Iterator[int]:
        yield 1
        yield 2
        last_page_handed_over.set()  # asked for a third: page 2 is in the queue, which is now full

    pages_read = iter(Prefetched(pages(), depth=1))
    assert next(pages_read) == 1
    assert last_page_handed_over.wait(timeout=30)

    pages_read.close()  # the run stops here, as on an exception

    assert not [t for t in threading.enumerate() if t.name == "merge-prefetch" and t.is_alive()]


def test_every_page_then_the_end_arrive_in_order() -> None:
    assert list(Prefetched(iter(range(7)), depth=2)) == list(range(7))


def test_an_error_in_the_fetcher_is_raised_in_the_run() -> None:
    def pages() -> Iterator[int]:
        yield 1
        raise ValueError("a malformed page")

    read: list[int] = []
    with pytest.raises(ValueError, match="a malformed page"):
        read.extend(Prefetched(pages(), depth=1))
    assert read == [1]
