"""Message templates without servers: placeholders, checks, the sandbox, filters, defaults."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2 import Undefined

from mpp_shared.contracts import load_all
from mpp_shared.problems import Problem
from notifications.templates import defaults, placeholders, service
from notifications.templates.models import (
    CHANNELS,
    NEEDS_SUBJECT,
    NO_SUBJECT,
    SMS_MAX_CHARACTERS,
    Template,
)

SUBMITTED = "applications.application.submitted.v1"
OTP = "identity.otp.requested.v1"
OUTPUT_ISSUED = defaults.OUTPUT_ISSUED


def refusal(**template: Any) -> Problem:
    """The 422 a template gets, checked as an e-mail of a submitted application by default."""
    values = {"event_type": SUBMITTED, "channel": "email", "language": "id", "subject": "Hai"}
    with pytest.raises(Problem) as caught:
        service.check(**(values | template))
    assert caught.value.status == 422
    return caught.value


def messages(problem: Problem, language: str = "en") -> list[str]:
    return [e["message"][language] for e in problem.errors]


class FakeDb:
    """Just enough of a database for `render`: the current templates, looked up by id."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *templates: Template) -> None:
        self.templates = {t.id: t for t in templates}
        monkeypatch.setattr(service.store, "find", self.find)

    async def find(self, connection: Any, template: str) -> Template | None:
        return self.templates.get(template)


def current(event_type: str, channel: str, language: str, text: str) -> Template:
    return Template.model_validate(
        {
            "id": f"{event_type}:{channel}:{language}",
            "event_type": event_type,
            "channel": channel,
            "language": language,
            "version": 1,
            "subject": None,
            "text": text,
            "origin": "default",
            "saved_by": "system",
            "saved_at": datetime.now(UTC),
        }
    )


# --- placeholders ------------------------------------------------------------------------------


def test_the_placeholders_of_an_event_type_are_the_fixed_ones_and_its_contract_fields() -> None:
    allowed = placeholders.allowed(SUBMITTED)
    assert {"recipient.name", "service.name", "links.track", "mall.name"} <= allowed
    assert {"event.tracking_number", "event.due_at", "event.document_ids"} <= allowed
    assert "event.note" not in allowed, "the note belongs to revision_requested only"
    assert "event.pin" in placeholders.allowed("documents.output.pin_issued.v1")


def test_an_event_type_without_a_contract_has_no_placeholders() -> None:
    with pytest.raises(KeyError):
        placeholders.allowed("applications.application.teleported.v1")


def test_collect_finds_attribute_and_constant_key_paths_but_not_names_the_template_binds() -> None:
    source = (
        "{{ event.tracking_number }} {{ event['note'] }} {{ links['track'] }}\n"
        "{% if event.purpose == 'reset_password' %}{{ recipient.name|upper }}{% endif %}\n"
        "{% for document in event.document_ids %}{{ document }}{{ loop.index }}{% endfor %}\n"
        "{% set title = mall.name %}{{ title }} {{ event[key] }}"
    )
    uses = placeholders.collect(service._environment().parse(source))
    assert {u.path for u in uses} == {
        "event.tracking_number",
        "event.note",
        "links.track",
        "event.purpose",
        "recipient.name",
        "event.document_ids",
        "mall.name",
        "key",
        "event",  # `event[key]`: a computed key reads the whole payload
    }
    assert next(u.line for u in uses if u.path == "event.document_ids") == 3


def test_a_path_inside_an_allowed_value_is_permitted_but_not_a_bare_root() -> None:
    allowed = {"event.scores", "event.tracking_number"}
    assert placeholders.permitted("event.scores.kecepatan", allowed)
    assert placeholders.permitted("event.tracking_number", allowed)
    assert not placeholders.permitted("event", allowed)
    assert not placeholders.permitted("event.citizen", allowed)


# --- checks ------------------------------------------------------------------------------------


