"""What a template may use: the placeholders of its event type, the filters, and the sandbox it
renders in; and a sample context per event type for previews and checks."""

from __future__ import annotations

import copy
import types
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined, to_jsonable_python

from mpp_shared.contracts import load_all

# Every message shows the mall's local time (the launch regency is in WITA, as the applications
# service's working calendar is).
LOCAL_ZONE = ZoneInfo("Asia/Makassar")
FIXED: frozenset[str] = frozenset(
    {
        "recipient.name",
        "recipient.language",
        "service.name",
        "agency.name",
        "links.app",
        "links.application",
        "links.complaint",
        "links.survey",
        "links.track",
        "links.verify",
        "mall.name",
    }
)


def event_types() -> list[str]:
    """Every event type a template may be written for."""
    return sorted(load_all())


def contract_of(event_type: str) -> type[BaseModel]:
    """The payload model of an event type; KeyError for a type no producer registered."""
    return load_all()[event_type][1]


def allowed(event_type: str) -> set[str]:
    """The dotted paths a template of this event type may use."""
    return set(FIXED) | {f"event.{name}" for name in contract_of(event_type).model_fields}


def permitted(path: str, allowed_paths: set[str]) -> bool:
    """A path is allowed, or reaches inside an allowed value (`event.scores.kecepatan`)."""
    parts = path.split(".")
    return any(".".join(parts[:n]) in allowed_paths for n in range(len(parts), 0, -1))


# --- what a template uses ----------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """A placeholder (or a refused construct) and the line it is on."""

    path: str
    line: int


def collect(template: nodes.Template) -> list[Use]:
    """The dotted context paths a parsed template reads, names it binds itself left out."""
    bound = {
        node.name
        for node in template.find_all(nodes.Name)
        if node.ctx in ("store", "param") or node.name == "loop"
    }
    uses: list[Use] = []

    def walk(node: nodes.Node) -> None:
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            chain = _chain(node)
            if chain is not None:
                if chain[0] not in bound:
                    uses.append(Use(".".join(chain), node.lineno))
                return
        for child in node.iter_child_nodes():
            walk(child)

    walk(template)
    return uses


def _chain(node: nodes.Node) -> list[str] | None:
    """`a.b["c"]` as ["a", "b", "c"]; None unless a name then attributes and constant keys."""
    if isinstance(node, nodes.Name):
        return [node.name] if node.ctx == "load" else None
    key: Any = None
    if isinstance(node, nodes.Getattr):
        key = node.attr
    elif isinstance(node, nodes.Getitem):
        key = _constant(node.arg)
    if not isinstance(key, str | int) or isinstance(key, bool):
        return None
    inner = _chain(node.node)  # type: ignore[attr-defined]  # Getattr or Getitem here
    return None if inner is None else [*inner, str(key)]


# What a message needs is text, conditions, loops over the event's lists and filters. Assignments,
# macros and method calls are refused too: with them a few lines can double a string at each step
# (or call `ljust(10**9)`) and exhaust the service's memory while the template is checked.
_REFUSED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.With: "{% with %}",
}


def refused(template: nodes.Template) -> list[Use]:
    """Constructs a template may not use, as code (`__class__`, `{% set %}`, `ljust()`)."""
    found: list[Use] = []
    for node in template.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else None
        if isinstance(node, nodes.Getitem):
            key = _constant(node.arg)
        if isinstance(key, str) and key.startswith("_"):
            found.append(Use(key, node.lineno))
    for const in template.find_all(nodes.Const):
        # Names of private attributes handed to filters (`map(attribute='__class__')`).
        if isinstance(const.value, str) and "__" in const.value:
            found.append(Use(const.value, const.lineno))
    for call in template.find_all(nodes.Call):
        name = call.node.attr if isinstance(call.node, nodes.Getattr) else ""
        found.append(Use(f"{name}()", call.lineno))
    for tag in template.find_all(tuple(_REFUSED_TAGS)):
        found.append(Use(_REFUSED_TAGS[type(tag)], tag.lineno))
    return sorted(found, key=lambda use: use.line)


