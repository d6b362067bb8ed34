"""Scheduled reports: the grid of job history, sent by ``serve`` on each report's own
schedule (the ``reports:`` section, ``cbsalert.configreports.ReportConfig``).

::

    content.py   pure: a GridView -> what a report says (headline, problem rows, owners)
    render.py    the report as an email (subject, text, HTML within a size), Slack blocks,
                 plain text and a webhook's JSON; templates overridable by a file prefix
    deliver.py   one report message through one notifier, by the notifier's kind
    send.py      a report now (``report --send``), or for its period once (``serve``: the
                 run lock and a run slot per report and period, so two instances send once)
    jobs.py      ``serve``'s scheduler: one job per report, replaced on a config reload
"""
