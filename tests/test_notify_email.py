"""The email notifier against SmtpSink, a real aiosmtpd server on loopback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.devtools.certs import openssl_available
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import DeliveryError
from cbsalert.notify import digest, fit
from cbsalert.notify.email import EmailConfig
from cbsalert.notify.testmsg import sample_context

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
PASSWORD = "Smtp-S3cret-pw!"
needs_openssl = pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink(refuse=["gone@example.com"]) as sink:
        yield sink


def notifier(sink: SmtpSink | None = None, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port if sink else SmtpSink.closed_port(),
        "from": "cbsalert <cbsalert@example.com>",
        "to": ["oncall@example.com", "backup-team@example.com"],
        "cc": ["boss@example.com"],
        "timeout_s": 2,
        **overrides,
    }
    return EmailConfig.model_validate(settings).create("oncall-email")


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    # as received: lines end in CRLF on the wire
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def only(context: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The context of a message holding only the alerts ``keep`` picks, counted as
    ``build_context`` counts a message's alerts (a per-alert message, for one)."""
    alerts = [a for a in context["alerts"] if keep(a)]
    groups = digest.order(alerts)
    summary = digest.summary(groups, len(groups))
    return {"run": {**context["run"], "summary": summary}, "alerts": alerts}


def test_a_digest_arrives_as_text_and_html_to_every_recipient(smtp: SmtpSink) -> None:
    notifier(smtp).send(sample_context(NOW, ZONE))

    [mail] = smtp.received
    assert mail.mail_from == "cbsalert@example.com"
    assert mail.rcpt_tos == ["oncall@example.com", "backup-team@example.com", "boss@example.com"]
    message = mail.message
    assert message["Subject"] == (
        "🔴 5 critical — CBS backup.example.com, example-laptop +3 · 4 warnings · 2 resolved · "
        "backups of Sun 22 Nov"
    )
    assert message["To"] == "oncall@example.com, backup-team@example.com"
    assert message["Cc"] == "boss@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert (
        "🔴 Critical · new — example-user (owner Example Owner)\n"
        "  Documents (daily) · destination Offsite S3\n" in text
    )
    assert "ran 2026-11-22 22:15\u201323:40 CET · 12 errors · 3 warnings" in text
    assert "What to do: Open the backup report in AhsayCBS" in text
    assert (
        "✅ RESOLVED\n  example-office · Finance · destination Offsite S3 — "
        "Backup of 'Finance' succeeded." in text
    )
    assert 'class="card"' in html and "BS_STOP_BY_SYSTEM_ERROR" in html
    assert "✅ RESOLVED" in html
    assert "Check whether the job is stuck" in html


def test_one_alert_gets_its_own_subject(smtp: SmtpSink) -> None:
    context = sample_context(NOW, ZONE)
    context = only(context, lambda a: a["kind"] == "backup_status" and a["state"] == "new")

    notifier(smtp).send(context)

    # Python's email folding of a long subject with encoded words adds a space where it folds
    # (a space before the fold, one after): compared with whitespace collapsed.
    assert " ".join(smtp.messages[0]["Subject"].split()) == (
        "🔴 example-user · Documents (daily): Backup of 'Documents (daily)' stopped by a system "
        "error (BS_STOP_BY_SYSTEM_ERROR). · backups of Sun 22 Nov"
    )


def test_a_test_message_is_marked_in_subject_and_body(smtp: SmtpSink) -> None:
    notifier(smtp).send(sample_context(NOW, ZONE, test=True))

    message = smtp.messages[0]
    assert message["Subject"].startswith("TEST · 🔴 5 critical")
    text, html = parts(message)
    assert "TEST MESSAGE" in text and "TEST MESSAGE" in html


def test_hostile_data_is_escaped_in_html_and_cannot_forge_lines_or_headers(
    smtp: SmtpSink,
) -> None:
    context = sample_context(NOW, ZONE, hostile=True)

    notifier(smtp).send(context)
    first = next(
        a for a in context["alerts"] if "forged" in a["summary"] and a["kind"] == "backup_status"
    )
    notifier(smtp).send(only(context, lambda a: a is first))

    many, single = smtp.messages
    text, html = parts(many)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "C:\\Users\\Ann\\Documents\\*.pst" in html
    assert "x" * 600 not in html and "x…" in html
    assert not any(line.startswith("Subject: forged") for line in text.splitlines())
    assert "\n" not in single["Subject"] and single["X-Forged"] is None
    assert single["Subject"].startswith("🔴 <!channel> & @here *bold* (C:\\Users\\Ann")


@needs_openssl
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_login_delivers_and_verifies_the_certificate(security: str) -> None:
    with SmtpSink(tls=security, auth=("cbsalert", PASSWORD)) as sink:  # type: ignore[arg-type]
        notifier(
            sink, security=security, ca_bundle=sink.cert_file,
            username="cbsalert", password=PASSWORD,
        ).send(sample_context(NOW, ZONE))  # fmt: skip

        assert len(sink.messages) == 1


