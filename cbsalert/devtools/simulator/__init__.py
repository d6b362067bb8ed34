"""A simulated AhsayCBS: a real HTTP server on loopback, answering like the documents' examples.

It serves the read operations cbsalert uses (ListUsers too, on its v2 and v1 paths), and the
credential self-test AuthSystemUser (``cbsalert doctor``), from a data file. Four parts, one
job each:

* ``data``: the world a data file describes (``SimData``, ``load_sim_data``);
* ``world``: what the CBS answers to each operation in that world, quirks included;
* ``users``: ListUsers, its filters, and an old server's answers for the path it lacks;
* ``server``: the HTTP server (``Simulator``): the call log and injected faults.
"""

from cbsalert.devtools.simulator.data import SimData, SimFaults, load_sim_data
from cbsalert.devtools.simulator.server import Call, FaultKind, Simulator

__all__ = ["Call", "FaultKind", "SimData", "SimFaults", "Simulator", "load_sim_data"]