def test_unknown_placeholders_are_refused_each_by_name_in_both_languages() -> None:
    problem = refusal(text="Halo {{ recipient.name }}, NIK {{ event.nik }} {{ citizen.phone }}")
    assert [e["field"] for e in problem.errors] == ["text", "text"]
    assert "`{{ event.nik }}`" in messages(problem)[0]
    assert "`{{ citizen.phone }}`" in messages(problem)[1]
    assert "tidak dikenal" in messages(problem, "id")[0]
    assert "event.tracking_number" in problem.extensions["placeholders"]


def test_the_whole_event_may_not_be_dumped_into_a_message() -> None:
    problem = refusal(text="{{ event }}")
    assert "`{{ event }}`" in messages(problem)[0]


def test_a_placeholder_used_twice_is_reported_once() -> None:
    problem = refusal(text="{{ event.nik }} {{ event.nik }}")
    assert len(problem.errors) == 1


def test_a_syntax_error_is_reported_with_its_field_and_line() -> None:
    problem = refusal(subject="Permohonan {{ event.tracking_number", text="Halo")
    assert problem.errors[0]["field"] == "subject"
    problem = refusal(text="Halo\n{% if event.due_at %}\nsampai {{ event.due_at|tanggal }}")
    assert problem.errors[0]["field"] == "text"
    assert messages(problem)[0].startswith("Line 3:")
    assert messages(problem, "id")[0].startswith("Baris 3:")


def test_an_unknown_filter_is_a_syntax_error() -> None:
    problem = refusal(text="{{ event.tracking_number|shout }}")
    assert "shout" in messages(problem)[0]


def test_email_and_push_need_a_subject_sms_and_whatsapp_take_none() -> None:
    assert refusal(channel="email", subject=None, text="Halo").errors[0]["field"] == "subject"
    assert refusal(channel="push", subject=None, text="Halo").errors[0]["field"] == "subject"
    assert refusal(channel="sms", subject="Judul", text="Halo").errors[0]["field"] == "subject"
    service.check(event_type=SUBMITTED, channel="inbox", language="id", subject=None, text="Hai")


def test_an_sms_over_three_messages_is_refused() -> None:
    text = "{{ event.tracking_number }} " + "x" * 460
    problem = refusal(channel="sms", subject=None, text=text)
    assert "480" in messages(problem)[0]


def test_a_template_that_renders_nothing_is_refused() -> None:
    refusal(text="{% if event.due_at == 'never' %}{{ event.tracking_number }}{% endif %}")


def test_templates_of_unknown_event_types_are_refused() -> None:
    problem = refusal(event_type="applications.application.teleported.v1", text="Halo")
    assert problem.errors[0]["field"] == "event_type"


# --- the sandbox -------------------------------------------------------------------------------

ATTACKS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ event.tracking_number.__class__.__mro__[1].__subclasses__() }}",
    "{{ event['__class__'] }}",
    "{{ (event.tracking_number|attr('__class__')) }}",
    "{{ '{0.__class__}'.format(event.tracking_number) }}",
    "{% include 'secrets.txt' %}",
    "{% for i in range(10) %}x{% endfor %}",
    "{{ cycler.__init__.__globals__ }}",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_attribute_tricks_are_refused_on_save(source: str) -> None:
    refusal(text=f"Halo {{{{ recipient.name }}}} {source}")