def _constant(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


# --- rendering ---------------------------------------------------------------------------------


class Blank(ChainableUndefined):
    """A value the context lacks renders as nothing: saving checked every name, so a missing
    one is an absent optional field, and a message with a gap beats no message."""

    __slots__ = ()


class Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, also refusing the operators that build huge values from small text."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Numbers multiply and divide; powers, repeated sequences and `%` formatting (whose
        widths can be huge) are refused."""
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if operator == "**" or not numbers:
            raise SecurityError(f"the operator {operator!r} is not allowed here")
        result = super().call_binop(context, operator, left, right)
        if abs(result) > MAX_NUMBER:
            raise SecurityError("number too large")
        return result


MAX_NUMBER = 10**15  # more than any rupiah amount; multiplying further only exhausts memory
MAX_TEXT = 20_000  # the longest text a filter may make: a long e-mail


MONTHS_ID = (
    *("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus"),
    *("September", "Oktober", "November", "Desember"),
)
MONTHS_EN = (
    *("January", "February", "March", "April", "May", "June", "July", "August"),
    *("September", "October", "November", "December"),
)
DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _moment(value: Any) -> datetime | date | None:
    """A datetime (in local time) or date from a value or its ISO text; None if it is neither."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_ZONE)
    return value if isinstance(value, date) else None


def _as_text(value: Any) -> str:
    return "" if isinstance(value, Undefined) or value is None else str(value)


def tanggal(value: Any) -> str:
    """`27 November 2026`: a date, or a datetime's local date, in Indonesian."""
    moment = _moment(value)
    if moment is None:
        return _as_text(value)
    return f"{moment.day} {MONTHS_ID[moment.month - 1]} {moment.year}"


def date_en(value: Any) -> str:
    """`27 November 2026`: a date, or a datetime's local date, in English."""
    moment = _moment(value)
    if moment is None:
        return _as_text(value)
    return f"{moment.day} {MONTHS_EN[moment.month - 1]} {moment.year}"


def hari(value: Any) -> str:
    """The weekday in Indonesian (`Jumat`)."""
    moment = _moment(value)
    return DAYS_ID[moment.weekday()] if moment else _as_text(value)


def day_en(value: Any) -> str:
    """The weekday in English (`Friday`)."""
    moment = _moment(value)
    return DAYS_EN[moment.weekday()] if moment else _as_text(value)


def jam(value: Any) -> str:
    """The local time as Indonesians write it: `10.30 WITA`."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return _as_text(value)
    return f"{moment:%H.%M} {moment.tzname()}"


def time_en(value: Any) -> str:
    """The local time in English: `10:30 WITA`."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return _as_text(value)
    return f"{moment:%H:%M} {moment.tzname()}"


def menit(value: Any) -> str:
    """Whole minutes from now until a datetime, at least 1 (a one-time code's validity)."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return _as_text(value)
    return str(max(1, round((moment - datetime.now(UTC)).total_seconds() / 60)))


def rupiah(value: Any) -> str:
    """`Rp 50.000`: an amount of rupiah with Indonesian thousands separators."""
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return _as_text(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    """Jinja's `replace`, refusing to grow a text past MAX_TEXT (chained, it squares lengths)."""
    text = _as_text(value)
    result = text.replace(_as_text(old), _as_text(new), -1 if count is None else int(count))
    if len(result) > MAX_TEXT:
        raise SecurityError("text too long")
    return result


# Jinja's filters a message may use: none that pads, repeats or formats to a given width.
BUILTIN_FILTERS = frozenset(
    {
        *("abs", "capitalize", "count", "d", "default", "dictsort", "first", "float", "int"),
        *("items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject"),
        *("rejectattr", "reverse", "round", "select", "selectattr", "sort", "string"),
        *("striptags", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode"),
        "wordcount",
    }
)
FILTERS = {
    "replace": replace,
    "tanggal": tanggal,
    "date_en": date_en,
    "hari": hari,
    "day_en": day_en,
    "jam": jam,
    "time_en": time_en,
    "menit": menit,
    "rupiah": rupiah,
}


def environment() -> Sandbox:
    """The sandbox every template renders in: plain text, no loader, no globals, our filters."""
    env = Sandbox(
        undefined=Blank,
        autoescape=False,  # every channel here is plain text
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    # Nothing but the context: no range(), lipsum(), namespace() to loop or allocate with.
    env.globals.clear()
    env.filters = {name: f for name, f in env.filters.items() if name in BUILTIN_FILTERS}
    env.filters.update(FILTERS)
    return env


# --- SMS text ----------------------------------------------------------------------------------

# GSM 03.38: its basic set goes 160 characters to an SMS; its extension costs two each. One
# character outside them sends the whole SMS as UCS-2, 70 characters a message.
GSM_7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_7_EXTENSION = frozenset("^{}\\[~]|€\f")
# What phones and word processors type that GSM 03.38 lacks, as the nearest it has.
_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2022": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\t": " ",
    }
)