@needs_openssl
def test_an_untrusted_certificate_is_a_permanent_failure() -> None:
    with SmtpSink(tls="starttls") as sink, pytest.raises(DeliveryError) as caught:
        notifier(sink, security="starttls").send(sample_context(NOW, ZONE))

    assert caught.value.permanent
    assert "certificate" in str(caught.value)


def test_a_refused_connection_is_transient() -> None:
    with pytest.raises(DeliveryError) as caught:
        notifier().send(sample_context(NOW, ZONE))

    assert not caught.value.permanent
    assert "127.0.0.1:" in str(caught.value) and "refused" in str(caught.value).lower()


def test_a_recipient_refused_with_550_is_permanent(smtp: SmtpSink) -> None:
    with pytest.raises(DeliveryError) as caught:
        notifier(smtp, to=["gone@example.com"], cc=[]).send(sample_context(NOW, ZONE))

    assert caught.value.permanent
    assert "gone@example.com: 550" in str(caught.value)
    assert smtp.messages == []


def test_when_some_recipients_are_refused_the_others_still_get_it(
    smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    notifier(smtp, to=["gone@example.com", "oncall@example.com"], cc=[]).send(
        sample_context(NOW, ZONE)
    )

    assert smtp.received[0].rcpt_tos == ["oncall@example.com"]
    assert "gone@example.com (550)" in caplog.text


def test_a_wrong_password_is_permanent_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpSink(auth=("cbsalert", "the-right-one")) as sink, pytest.raises(DeliveryError) as e:
        notifier(sink, username="cbsalert", password=PASSWORD).send(sample_context(NOW, ZONE))

    assert e.value.permanent
    assert "535" in str(e.value) and "login as cbsalert refused" in str(e.value)
    assert PASSWORD not in str(e.value) and PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("451 4.3.0 Try again later", False), ("554 5.7.1 Message rejected as spam", True)],
)
def test_a_refused_message_follows_the_reply_code(reply: str, permanent: bool) -> None:
    with SmtpSink(fail_data=reply) as sink, pytest.raises(DeliveryError) as caught:
        notifier(sink).send(sample_context(NOW, ZONE))

    assert caught.value.permanent is permanent
    assert reply.split()[0] in str(caught.value)


def test_user_templates_replace_the_bodies_and_subject(smtp: SmtpSink, tmp_path: Any) -> None:
    (tmp_path / "mail-body.txt.j2").write_text(
        "{% for a in alerts %}{{ a.login }}: {{ a|hint }}\n{% endfor %}", "utf-8"
    )
    (tmp_path / "mail-body.html.j2").write_text("<p>{{ alerts|length }} alerts</p>", "utf-8")
    (tmp_path / "subject.txt.j2").write_text("Backups {{ run.date }}\n(ignored newline)", "utf-8")

    notifier(
        smtp, template=str(tmp_path / "mail"), subject_template=str(tmp_path / "subject.txt.j2")
    ).send(sample_context(NOW, ZONE))

    message = smtp.messages[0]
    assert message["Subject"] == "Backups 2026-11-22 (ignored newline)"
    text, html = parts(message)
    assert text.startswith("(cbs): Check that the CBS is up")
    assert html.strip() == "<p>15 alerts</p>"


def test_a_broken_user_template_is_a_delivery_error_naming_the_file(
    smtp: SmtpSink, tmp_path: Any
) -> None:
    subject = tmp_path / "subject.txt.j2"
    subject.write_text("{{ run.nope }}", "utf-8")

    with pytest.raises(DeliveryError) as caught:
        notifier(smtp, subject_template=str(subject)).send(sample_context(NOW, ZONE))

    assert f"{subject}:1:" in str(caught.value) and "nope" in str(caught.value)
    assert smtp.messages == []


def test_a_digest_over_max_alerts_says_what_it_left_out_and_names_the_users(
    smtp: SmtpSink,
) -> None:
    context = fit.cut(sample_context(NOW, ZONE), 3)  # as max_alerts: 3 would

    notifier(smtp).send(context)

    [mail] = smtp.received
    text, html = parts(mail.message)
    assert text.count("What to do:") == html.count("What to do:") == 3
    left = "8 more not listed here: 🔴 critical: 1 failed, 1 did not run · 🟠 warning: "
    assert (
        left + "1 selection unresolved, 1 not checked, 1 slower than usual, 1 restore failed"
        " · ✅ 2 resolved" in text
    )
    assert "(watch)" not in text  # an alert about the server names no user
    assert "\n  example-user, example-gone, example-server, example-office\n" in text
    assert html.count("example-gone") == 1  # named in the HTML too, once
    assert "cbsalert alerts" not in text + html  # no command a phone cannot run
    assert mail.message["Subject"].startswith(
        "🔴 5 critical — CBS backup.example.com, example-laptop +3"
    )