@pytest.mark.parametrize("source", ATTACKS)
async def test_attribute_tricks_render_nothing_of_the_internals(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were one saved by going round the checks, the sandbox would still show nothing.
    db = FakeDb(monkeypatch, current(SUBMITTED, "sms", "id", f"[{source}]"))
    rendered = await service.render(
        db,  # type: ignore[arg-type]
        event_type=SUBMITTED,
        channel="sms",
        language="id",
        context=placeholders.sample_context(SUBMITTED),
    )
    assert rendered is None or rendered.text == "[]"


@pytest.mark.parametrize(
    "source",
    [
        "{{ event.tracking_number * 100000000 }}",
        "{{ 'x' * 100000000 }}",
        "{{ 10 ** 10 ** 10 }}",
        "{{ 99999999 * 99999999 * 99999999 }}",
        "{{ '%999999999s' % event.tracking_number }}",
        "{{ event.tracking_number.ljust(999999999) }}",
        "{{ event.tracking_number|center(999999999) }}",
        "{{ event.document_ids|batch(999999999, 'x') }}",
        "{{ event.tracking_number|replace('', event.tracking_number)|replace('', "
        "event.tracking_number)|replace('', event.tracking_number) }}",
        "{% set s = event.tracking_number ~ event.tracking_number %}{{ s }}",
        "{% macro twice(s) %}{{ s ~ s }}{% endmacro %}{{ twice(event.tracking_number) }}",
    ],
)
def test_ways_to_build_a_huge_message_are_refused(source: str) -> None:
    refusal(text=f"{{{{ event.tracking_number }}}} {source}")


def test_refused_constructs_are_named_with_their_line() -> None:
    problem = refusal(text="Halo\n{% set x = 1 %}{{ recipient.name.upper() }}")
    assert set(messages(problem)) == {
        "Line 2: `{% set %}` is not allowed in a template.",
        "Line 2: `upper()` is not allowed in a template.",
    }


def test_numbers_still_multiply() -> None:
    context = placeholders.sample_context(SUBMITTED)
    assert service._render(None, "{{ 3 * 4 }}", context, 1).text == "12"


# --- rendering ---------------------------------------------------------------------------------


def test_missing_values_render_as_nothing() -> None:
    context = placeholders.sample_context(SUBMITTED)
    del context["event"]["due_at"]
    del context["links"]
    source = "A{{ event.due_at|tanggal }}B{{ links.track }}C{{ links.track.host }}D"
    assert service._render(None, source, context, 1).text == "ABCD"


def test_a_subject_is_one_line_whatever_the_values_hold() -> None:
    context = placeholders.sample_context(SUBMITTED)
    context["recipient"]["name"] = "Andi\r\nBcc: someone@example.com"
    rendered = service._render("Untuk {{ recipient.name }}", "Halo", context, 4)
    assert rendered.subject == "Untuk Andi Bcc: someone@example.com"
    assert rendered.template_version == 4


def test_blank_lines_left_by_omitted_blocks_are_squeezed() -> None:
    context = placeholders.sample_context(SUBMITTED)
    source = "Satu\n\n{% if false %}\nDua\n{% endif %}\n\nTiga  \n"
    assert service._render(None, source, context, 1).text == "Satu\n\nTiga"


@pytest.mark.parametrize(
    ("value", "indonesian", "english"),
    [
        ("2026-11-26T17:30:00Z", "27 November 2026", "27 November 2026"),  # 01.30 WITA next day
        ("2026-01-08", "8 Januari 2026", "8 January 2026"),
        ("2026-08-17T10:00:00+08:00", "17 Agustus 2026", "17 August 2026"),
        ("bukan tanggal", "bukan tanggal", "bukan tanggal"),
        (None, "", ""),
    ],
)
def test_dates_are_written_in_local_time_in_either_language(
    value: Any, indonesian: str, english: str
) -> None:
    assert placeholders.tanggal(value) == indonesian
    assert placeholders.date_en(value) == english


def test_times_weekdays_and_amounts() -> None:
    assert placeholders.jam("2026-11-27T02:30:00Z") == "10.30 WITA"
    assert placeholders.time_en("2026-11-27T02:30:00Z") == "10:30 WITA"
    assert placeholders.hari("2026-11-27T02:30:00Z") == "Jumat"
    assert placeholders.day_en("2026-11-27") == "Friday"
    assert placeholders.rupiah(50_000) == "Rp 50.000"
    assert placeholders.rupiah("1234567") == "Rp 1.234.567"
    assert placeholders.rupiah(0) == "Rp 0"
    assert placeholders.rupiah("gratis") == "gratis"
    assert placeholders.tanggal(Undefined()) == ""


def test_filters_work_inside_templates() -> None:
    context = placeholders.sample_context("applications.booking.created.v1")
    source = "{{ event.starts_at|hari }}, {{ event.starts_at|tanggal }} {{ event.starts_at|jam }}"
    assert service._render(None, source, context, 1).text == "Jumat, 27 November 2026 10.30 WITA"


async def test_the_recipients_language_is_used_and_indonesian_when_it_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = FakeDb(
        monkeypatch,
        current(SUBMITTED, "sms", "id", "Diterima: {{ event.tracking_number }}"),
        current(SUBMITTED, "sms", "en", "Received: {{ event.tracking_number }}"),
        current(OTP, "sms", "id", "Kode {{ event.code }}"),
    )
    context = placeholders.sample_context(SUBMITTED, language="en")
    english = await service.render(
        db,  # type: ignore[arg-type]
        event_type=SUBMITTED,
        channel="sms",
        language="en",
        context=context,
    )
    assert english is not None
    assert english.text == f"Received: {placeholders.TRACKING_NUMBER}"
    fallback = await service.render(
        db,  # type: ignore[arg-type]
        event_type=OTP,
        channel="sms",
        language="en",
        context=placeholders.sample_context(OTP, language="en"),
    )
    assert fallback is not None
    assert fallback.text == "Kode 482913"
    none = await service.render(
        db,  # type: ignore[arg-type]
        event_type=OTP,
        channel="email",
        language="en",
        context=context,
    )
    assert none is None


async def test_a_template_that_fails_to_render_gives_no_message_rather_than_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = FakeDb(monkeypatch, current(SUBMITTED, "sms", "id", "{{ event.tracking_number + 1 }}"))
    rendered = await service.render(
        db,  # type: ignore[arg-type]
        event_type=SUBMITTED,
        channel="sms",
        language="id",
        context=placeholders.sample_context(SUBMITTED),
    )
    assert rendered is None


# --- samples and defaults ----------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(load_all()))
def test_every_contract_has_a_sample_that_it_accepts(event_type: str) -> None:
    _, model = load_all()[event_type]
    model.model_validate(placeholders.sample_event(event_type))


def test_the_sample_varies_each_choice_so_every_branch_renders() -> None:
    purposes = {c["event"]["purpose"] for c in placeholders.variants(OTP)}
    assert purposes == {"verify_phone", "reset_password"}


WANTED = {
    OTP: {"sms", "whatsapp"},
    **{
        f"applications.application.{name}.v1": {"email", "sms", "inbox", "push"}
        for name in ("submitted", "revision_requested", "approved", "rejected", "completed")
    },
    "applications.application.cancelled.v1": {"email", "sms", "inbox", "push"},
    "applications.booking.created.v1": {"email", "sms", "inbox"},
    "applications.booking.cancelled.v1": {"email", "sms", "inbox"},
    "applications.complaint.filed.v1": {"email", "inbox"},
    # The e-mail for the agency's administrators, the inbox for the citizen.
    "applications.complaint.forwarded.v1": {"email", "inbox"},
    "applications.complaint.responded.v1": {"email", "inbox"},
    "applications.complaint.closed.v1": {"email", "inbox"},
    "documents.output.issued.v1": {"email", "inbox"},
    "documents.output.pin_issued.v1": {"sms", "email", "whatsapp"},
    # For the agency's administrators, not the citizen.
    "applications.application.sla_breached.v1": {"email"},
    "applications.complaint.replied.v1": {"email"},
}


def test_the_defaults_cover_every_event_and_channel_citizens_hear_about() -> None:
    found: dict[str, set[str]] = {}
    for event_type, channel, *_ in defaults.each():
        found.setdefault(event_type, set()).add(channel)
    assert found == WANTED
    assert len(list(defaults.each())) == 2 * len(defaults.DEFAULTS)


@pytest.mark.parametrize(
    ("event_type", "channel", "language", "subject", "text"),
    list(defaults.each()),
    ids=[f"{d[0]}:{d[1]}:{d[2]}" for d in defaults.each()],
)
def test_every_default_is_valid_and_renders_in_its_language(
    event_type: str, channel: str, language: str, subject: str | None, text: str
) -> None:
    assert channel in CHANNELS
    assert (subject is not None) == (channel not in NO_SUBJECT)
    assert channel not in NEEDS_SUBJECT or subject
    service.check(
        event_type=event_type, channel=channel, language=language, subject=subject, text=text
    )
    for context in placeholders.variants(event_type, language=language):
        rendered = service._render(subject, text, context, 1)
        assert rendered.text
        assert subject is None or rendered.subject
        assert "{{" not in rendered.text and "{%" not in rendered.text
        if channel == "sms":
            assert len(rendered.text) <= SMS_MAX_CHARACTERS
        if "tracking_number" in context["event"]:
            assert context["event"]["tracking_number"] in rendered.text
        if event_type == OTP:
            assert ("JANGAN" if language == "id" else "Do NOT") in rendered.text
        # Every link a template names is one the event that triggers it can make.
        for name in re.findall(r"links(?:\.|\[['\"])(\w+)", f"{subject or ''} {text}"):
            assert context["links"][name], f"links.{name} is empty for {event_type}"
    assert not re.search(r"\bnik\b", text, re.IGNORECASE), "a message never carries the NIK"


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_issued_output_email_links_to_its_verification_page(language: str) -> None:
    event = placeholders.sample_event(OUTPUT_ISSUED)
    page = f"{placeholders.BASE_URL}/verify/{event['verification_code']}"
    assert event["verify_url"] == page, "the issued event carries its verification page"
    [(subject, text)] = [
        (d[3], d[4]) for d in defaults.each() if d[:3] == (OUTPUT_ISSUED, "email", language)
    ]
    context = placeholders.sample_context(OUTPUT_ISSUED, language=language, event=event)
    assert page in service._render(subject, text, context, 1).text
    # An event of an output issued before it carried the page: the page made from the code.
    older = {k: v for k, v in event.items() if k != "verify_url"}
    context = placeholders.sample_context(OUTPUT_ISSUED, language=language, event=older)
    assert page in service._render(subject, text, context, 1).text


# --- the tracking link -------------------------------------------------------------------------

# GSM 03.38's basic character set: text made of these alone goes 160 characters to an SMS.
GSM_7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def test_the_tracking_link_carries_the_check_code_after_the_number() -> None:
    base = placeholders.BASE_URL
    number, code = placeholders.TRACKING_NUMBER, placeholders.CHECK_CODE
    event = {"tracking_number": number, "check_code": code}
    assert placeholders.track_link(base, event) == f"{base}/track/{number}-{code}"
    older = {"tracking_number": number, "check_code": None}
    assert placeholders.track_link(base, older) == f"{base}/track/{number}", "asks for the code"
    assert placeholders.track_link(base, {"tracking_id": "ADU-SNJ-20260108-000007"}) == ""


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_received_sms_links_with_the_check_code_in_one_gsm_7_sms(language: str) -> None:
    [(subject, text)] = [
        (d[3], d[4]) for d in defaults.each() if d[:3] == (SUBMITTED, "sms", language)
    ]
    event = placeholders.sample_event(SUBMITTED)
    assert event["check_code"] == placeholders.CHECK_CODE
    context = placeholders.sample_context(SUBMITTED, language=language, event=event)
    assert context["links"]["track"] == placeholders.track_link(placeholders.BASE_URL, event)
    rendered = service._render(subject, text, context, 1).text
    assert rendered.endswith(f"/track/{placeholders.TRACKING_NUMBER}-{placeholders.CHECK_CODE}")
    assert set(rendered) <= GSM_7, set(rendered) - GSM_7
    assert len(rendered) <= 160, (len(rendered), rendered)


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_received_email_gives_the_check_code_beside_the_number(language: str) -> None:
    [(subject, text)] = [
        (d[3], d[4]) for d in defaults.each() if d[:3] == (SUBMITTED, "email", language)
    ]
    context = placeholders.sample_context(SUBMITTED, language=language)
    rendered = service._render(subject, text, context, 1).text
    assert placeholders.CHECK_CODE in rendered.replace(context["links"]["track"], "")
    context["event"]["check_code"] = None  # an application made before there were codes
    assert "None" not in service._render(subject, text, context, 1).text
