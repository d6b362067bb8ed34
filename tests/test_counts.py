"""A count the CBS sent but that cannot be read is "unknown": it fails closed in the count rules,
and every output says "unknown" rather than a number (issue 14.5)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from cbsalert import labels, render
from cbsalert.model import UNKNOWN, AlertEvent, Finding
from cbsalert.notify import build_context, slack_text, testmsg
from cbsalert.notify.email import template_data
from cbsalert.rules import RuleBase
from tests.test_render import SLACK, make_config
from tests.test_rules import DAY, NOW, firing, job, rule, snap

UNREADABLE = [math.inf, math.nan, "1e400", "0x10", "NaN", -4, None, ""]


@pytest.mark.parametrize("value", UNREADABLE)
@pytest.mark.parametrize(
    ("kind", "field", "threshold"),
    [("error_count", "errors", 5), ("warning_count", "warnings", 50)],
)
def test_a_count_rule_fires_on_an_unreadable_count(
    kind: str, field: str, threshold: int, value: Any
) -> None:
    found = rule(kind=kind, threshold=threshold).evaluate(snap([job(**{field: value})]), NOW)

    [alert] = firing(found)
    assert getattr(alert, field) == UNKNOWN
    assert f"{field.removesuffix('s')} count cannot be read" in alert.summary


def test_a_readable_count_after_an_unreadable_one_clears_the_alert() -> None:
    count_rule: RuleBase = rule(kind="error_count")
    early = job(start="2026-11-22 01:00:00", end="2026-11-22 01:10:00", errors="0x10")
    late = job(start="2026-11-22 13:00:00", end="2026-11-22 13:10:00", errors=0)

    [finding] = count_rule.evaluate(snap([early, late]), NOW)

    assert not finding.firing and finding.errors == 0


def test_other_rules_show_an_unreadable_count_as_unknown() -> None:
    found = rule(kind="backup_status").evaluate(
        snap([job(status="BS_STOP_BY_SYSTEM_ERROR", errors="1e400", warnings=2)]), NOW
    )

    [alert] = firing(found)
    assert (alert.errors, alert.warnings) == (UNKNOWN, 2)
    assert alert.to_dict()["errors"] == "unknown"


def _context(errors: Any, warnings: Any) -> dict[str, Any]:
    finding = Finding(
        rule="errors", kind="error_count", severity="critical", firing=True, login="alice",
        day=DAY, backup_set_id="100", backup_set_name="Documents", status="BS_STOP_SUCCESS",
        errors=errors, warnings=warnings, summary="Backup of 'Documents': count unreadable.",
    )  # fmt: skip
    return build_context(DAY, "UTC", [AlertEvent(finding, "new")], datetime.now(UTC))


@pytest.mark.parametrize(
    ("kind", "name"),
    [(render.TEXT, "default-body.txt.j2"), (render.HTML, "default-body.html.j2"),
     (slack_text.SLACK, "slack-alert.mrkdwn.j2")],
)  # fmt: skip
def test_templates_say_unknown_for_an_unreadable_count_never_zero(kind: Any, name: str) -> None:
    context = _context(UNKNOWN, 3)
    template = render.load(kind, name)

    if kind is slack_text.SLACK:
        text = render.render(
            template, run=context["run"], alert=context["alerts"][0], compact=False
        )
    else:
        text = render.render(template, **template_data(context))

    assert "error count unknown" in text
    assert "0 errors" not in text
    assert "3 warnings" in text


def test_plural_of_a_known_count_is_unchanged() -> None:
    assert (labels.plural(1, "error"), labels.plural(4, "error")) == ("1 error", "4 errors")


def test_validation_catches_a_template_that_breaks_on_an_unknown_count(tmp_path: Any) -> None:
    template = tmp_path / "alert.j2"
    template.write_text("{{ alert.login }}: {{ (alert.errors or 0) + 1 }} problems")
    config = make_config({"chat": {**SLACK, "template": str(template)}})

    [problem] = testmsg.validate_templates(config)

    assert f"{template}:1:" in problem