def gsm_7(text: str) -> str:
    """An SMS's text in GSM 03.38, so that it goes 160 characters a message: typographic quotes,
    dashes and accented letters as the nearest it has, anything else (an emoji) as `?`."""
    kept = []
    for character in text.translate(_LOOKALIKES):
        if character in GSM_7 or character in GSM_7_EXTENSION:
            kept.append(character)
            continue
        bare = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode()
        kept.append(bare if bare and set(bare) <= GSM_7 else "?")
    return "".join(kept)


# --- sample contexts ---------------------------------------------------------------------------

SAMPLE_MOMENT = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)  # a Friday, 10.30 WITA
TRACKING_NUMBER = "SNJ-DISDUKCAPIL-20260108-000123"
CHECK_CODE = "K7QX4M"
BASE_URL = "https://mpp.sinjaikab.go.id"
SAMPLE_VALUES: dict[str, Any] = {
    "tracking_number": TRACKING_NUMBER,
    "check_code": CHECK_CODE,
    "tracking_id": "ADU-SNJ-20260108-000007",
    "agency": "DISDUKCAPIL",
    "state": "in_review",
    "from_state": "submitted",
    "note": "Foto Kartu Keluarga kurang jelas. Mohon unggah ulang dengan pencahayaan yang cukup.",
    "reason": "Surat pengantar RT/RW belum dilampirkan dan masa berlakunya sudah habis.",
    "code": "482913",
    "pin": "736204",
    "phone": "+6281234567890",
    "email": "andi.baso@example.com",
    "name": "Andi Baso",
    "verification_code": "V7K2-9QXM-4HPD",
    "verify_url": f"{BASE_URL}/verify/V7K2-9QXM-4HPD",
    "ticket_code": "A1-0830-K7QX",
    "counter": "A1",
    "service_version": 3,
    "fee_amount": 50_000,
    "clock": "overall",
    "actor_role": "officer",
    "action": "start_review",
}
SAMPLE_NAMES = {
    "id": {
        "service": "Penerbitan Kartu Keluarga (KK)",
        "agency": "Dinas Kependudukan dan Pencatatan Sipil",
    },
    "en": {
        "service": "Family card (KK) issuance",
        "agency": "Population and Civil Registration Office",
    },
}


def track_link(base_url: str, event: Mapping[str, Any]) -> str:
    """`links.track`: the public tracking page of the event's application, its check code in the
    path after the number (`/track/<number>-<code>`: shorter in an SMS than a query, and no `?`
    or `=` for a phone to cut the link at); empty for an event about no application."""
    number = event.get("tracking_number")
    if not number:
        return ""
    code = event.get("check_code")
    return f"{base_url}/track/{number}-{code}" if code else f"{base_url}/track/{number}"


def verify_link(base_url: str, event: Mapping[str, Any]) -> str:
    """`links.verify`: the public page that checks and downloads the event's output (its own
    `verify_url` if it carries one); empty for an event about no output."""
    if event.get("verify_url"):
        return str(event["verify_url"])
    code = event.get("verification_code")
    return f"{base_url}/verify/{code}" if code else ""


def application_link(base_url: str, event: Mapping[str, Any]) -> str:
    """`links.application`: the application's own page in the citizen app (after signing in),
    where its notes, documents and output are; empty for an event about no application."""
    return f"{base_url}/permohonan/{event['application_id']}" if _of_application(event) else ""


