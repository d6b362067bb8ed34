"""Development tools, not the service: the simulated CBS, the Slack, mail, webhook,
PagerDuty and Teams stand-ins, the demo, and the fail points of the fault tests, all on
loopback.

They serve the tests, the benchmark and a person trying cbsalert out (``cbsalert demo``,
``simulate``, ``sinks``); the service itself never starts one. This package's ``__init__``
imports nothing, so the pipeline's use of ``faults`` costs nothing more.
"""
