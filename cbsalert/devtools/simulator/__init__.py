"""A simulated AhsayCBS: a real HTTP server on loopback, answering like the documents' examples.

It serves the six read operations cbsalert uses, and the credential self-test
AuthSystemUser (``cbsalert doctor``), from a data file. Three parts, one job each:

* ``data``: the world a data file describes (``SimData``, ``load_sim_data``);
* ``world``: what the CBS answers to each operation in that world, quirks included;
* ``server``: the HTTP server (``Simulator``): the call log and injected faults.
"""

from cbsalert.devtools.simulator.data import SimData, SimFaults, load_sim_data
from cbsalert.devtools.simulator.server import Call, FaultKind, Simulator

__all__ = ["Call", "FaultKind", "SimData", "SimFaults", "Simulator", "load_sim_data"]