def survey_link(base_url: str, event: Mapping[str, Any]) -> str:
    """`links.survey`: the satisfaction survey of the event's application (after signing in), on
    the short path an SMS has room for; empty for an event about no application."""
    return f"{base_url}/survei/{event['application_id']}" if _of_application(event) else ""


def complaint_link(base_url: str, event: Mapping[str, Any]) -> str:
    """`links.complaint`: the complaint's own page in the citizen app (after signing in), with
    each of its steps; empty for an event about no complaint."""
    return f"{base_url}/pengaduan/{event['complaint_id']}" if event.get("complaint_id") else ""


def _of_application(event: Mapping[str, Any]) -> bool:
    """An event about an application (not a complaint or booking that may name one)."""
    return bool(event.get("application_id") and event.get("tracking_number"))


def links(base_url: str, event: Mapping[str, Any]) -> dict[str, str]:
    """`links.*`, as every message's context has them."""
    return {
        "app": f"{base_url}/",
        "application": application_link(base_url, event),
        "complaint": complaint_link(base_url, event),
        "survey": survey_link(base_url, event),
        "track": track_link(base_url, event),
        "verify": verify_link(base_url, event),
    }


def sample_context(
    event_type: str, *, language: str = "id", event: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A context as the consumer builds it, with example values of the event's fields (and the
    links the consumer would make of them)."""
    names = SAMPLE_NAMES.get(language, SAMPLE_NAMES["id"])
    data = dict(event) if event is not None else sample_event(event_type)
    return {
        "recipient": {"name": "Andi Baso", "language": language},
        "event": data,
        "service": {"name": names["service"]},
        "agency": {"name": names["agency"]},
        "links": links(BASE_URL, data),
        "mall": {"name": "MPP Elektronik Kabupaten Sinjai"},
    }


def sample_event(event_type: str) -> dict[str, Any]:
    """An event payload of this type as it arrives (JSON: dates as ISO text)."""
    model = contract_of(event_type)
    values = _sample_model(model)
    try:
        return model.model_validate(values).model_dump(mode="json")
    except ValidationError:
        # A constraint our examples miss: the raw examples still show every field.
        return dict(to_jsonable_python(values))


def variants(event_type: str, *, language: str = "id") -> Iterator[dict[str, Any]]:
    """The sample context, then one per other value of each choice field (Literal or bool), so
    every branch of an `{% if %}` on them is rendered once."""
    base = sample_context(event_type, language=language)
    yield base
    for name, field in contract_of(event_type).model_fields.items():
        for value in _choices(field.annotation):
            if value == base["event"].get(name):
                continue
            other = copy.deepcopy(base)
            other["event"][name] = value
            yield other


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `over` laid on it, mappings merged key by key."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def _sample_model(model: type[BaseModel]) -> dict[str, Any]:
    values = {}
    for name, field in model.model_fields.items():
        # A field's default is its usual value (`automatic=False`): the sample shows the usual.
        usual = field.default is not PydanticUndefined and field.default is not None
        values[name] = field.default if usual else _sample(name, field.annotation)
    return values


def _sample(name: str, annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _sample_model(annotation)
    choices = _choices(annotation)  # a choice field's own values before any example text
    if choices:
        return SAMPLE_VALUES[name] if SAMPLE_VALUES.get(name) in choices else choices[0]
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    if name == "expires_at":
        return datetime.now(UTC) + timedelta(minutes=5)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _sample(name, inner[0]) if inner else None
    if origin is Annotated:
        return _sample(name, get_args(annotation)[0])
    if origin in (list, tuple, set, frozenset):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, datetime):
            return SAMPLE_MOMENT
        if issubclass(annotation, date):
            return SAMPLE_MOMENT.astimezone(LOCAL_ZONE).date()
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.5
        if issubclass(annotation, str):
            return f"{name}-0193a7c2" if name.endswith("_id") else name.replace("_", " ")
    return None


def _choices(annotation: Any) -> list[Any]:
    """The values of a Literal or bool field (an optional one's too); empty for other types."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _choices(inner[0]) if len(inner) == 1 else []
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if annotation is bool:
        return [True, False]
    return []
