"""Email notifier (SMTP): multipart/alternative, a complete plain text and a phone-first HTML.

Templates: the built-in set ``default`` (``default-subject.txt.j2``, ``default-body.txt.j2``,
``default-body.html.j2``, their wording in ``email-parts.j2``). ``template:
/etc/cbsalert/mail`` is a *file prefix*: the bodies are read from
``/etc/cbsalert/mail-body.txt.j2`` and ``/etc/cbsalert/mail-body.html.j2`` (both must
exist). ``subject_template:`` names the user's subject file. Each template gets the message
(``digest.message``: ``run``, ``alerts``, ``entries``, ``headline``), ``icons`` (severity ->
emoji) and ``cards``: how many firing entries the HTML shows in full. The HTML part is held
under the size at which Gmail clips a message (``cbsalert.notify.fit``); the text part is
not shortened.

SMTP answers are mapped by their reply code (RFC 5321 section 4.2.1): 4yz is a transient
failure and retried on a later run, 5yz is permanent. Refused and timed-out connections are
transient; a certificate that does not verify is permanent (it will not fix itself).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from contextlib import ExitStack
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from cbsalert import render
from cbsalert.errors import DeliveryError, redact
from cbsalert.labels import SEVERITY_EMOJI, clip, oneline
from cbsalert.notify import digest, fit
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.kinds import EmailConfig
from cbsalert.safetext import strip_controls

log = logging.getLogger(__name__)

SUBJECT_MAX = 200


class EmailNotifier(Notifier):
    def __init__(self, name: str, config: EmailConfig) -> None:
        super().__init__(name)
        self.config = config

    def template_paths(self) -> dict[str, Path | None]:
        """The user's file for each part, ``None`` where the built-in one is used."""
        prefix = self.config.template
        subject = self.config.subject_template
        return {
            "subject": render.user_path(subject) if subject else None,
            "text": render.user_path(prefix + "-body.txt.j2") if prefix else None,
            "html": render.user_path(prefix + "-body.html.j2") if prefix else None,
        }

    def render(self, context: MessageContext) -> EmailMessage:
        """The message ``send`` would deliver; raises ``render.TemplateError``."""
        paths = self.template_paths()
        data = template_data(context)
        subject_t = render.load(render.TEXT, "default-subject.txt.j2", paths["subject"])
        text_t = render.load(render.TEXT, "default-body.txt.j2", paths["text"])
        subject = render.render(subject_t, **data)
        html = self.render_html(context)
        return self.message(subject, render.render(text_t, **data).strip() + "\n", html)

    def message(self, subject: str, text: str, html: str) -> EmailMessage:
        """A message to this notifier's recipients with these parts: an alert digest's
        (``render``) or a scheduled report's (``cbsalert.reports``)."""
        # A subject is one header line: a newline in it would be a header injection, and
        # NUL, ESC or a bidi override (from a template's own text, too) has no place in it.
        subject = clip(strip_controls(oneline(subject)), SUBJECT_MAX)
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.config.from_
        message["To"] = ", ".join(self.config.to)
        if self.config.cc:
            message["Cc"] = ", ".join(self.config.cc)
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.config.from_)[1].rpartition("@")[2] or "cbsalert.invalid"
        message["Message-ID"] = make_msgid("cbsalert", domain=domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    def render_html(self, context: MessageContext) -> str:
        """The HTML part, within ``fit.HTML_BUDGET`` (fewer cards and entries when the
        whole would be over it); raises ``render.TemplateError``."""
        html_t = render.load(render.HTML, "default-body.html.j2", self.template_paths()["html"])
        # The headline of the whole message in every try: it names the worst, listed or not.
        headline = digest.message(context)["headline"]

        def html(shorter: MessageContext, cards: int) -> str:
            return render.render(html_t, **template_data(shorter, cards, headline=headline))

        return fit.fit(html, context)

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        try:
            message = self.render(context)
        except render.TemplateError as exc:
            raise DeliveryError(f"email {self.name}: template error: {exc}") from None
        self.deliver(message)

    def deliver(self, message: EmailMessage) -> None:
        """Send ``message`` to the recipients; raises ``DeliveryError`` as ``send`` does."""
        config = self.config
        recipients = [*config.to, *config.cc]
        try:
            refused = self._deliver(message, recipients)
        except (OSError, smtplib.SMTPException) as exc:  # SMTPException is an OSError too
            raise self._error(exc) from None
        if refused:  # accepted for some recipients: sent; say who was left out
            log.warning(
                "email %s: the server refused %s; the message went to the others",
                self.name,
                ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(refused.items())),
            )

    def probe(self) -> Probe:
        """Connect, STARTTLS or TLS, log in, QUIT: everything ``send`` does before MAIL FROM,
        through the same code, so a pass means the next message gets that far."""
        try:
            with self._open():
                pass
        except (OSError, smtplib.SMTPException) as exc:
            raise self._error(exc) from None
        config = self.config
        steps = [f"{config.smtp_host}:{config.port}: connected"]
        steps.append({"ssl": "over TLS", "starttls": "STARTTLS", "none": "without TLS"}[
            config.security])  # fmt: skip
        steps.append(f"logged in as {config.username}" if config.username else "no login set")
        return Probe(True, ", ".join(steps) + "; no mail sent")

    def _open(self) -> smtplib.SMTP:
        """A connection past TLS and AUTH as configured (``send`` and ``probe`` share it);
        quit and closed again if a step fails."""
        config = self.config
        tls = ssl.create_default_context(cafile=config.ca_bundle)
        smtp: smtplib.SMTP
        if config.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                config.smtp_host, config.port, timeout=config.timeout_s, context=tls
            )
        else:
            smtp = smtplib.SMTP(config.smtp_host, config.port, timeout=config.timeout_s)
        with ExitStack() as on_failure:
            on_failure.enter_context(smtp)  # QUIT and close, as `with smtp` does
            if config.security == "starttls":
                smtp.starttls(context=tls)
            if config.username:
                password = config.password.get_secret_value() if config.password else ""
                smtp.login(config.username, password)
            on_failure.pop_all()
        return smtp

    def _deliver(
        self, message: EmailMessage, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        with self._open() as smtp:
            from_addr = parseaddr(self.config.from_)[1] or self.config.from_
            return smtp.send_message(message, from_addr=from_addr, to_addrs=recipients)

    def _error(self, exc: BaseException) -> DeliveryError:
        where = f"email {self.name}: {self.config.smtp_host}:{self.config.port}"
        permanent = False
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            answers = sorted(exc.recipients.items())
            permanent = any(code >= 500 for _, (code, _) in answers)
            text = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in answers)
            detail = f"every recipient was refused: {text}"
        elif isinstance(exc, smtplib.SMTPAuthenticationError):
            permanent = exc.smtp_code >= 500
            detail = (
                f"login as {self.config.username} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            )
        elif isinstance(exc, smtplib.SMTPSenderRefused):
            permanent = exc.smtp_code >= 500
            detail = f"sender {exc.sender} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
        elif isinstance(exc, smtplib.SMTPResponseException):
            permanent = exc.smtp_code >= 500
            detail = f"server answered {exc.smtp_code} {_text(exc.smtp_error)}"
        elif isinstance(exc, smtplib.SMTPNotSupportedError):
            permanent = True  # STARTTLS or AUTH missing: the configuration must change
            detail = f"not supported by the server: {exc}"
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            detail = f"the server closed the connection: {exc}"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            permanent = True
            detail = f"TLS certificate not trusted: {exc.verify_message or exc}"
        elif isinstance(exc, TimeoutError):
            detail = f"timed out after {self.config.timeout_s:g} s"
        else:
            detail = str(exc) or type(exc).__name__
        return DeliveryError(
            redact(f"{where}: {detail}", self.config.secret_values()), permanent=permanent
        )


def template_data(
    context: MessageContext, cards: int | None = None, headline: str | None = None
) -> dict[str, object]:
    """What the email's templates see: the message, the severity emoji, and ``cards``
    (every entry unless the HTML had to be shortened)."""
    data: dict[str, object] = dict(digest.message(context))
    data["icons"] = SEVERITY_EMOJI
    data["cards"] = len(data["entries"]) if cards is None else cards  # type: ignore[arg-type]
    if headline is not None:
        data["headline"] = headline
    return data


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return clip(oneline(text), 300)
