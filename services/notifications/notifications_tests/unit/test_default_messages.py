"""Every built-in template as the events that trigger it render it, without servers: each
placeholder it shows is filled, and each SMS is one GSM-7 message with a real public address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from jinja2 import Undefined, nodes

from mpp_shared.contracts import load_all
from notifications import messages
from notifications.settings import Settings
from notifications.templates import defaults, placeholders, service

# A public address as long as a real mall's: the regency's domain under go.id.
PUBLIC_BASE = "https://mpp.bulukumbakab.go.id"
# The longest tracking number the seeded catalog makes (its longest agency code).
LONGEST_NUMBER = "SNJ-KEC-SINJAI-UTARA-20260108-000123"
# GSM 03.38's basic character set: text made of these alone goes 160 characters to an SMS.
GSM_7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
ONE_SMS = 160


def test_the_public_address_used_here_is_thirty_characters_long() -> None:
    assert len(PUBLIC_BASE) == 30


def minimal_event(event_type: str) -> dict[str, Any]:
    """The event with only what its contract requires: each optional field at its default, as
    from a producer that leaves it out (or an older one that did not know it yet). A staff
    alert keeps its agency: its recipients are that agency's, without one nobody is told."""
    model = load_all()[event_type][1]
    full = placeholders.sample_event(event_type)
    kept = {"agency"} if event_type in messages.STAFF_EVENTS else set()
    required = {
        name: full[name]
        for name, field in model.model_fields.items()
        if field.is_required() or name in kept
    }
    return model.model_validate(required).model_dump(mode="json")


# Ids as the services make them (UUIDv7), as long in a link as they will be.
APPLICATION_ID = "0193a7c2-5f1e-7c3d-9a4b-6e8f0a1b2c3d"
# Values of plain text fields a template branches on, beside the sample's.
OTHER_VALUES = {defaults.SLA_BREACHED: {"clock": "state"}}


def realistic(event: dict[str, Any]) -> dict[str, Any]:
    """The sample's values as the producers make them: a UUID for the application, links to
    the public address."""
    made = {
        name: value.replace(placeholders.BASE_URL, PUBLIC_BASE) if isinstance(value, str) else value
        for name, value in event.items()
    }
    if made.get("application_id"):
        made["application_id"] = APPLICATION_ID
    return made


