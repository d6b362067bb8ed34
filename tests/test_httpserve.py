"""The loopback servers' shared base: a burst of connections never waits for a SYN retransmit."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from cbsalert.simulator import SimData, Simulator

# More connections than the CBS client opens at once with its default lanes, and far more
# than a listen backlog of 5 holds.
BURST = 64


def test_the_simulator_queues_a_burst_of_connections_before_it_accepts_any() -> None:
    """With a backlog of 5 the kernel drops the 7th SYN while the server thread is busy, and
    that client waits a second for the retransmission: longer than the run deadline of the
    test that was flaky because of it. Not started, the server accepts nothing, so every
    connection below has to fit in the listen queue; a dropped one times out."""
    sim = Simulator(SimData())
    host, port = sim._server.server_address[:2]
    try:
        with ExitStack() as stack:
            for _ in range(BURST):
                stack.enter_context(socket.create_connection((str(host), port), timeout=3))
    finally:
        sim._server.server_close()
