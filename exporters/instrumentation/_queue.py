"""Queue depth and queue time for batch and streaming serving loops.

A request that waits for a batcher or a generation slot takes a ``QueueTicket`` when it
arrives: it counts in ``inferwatch.inference.queued_requests`` (the same name the engine
adapters give vLLM's, TGI's, Triton's and SGLang's waiting counts, so dashboards and
scaling rules treat both alike) until it leaves the queue, and its wait becomes
``inferwatch.inference.queue.duration``::

    ticket = instr.enqueue()                 # in the request handler
    ...
    with instr.inference(ticket=ticket):     # streaming: one request leaves the queue
        ...
    with instr.batch(tickets) as span:       # batch: many leave together
        ...
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from inferwatch.exporters.instrumentation._metrics import ActiveCounts
from inferwatch.exporters.instrumentation._span import Clock


class QueueTicket:
    """One request waiting; ``leave()`` takes it out of the count (once) and returns
    when it arrived, on the instrumentation's clock."""

    __slots__ = ("_attrs", "_counts", "_key", "_left", "entered_at")

    def __init__(
        self,
        counts: ActiveCounts,
        key: Hashable,
        attrs: Mapping[str, str],
        clock: Clock,
    ) -> None:
        self._counts = counts
        self._key = key
        self._attrs = dict(attrs)
        self._left = False
        self.entered_at = clock()
        counts.add(key, self._attrs, 1)

    @property
    def attributes(self) -> Mapping[str, str]:
        """``model`` and ``model_version`` of the queued request."""
        return self._attrs

    def leave(self) -> float:
        """Leave the queue (a second call does nothing); return the arrival time."""
        if not self._left:
            self._left = True
            self._counts.add(self._key, self._attrs, -1)
        return self.entered_at