def events(event_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Realistic events of a type: every field filled, the longest tracking number, and only
    what is required; each with every value of its choice fields (so every branch renders)."""
    full = realistic(placeholders.sample_event(event_type))
    longest = dict(full)
    if "tracking_number" in full:
        longest["tracking_number"] = LONGEST_NUMBER
    minimal = realistic(minimal_event(event_type))
    for name, event in (("full", full), ("longest", longest), ("minimal", minimal)):
        yield name, event
        for choice, field in load_all()[event_type][1].model_fields.items():
            for value in placeholders._choices(field.annotation):
                if value != event.get(choice):
                    yield f"{name}:{choice}={value}", event | {choice: value}
        for choice, value in OTHER_VALUES.get(event_type, {}).items():
            yield f"{name}:{choice}={value}", event | {choice: value}


def context_of(event: dict[str, Any], language: str) -> dict[str, Any]:
    """The context the consumer builds for this event: names where the event names a service
    or agency (read from the catalog's events), the links made with the public address."""
    names = placeholders.SAMPLE_NAMES[language]
    return {
        "recipient": {"name": "Andi Baso", "language": language},
        "event": event,
        "service": {"name": names["service"] if event.get("service_id") else ""},
        "agency": {"name": names["agency"] if event.get("agency") else ""},
        "links": placeholders.links(PUBLIC_BASE, event),
        "mall": {"name": Settings.model_fields["mall_name"].default},
    }


def probed(source: str) -> tuple[nodes.Template, int]:
    """The template with each thing it prints passed through `probe(n)`: rendered, it tells
    what each printed placeholder gave, where the branch around it was taken."""
    parsed = service._environment().parse(source)
    count = 0
    for output in parsed.find_all(nodes.Output):
        for i, node in enumerate(output.nodes):
            if isinstance(node, nodes.TemplateData):
                continue
            output.nodes[i] = nodes.Filter(node, "probe", [nodes.Const(count)], [], None, None)
            count += 1
    return parsed, count


def printed(source: str, context: dict[str, Any]) -> dict[int, Any]:
    """What each placeholder the template prints gave, by its place in the template."""
    seen: dict[int, Any] = {}

    def probe(value: Any, n: int) -> Any:
        seen[n] = value
        return value

    env = placeholders.environment()
    env.filters["probe"] = probe
    parsed, _ = probed(source)
    env.from_string(parsed).render(context)  # type: ignore[arg-type]  # a parsed template
    return seen


def empty(value: Any) -> bool:
    return isinstance(value, Undefined) or value is None or str(value).strip() in ("", "None")


TEMPLATES = [pytest.param(*d, id=f"{d[0]}:{d[1]}:{d[2]}") for d in defaults.each()]


@pytest.mark.parametrize(("event_type", "channel", "language", "subject", "text"), TEMPLATES)
def test_every_placeholder_of_every_template_is_filled_by_every_event_that_triggers_it(
    event_type: str, channel: str, language: str, subject: str | None, text: str
) -> None:
    for source in (subject, text):
        if source is None:
            continue
        _, count = probed(source)
        shown: set[int] = set()
        for name, event in events(event_type):
            values = printed(source, context_of(event, language))
            blanks = {n: v for n, v in values.items() if empty(v)}
            assert not blanks, f"{name} leaves placeholders empty in {source!r}: {blanks}"
            shown |= set(values)
        assert shown == set(range(count)), "each placeholder is printed by some event"


@pytest.mark.parametrize(
    ("event_type", "channel", "language", "subject", "text"),
    [t for t in TEMPLATES if t.values[1] == "sms"],
)
def test_every_sms_fits_one_gsm_7_message_with_a_real_public_address(
    event_type: str, channel: str, language: str, subject: str | None, text: str
) -> None:
    for name, event in events(event_type):
        rendered = service._render(subject, text, context_of(event, language), 1).text
        assert set(rendered) <= GSM_7, (name, set(rendered) - GSM_7)
        assert len(rendered) <= ONE_SMS, (name, len(rendered), rendered)
        for link in re.findall(r"https?://\S+", rendered):
            assert link.startswith(PUBLIC_BASE) and not link.endswith((".", ",")), link


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_completed_sms_links_to_that_applications_survey(language: str) -> None:
    [(subject, text)] = [
        (d[3], d[4]) for d in defaults.each() if d[:3] == (defaults.COMPLETED, "sms", language)
    ]
    event = realistic(placeholders.sample_event(defaults.COMPLETED))
    rendered = service._render(subject, text, context_of(event, language), 1).text
    assert rendered.endswith(f"{PUBLIC_BASE}/survei/{APPLICATION_ID}")


@pytest.mark.parametrize("channel", ["email", "inbox"])
def test_the_completed_email_and_inbox_invite_to_that_applications_survey(channel: str) -> None:
    for _, _, language, subject, text in (
        d for d in defaults.each() if d[:2] == (defaults.COMPLETED, channel)
    ):
        event = realistic(placeholders.sample_event(defaults.COMPLETED))
        rendered = service._render(subject, text, context_of(event, language), 1).text
        assert f"{PUBLIC_BASE}/survei/{APPLICATION_ID}" in rendered


def test_an_officers_typographic_note_still_goes_as_one_gsm_7_sms() -> None:
    [found] = [
        type("Found", (), {"id": "t", "version": 1, "subject": d[3], "text": d[4]})
        for d in defaults.each()
        if d[:3] == (defaults.REVISION, "sms", "id")
    ]
    event = realistic(placeholders.sample_event(defaults.REVISION))
    event["note"] = "Foto “KK” buram – unggah ulang… 🙏 Terima kasih"
    sources = {"applications.application.revision_requested.v1:sms:id": found}
    rendered = service.render_from(
        sources,
        event_type=defaults.REVISION,
        channel="sms",
        language="id",
        context=context_of(event, "id"),
    )
    assert rendered is not None
    assert set(rendered.text) <= GSM_7, set(rendered.text) - GSM_7
    assert len(rendered.text) <= ONE_SMS
    assert 'Foto "KK" buram - unggah' in rendered.text


def test_gsm_7_keeps_what_it_has_and_writes_the_rest_as_the_nearest() -> None:
    assert placeholders.gsm_7("Café à Zoë: 10 € [A1]") == "Café à Zoe: 10 € [A1]"
    assert placeholders.gsm_7("“Ya” – ‘tidak’…") == "\"Ya\" - 'tidak'..."
    assert placeholders.gsm_7("Terima kasih 🙏") == "Terima kasih ?"
