"""The loopback servers' shared base (cbsalert/devtools/loopback.py): a burst of connections
never waits for a SYN retransmit, and a server stops whether or not it ever served."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack

import pytest

from cbsalert.devtools.loopback import LoopbackServer
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink

# More connections than the CBS client opens at once with its default lanes, and far more
# than a listen backlog of 5 holds.
BURST = 64

SERVERS: dict[str, Callable[[], LoopbackServer]] = {
    "simulator": lambda: Simulator(SimData()),
    "slack": SlackSink,
}


@pytest.mark.parametrize("make", SERVERS.values(), ids=SERVERS.keys())
def test_a_stand_in_queues_a_burst_of_connections_before_it_accepts_any(
    make: Callable[[], LoopbackServer],
) -> None:
    """With a backlog of 5 the kernel drops the 7th SYN while the server thread is busy, and
    that client waits a second for the retransmission: longer than the run deadline of the
    test that was flaky because of it. Not started, the server accepts nothing, so every
    connection below has to fit in the listen queue; a dropped one times out. Then it stops
    although it never served (shutting down a server that never served waits forever)."""
    server = make()
    try:
        with ExitStack() as stack:
            for _ in range(BURST):
                stack.enter_context(socket.create_connection(server.address, timeout=3))
    finally:
        server.stop()
