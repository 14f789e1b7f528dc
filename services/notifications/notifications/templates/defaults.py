"""The templates every installation starts with, in Indonesian and English.

Written for citizens on cheap phones: SMS short (one 160-character message where it fits),
the tracking number and a link in every message about an application, never the NIK (no event
carries it). Administrators replace any of them with a version of their own.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from mpp_shared.contracts import type_of
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCancelled,
    ApplicationCompleted,
    ApplicationRejected,
    ApplicationSubmitted,
    BookingCancelled,
    BookingCreated,
    ComplaintClosed,
    ComplaintFiled,
    ComplaintForwarded,
    ComplaintReplied,
    ComplaintResponded,
    RevisionRequested,
    SlaBreached,
)
from mpp_shared.contracts.documents import OutputIssued, OutputPinIssued
from mpp_shared.contracts.identity import OtpRequested


@dataclass(frozen=True)
class Default:
    """The built-in template of an event type on a channel, in both languages."""

    event_type: str
    channel: str
    id: str
    en: str
    subject_id: str | None = None
    subject_en: str | None = None


def _body(text: str) -> str:
    """A multi-line text written indented in this module, as sent."""
    return textwrap.dedent(text).strip("\n")


# Shared endings of e-mails.
_SIGN_ID = "\n\nSalam,\n{{ mall.name }}\nPesan ini dikirim otomatis; mohon tidak dibalas."
_SIGN_EN = (
    "\n\nRegards,\n{{ mall.name }}\nThis message was sent automatically; please do not reply."
)

OTP = type_of(OtpRequested)
SUBMITTED = type_of(ApplicationSubmitted)
REVISION = type_of(RevisionRequested)
APPROVED = type_of(ApplicationApproved)
REJECTED = type_of(ApplicationRejected)
COMPLETED = type_of(ApplicationCompleted)
CANCELLED = type_of(ApplicationCancelled)
BOOKED = type_of(BookingCreated)
BOOKING_CANCELLED = type_of(BookingCancelled)
COMPLAINT_FILED = type_of(ComplaintFiled)
COMPLAINT_FORWARDED = type_of(ComplaintForwarded)
COMPLAINT_REPLIED = type_of(ComplaintReplied)
COMPLAINT_RESPONDED = type_of(ComplaintResponded)
COMPLAINT_CLOSED = type_of(ComplaintClosed)
OUTPUT_ISSUED = type_of(OutputIssued)
OUTPUT_PIN = type_of(OutputPinIssued)
SLA_BREACHED = type_of(SlaBreached)

_OTP_ID = (
    "{% if event.purpose == 'reset_password' %}"
    "Kode reset kata sandi {{ mall.name }}: {{ event.code }}. "
    "{% else %}"
    "Kode verifikasi {{ mall.name }}: {{ event.code }}. "
    "{% endif %}"
    "Berlaku {{ event.expires_at|menit }} menit. "
    "JANGAN berikan kode ini kepada siapa pun, termasuk petugas."
)
_OTP_EN = (
    "{% if event.purpose == 'reset_password' %}"
    "{{ mall.name }} password reset code: {{ event.code }}. "
    "{% else %}"
    "{{ mall.name }} verification code: {{ event.code }}. "
    "{% endif %}"
    "Valid for {{ event.expires_at|menit }} minutes. "
    "Do NOT share this code with anyone, including staff."
)
# Links end their sentence without a full stop: some phones take the stop into the link.
_PIN_ID = (
    "PIN dokumen {{ event.tracking_number }}: {{ event.pin }}. JANGAN berikan kepada siapa pun. "
    "Unduh: {{ event.verify_url }}"
)
_PIN_EN = (
    "Document PIN for {{ event.tracking_number }}: {{ event.pin }}. Do NOT share it with "
    "anyone. Download: {{ event.verify_url }}"
)

DEFAULTS: tuple[Default, ...] = (
    # --- one-time codes ------------------------------------------------------------------------
    Default(OTP, "sms", id=_OTP_ID, en=_OTP_EN),
    Default(OTP, "whatsapp", id=_OTP_ID, en=_OTP_EN),
    # --- application submitted -----------------------------------------------------------------
    Default(
        SUBMITTED,
        "sms",
        # One SMS of 160 characters with the check code in the link: every word counts.
        id="Permohonan {{ event.tracking_number }} diterima. Lacak: {{ links.track }}",
        en="Application {{ event.tracking_number }} received. Track: {{ links.track }}",
    ),
    Default(
        SUBMITTED,
        "push",
        subject_id="Permohonan diterima",
        subject_en="Application received",
        id="{{ service.name }}: {{ event.tracking_number }}. Ketuk untuk melacak.",
        en="{{ service.name }}: {{ event.tracking_number }}. Tap to track it.",
    ),
    Default(
        SUBMITTED,
        "inbox",
        subject_id="Permohonan diterima",
        subject_en="Application received",
        id="Permohonan {{ service.name }} Anda dengan nomor {{ event.tracking_number }} sudah "
        "kami terima dan segera diperiksa petugas {{ agency.name }}."
        "{% if event.due_at %} Perkiraan selesai: {{ event.due_at|tanggal }}.{% endif %}",
        en="Your {{ service.name }} application {{ event.tracking_number }} was received; "
        "{{ agency.name }} staff will review it soon."
        "{% if event.due_at %} Expected by {{ event.due_at|date_en }}.{% endif %}",
    ),
    Default(
        SUBMITTED,
        "email",
        subject_id="Permohonan {{ event.tracking_number }} diterima",
        subject_en="Application {{ event.tracking_number }} received",
        id=_body("""
            Yth. {{ recipient.name }},

            Permohonan {{ service.name }} Anda sudah kami terima.

            Nomor permohonan: {{ event.tracking_number }}
            {% if event.check_code %}
            Kode lacak: {{ event.check_code }}
            {% endif %}
            Instansi: {{ agency.name }}
            {% if event.due_at %}
            Perkiraan selesai: {{ event.due_at|tanggal }}
            {% endif %}

            Lacak status permohonan Anda di {{ links.track }}
            Sebutkan nomor permohonan bila menghubungi petugas.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            We have received your {{ service.name }} application.

            Application number: {{ event.tracking_number }}
            {% if event.check_code %}
            Check code: {{ event.check_code }}
            {% endif %}
            Agency: {{ agency.name }}
            {% if event.due_at %}
            Expected by: {{ event.due_at|date_en }}
            {% endif %}

            Track its status at {{ links.track }}
            Quote the application number whenever you contact staff.""")
        + _SIGN_EN,
    ),
    # --- revision requested --------------------------------------------------------------------
    Default(
        REVISION,
        "sms",
        # The note's beginning: the whole note is in the inbox and the e-mail.
        id="Permohonan {{ event.tracking_number }} perlu diperbaiki: "
        "{{ event.note|truncate(48, leeway=0) }} Perbaiki di {{ links.app }}",
        en="Application {{ event.tracking_number }} needs changes: "
        "{{ event.note|truncate(48, leeway=0) }} Fix it at {{ links.app }}",
    ),
    Default(
        REVISION,
        "push",
        subject_id="Permohonan perlu diperbaiki",
        subject_en="Your application needs changes",
        id="{{ event.tracking_number }}: {{ event.note|truncate(80) }}",
        en="{{ event.tracking_number }}: {{ event.note|truncate(80) }}",
    ),
    Default(
        REVISION,
        "inbox",
        subject_id="Permohonan perlu diperbaiki",
        subject_en="Your application needs changes",
        id="Petugas {{ agency.name }} meminta perbaikan permohonan {{ event.tracking_number }}:"
        "\n\n{{ event.note }}\n\nWaktu proses berhenti sampai perbaikan Anda kirim. "
        "Perbaiki permohonan Anda di {{ links.application }}",
        en="{{ agency.name }} staff ask you to change application {{ event.tracking_number }}:"
        "\n\n{{ event.note }}\n\nThe processing clock stops until you send the changes. "
        "Make the changes at {{ links.application }}",
    ),
    Default(
        REVISION,
        "email",
        subject_id="Permohonan {{ event.tracking_number }} perlu diperbaiki",
        subject_en="Application {{ event.tracking_number }} needs changes",
        id=_body("""
            Yth. {{ recipient.name }},

            Petugas {{ agency.name }} meminta perbaikan permohonan {{ service.name }} Anda
            ({{ event.tracking_number }}):

            {{ event.note }}

            Perbaiki permohonan Anda di {{ links.application }}
            Waktu proses berhenti sampai perbaikan Anda kirim.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            {{ agency.name }} staff ask you to change your {{ service.name }} application
            ({{ event.tracking_number }}):

            {{ event.note }}

            Make the changes at {{ links.application }}
            The processing clock stops until you send the changes.""")
        + _SIGN_EN,
    ),
    # --- approved ------------------------------------------------------------------------------
    Default(
        APPROVED,
        "sms",
        # What comes next is in the inbox and the e-mail: an SMS has no room for it.
        id="Permohonan {{ event.tracking_number }} DISETUJUI. Lacak: {{ links.track }}",
        en="Application {{ event.tracking_number }} APPROVED. Track: {{ links.track }}",
    ),
    Default(
        APPROVED,
        "push",
        subject_id="Permohonan disetujui",
        subject_en="Application approved",
        id="{{ service.name }}: {{ event.tracking_number }} disetujui.",
        en="{{ service.name }}: {{ event.tracking_number }} was approved.",
    ),
    Default(
        APPROVED,
        "inbox",
        subject_id="Permohonan disetujui",
        subject_en="Application approved",
        id="Permohonan {{ service.name }} Anda ({{ event.tracking_number }}) disetujui "
        "{{ agency.name }}. {% if event.electronic_output %}Dokumen elektronik akan dikirim "
        "lewat tautan dan PIN.{% else %}Kami kabari bila hasilnya siap diambil.{% endif %}",
        en="{{ agency.name }} approved your {{ service.name }} application "
        "({{ event.tracking_number }}). {% if event.electronic_output %}The electronic document "
        "will be sent as a link with a PIN.{% else %}We will tell you when it is ready to "
        "collect.{% endif %}",
    ),
    Default(
        APPROVED,
        "email",
        subject_id="Permohonan {{ event.tracking_number }} disetujui",
        subject_en="Application {{ event.tracking_number }} approved",
        id=_body("""
            Yth. {{ recipient.name }},

            Permohonan {{ service.name }} Anda ({{ event.tracking_number }}) disetujui oleh
            {{ agency.name }}.
            {% if event.electronic_output %}
            Dokumen elektronik akan dikirim kepada Anda berupa tautan dan PIN.
            {% else %}
            Kami akan mengabari Anda bila hasilnya siap diambil.
            {% endif %}

            Lacak status permohonan Anda di {{ links.track }}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            {{ agency.name }} approved your {{ service.name }} application
            ({{ event.tracking_number }}).
            {% if event.electronic_output %}
            The electronic document will be sent to you as a link with a PIN.
            {% else %}
            We will tell you when it is ready to collect.
            {% endif %}

            Track its status at {{ links.track }}""")
        + _SIGN_EN,
    ),
    # --- rejected ------------------------------------------------------------------------------
    Default(
        REJECTED,
        "sms",
        id="Permohonan {{ event.tracking_number }} DITOLAK: "
        "{{ event.reason|truncate(60, leeway=0) }} Rincian: {{ links.app }}",
        en="Application {{ event.tracking_number }} REFUSED: "
        "{{ event.reason|truncate(60, leeway=0) }} Details: {{ links.app }}",
    ),
    Default(
        REJECTED,
        "push",
        subject_id="Permohonan ditolak",
        subject_en="Application refused",
        id="{{ event.tracking_number }}: {{ event.reason|truncate(80) }}",
        en="{{ event.tracking_number }}: {{ event.reason|truncate(80) }}",
    ),
    Default(
        REJECTED,
        "inbox",
        subject_id="Permohonan ditolak",
        subject_en="Application refused",
        id="{{ agency.name }} menolak permohonan {{ service.name }} Anda "
        "({{ event.tracking_number }}) dengan alasan:\n\n{{ event.reason }}\n\nAnda dapat "
        "mengajukan permohonan baru, atau mengadu bila keberatan.",
        en="{{ agency.name }} refused your {{ service.name }} application "
        "({{ event.tracking_number }}) for this reason:\n\n{{ event.reason }}\n\nYou may apply "
        "again, or file a complaint if you disagree.",
    ),
    Default(
        REJECTED,
        "email",
        subject_id="Permohonan {{ event.tracking_number }} ditolak",
        subject_en="Application {{ event.tracking_number }} refused",
        id=_body("""
            Yth. {{ recipient.name }},

            Mohon maaf, {{ agency.name }} menolak permohonan {{ service.name }} Anda
            ({{ event.tracking_number }}) dengan alasan:

            {{ event.reason }}

            Anda dapat mengajukan permohonan baru, atau mengadu bila keberatan:
            {{ links.track }}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            We are sorry: {{ agency.name }} refused your {{ service.name }} application
            ({{ event.tracking_number }}) for this reason:

            {{ event.reason }}

            You may apply again, or file a complaint if you disagree:
            {{ links.track }}""")
        + _SIGN_EN,
    ),
    # --- completed: invite to rate -------------------------------------------------------------
    Default(
        COMPLETED,
        "sms",
        id="Permohonan {{ event.tracking_number }} SELESAI. Nilai layanan kami: {{ links.survey }}",
        en="Application {{ event.tracking_number }} COMPLETED. Rate our service: "
        "{{ links.survey }}",
    ),
    Default(
        COMPLETED,
        "push",
        subject_id="Permohonan selesai",
        subject_en="Application completed",
        id="{{ event.tracking_number }} selesai. Ketuk untuk menilai layanan kami.",
        en="{{ event.tracking_number }} is complete. Tap to rate our service.",
    ),
    Default(
        COMPLETED,
        "inbox",
        subject_id="Permohonan selesai",
        subject_en="Application completed",
        id="Permohonan {{ service.name }} Anda ({{ event.tracking_number }}) selesai. "
        "Mohon luangkan 1 menit untuk menilai layanan kami: {{ links.survey }}",
        en="Your {{ service.name }} application ({{ event.tracking_number }}) is complete. "
        "Please take 1 minute to rate our service: {{ links.survey }}",
    ),
    Default(
        COMPLETED,
        "email",
        subject_id="Permohonan {{ event.tracking_number }} selesai",
        subject_en="Application {{ event.tracking_number }} completed",
        id=_body("""
            Yth. {{ recipient.name }},

            Permohonan {{ service.name }} Anda ({{ event.tracking_number }}) telah selesai.
            {% if event.electronic_output %}
            Dokumen elektronik Anda dapat diunduh di {{ links.application }}
            {% endif %}

            Bagaimana pelayanan kami? Mohon luangkan 1 menit untuk mengisi survei kepuasan:
            {{ links.survey }}
            Penilaian Anda membantu {{ agency.name }} melayani lebih baik.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Your {{ service.name }} application ({{ event.tracking_number }}) is complete.
            {% if event.electronic_output %}
            Download your electronic document at {{ links.application }}
            {% endif %}

            How did we do? Please take 1 minute to fill in the satisfaction survey:
            {{ links.survey }}
            Your rating helps {{ agency.name }} serve you better.""")
        + _SIGN_EN,
    ),
    # --- cancelled -----------------------------------------------------------------------------
    Default(
        CANCELLED,
        "sms",
        id="Permohonan {{ event.tracking_number }} telah dibatalkan. Ajukan lagi kapan saja di "
        "{{ links.app }}",
        en="Application {{ event.tracking_number }} was cancelled. Apply again any time at "
        "{{ links.app }}",
    ),
    Default(
        CANCELLED,
        "push",
        subject_id="Permohonan dibatalkan",
        subject_en="Application cancelled",
        id="{{ service.name }}: {{ event.tracking_number }} dibatalkan.",
        en="{{ service.name }}: {{ event.tracking_number }} was cancelled.",
    ),
    Default(
        CANCELLED,
        "inbox",
        subject_id="Permohonan dibatalkan",
        subject_en="Application cancelled",
        id="Permohonan {{ service.name }} Anda ({{ event.tracking_number }}) telah dibatalkan.",
        en="Your {{ service.name }} application ({{ event.tracking_number }}) was cancelled.",
    ),
    Default(
        CANCELLED,
        "email",
        subject_id="Permohonan {{ event.tracking_number }} dibatalkan",
        subject_en="Application {{ event.tracking_number }} cancelled",
        id=_body("""
            Yth. {{ recipient.name }},

            Permohonan {{ service.name }} Anda ({{ event.tracking_number }}) telah dibatalkan.
            Bila Anda tidak merasa membatalkannya, segera hubungi petugas {{ agency.name }}.

            Anda dapat mengajukan permohonan baru kapan saja di {{ links.app }}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Your {{ service.name }} application ({{ event.tracking_number }}) was cancelled.
            If you did not cancel it, contact {{ agency.name }} staff at once.

            You may apply again any time at {{ links.app }}""")
        + _SIGN_EN,
    ),
    # --- counter bookings ----------------------------------------------------------------------
    Default(
        BOOKED,
        "sms",
        id="Antrean {{ event.ticket_code }}: {{ event.starts_at|hari }} "
        "{{ event.starts_at|tanggal }} pukul {{ event.starts_at|jam }}, loket {{ event.counter }}."
        " Datang 15 menit lebih awal, bawa berkas asli.",
        en="Ticket {{ event.ticket_code }}: {{ event.starts_at|day_en }} "
        "{{ event.starts_at|date_en }} at {{ event.starts_at|time_en }}, counter "
        "{{ event.counter }}. Come 15 minutes early with original documents.",
    ),
    Default(
        BOOKED,
        "inbox",
        subject_id="Jadwal kunjungan {{ event.ticket_code }}",
        subject_en="Visit booked: {{ event.ticket_code }}",
        id="Kunjungan Anda untuk {{ service.name }} terjadwal {{ event.starts_at|hari }}, "
        "{{ event.starts_at|tanggal }} pukul {{ event.starts_at|jam }} di loket "
        "{{ event.counter }} ({{ agency.name }}). Nomor antrean: {{ event.ticket_code }}. "
        "Datang 15 menit lebih awal dan bawa berkas asli.",
        en="Your {{ service.name }} visit is booked for {{ event.starts_at|day_en }}, "
        "{{ event.starts_at|date_en }} at {{ event.starts_at|time_en }}, counter "
        "{{ event.counter }} ({{ agency.name }}). Ticket: {{ event.ticket_code }}. "
        "Come 15 minutes early and bring your original documents.",
    ),
    Default(
        BOOKED,
        "email",
        subject_id="Jadwal kunjungan {{ event.starts_at|tanggal }}: antrean "
        "{{ event.ticket_code }}",
        subject_en="Visit on {{ event.starts_at|date_en }}: ticket {{ event.ticket_code }}",
        id=_body("""
            Yth. {{ recipient.name }},

            Kunjungan Anda ke {{ mall.name }} sudah terjadwal.

            Layanan: {{ service.name }}
            Instansi: {{ agency.name }}
            Hari: {{ event.starts_at|hari }}, {{ event.starts_at|tanggal }}
            Pukul: {{ event.starts_at|jam }}
            Loket: {{ event.counter }}
            Nomor antrean: {{ event.ticket_code }}

            Datang 15 menit lebih awal dan bawa berkas asli persyaratan.
            Tiket dan jadwal Anda: {{ links.app }}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Your visit to {{ mall.name }} is booked.

            Service: {{ service.name }}
            Agency: {{ agency.name }}
            Date: {{ event.starts_at|day_en }}, {{ event.starts_at|date_en }}
            Time: {{ event.starts_at|time_en }}
            Counter: {{ event.counter }}
            Ticket: {{ event.ticket_code }}

            Come 15 minutes early and bring the original documents required.
            Your ticket and booking: {{ links.app }}""")
        + _SIGN_EN,
    ),
    Default(
        BOOKING_CANCELLED,
        "sms",
        id="Jadwal kunjungan {{ event.starts_at|tanggal }} pukul {{ event.starts_at|jam }} di "
        "loket {{ event.counter }} dibatalkan. Buat jadwal baru: {{ links.app }}",
        en="Your visit on {{ event.starts_at|date_en }} at {{ event.starts_at|time_en }}, "
        "counter {{ event.counter }}, was cancelled. Book again: {{ links.app }}",
    ),
    Default(
        BOOKING_CANCELLED,
        "inbox",
        subject_id="Jadwal kunjungan dibatalkan",
        subject_en="Visit cancelled",
        id="Kunjungan {{ service.name }} pada {{ event.starts_at|hari }}, "
        "{{ event.starts_at|tanggal }} pukul {{ event.starts_at|jam }} di loket "
        "{{ event.counter }} dibatalkan. Anda dapat membuat jadwal baru di {{ links.app }}",
        en="Your {{ service.name }} visit on {{ event.starts_at|day_en }}, "
        "{{ event.starts_at|date_en }} at {{ event.starts_at|time_en }}, counter "
        "{{ event.counter }}, was cancelled. You can book again at {{ links.app }}",
    ),
    Default(
        BOOKING_CANCELLED,
        "email",
        subject_id="Jadwal kunjungan {{ event.starts_at|tanggal }} dibatalkan",
        subject_en="Visit on {{ event.starts_at|date_en }} cancelled",
        id=_body("""
            Yth. {{ recipient.name }},

            Jadwal kunjungan Anda untuk {{ service.name }} pada {{ event.starts_at|hari }},
            {{ event.starts_at|tanggal }} pukul {{ event.starts_at|jam }} di loket
            {{ event.counter }} ({{ agency.name }}) telah dibatalkan.

            Anda dapat membuat jadwal baru di {{ links.app }}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Your {{ service.name }} visit on {{ event.starts_at|day_en }},
            {{ event.starts_at|date_en }} at {{ event.starts_at|time_en }}, counter
            {{ event.counter }} ({{ agency.name }}) was cancelled.

            You can book again at {{ links.app }}""")
        + _SIGN_EN,
    ),
    # --- complaints ----------------------------------------------------------------------------
    Default(
        COMPLAINT_FILED,
        "inbox",
        subject_id="Pengaduan {{ event.tracking_id }} tercatat",
        subject_en="Complaint {{ event.tracking_id }} recorded",
        id="Pengaduan Anda tercatat dengan nomor {{ event.tracking_id }}. Kami periksa dan "
        "teruskan ke instansi terkait{% if event.due_at %} paling lambat "
        "{{ event.due_at|tanggal }}{% endif %}.",
        en="Your complaint was recorded as {{ event.tracking_id }}. We will check it and pass "
        "it to the agency concerned{% if event.due_at %} by {{ event.due_at|date_en }}"
        "{% endif %}.",
    ),
    Default(
        COMPLAINT_FILED,
        "email",
        subject_id="Pengaduan {{ event.tracking_id }} tercatat",
        subject_en="Complaint {{ event.tracking_id }} recorded",
        id=_body("""
            Yth. {{ recipient.name }},

            Terima kasih atas pengaduan Anda. Pengaduan tercatat dengan nomor
            {{ event.tracking_id }}.

            Kami periksa dan teruskan ke instansi terkait{% if event.due_at %} paling lambat
            {{ event.due_at|tanggal }}{% endif %}.
            Ikuti perkembangannya di {{ links.complaint }}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Thank you for your complaint. It was recorded as {{ event.tracking_id }}.

            We will check it and pass it to the agency concerned{% if event.due_at %} by
            {{ event.due_at|date_en }}{% endif %}. Follow it at {{ links.complaint }}""")
        + _SIGN_EN,
    ),
    # Forwarded: the citizen reads it in the inbox; the e-mail is the agency's administrators'.
    Default(
        COMPLAINT_FORWARDED,
        "inbox",
        subject_id="Pengaduan {{ event.tracking_id }} diteruskan",
        subject_en="Complaint {{ event.tracking_id }} forwarded",
        id="Pengaduan {{ event.tracking_id }} sudah diverifikasi dan diteruskan ke "
        "{{ agency.name or 'instansi terkait' }}"
        "{% if event.due_at %}, yang wajib menanggapi paling lambat "
        "{{ event.due_at|tanggal }}{% endif %}. Ikuti perkembangannya di {{ links.complaint }}",
        en="Complaint {{ event.tracking_id }} was verified and forwarded to "
        "{{ agency.name or 'the agency concerned' }}"
        "{% if event.due_at %}, which must answer by {{ event.due_at|date_en }}{% endif %}. "
        "Follow it at {{ links.complaint }}",
    ),
    Default(
        COMPLAINT_FORWARDED,
        "email",
        subject_id="Pengaduan {{ event.tracking_id }} menunggu tanggapan Anda",
        subject_en="Complaint {{ event.tracking_id }} awaits your answer",
        id=_body("""
            Yth. {{ recipient.name }},

            Pengaduan {{ event.tracking_id }} telah diverifikasi MPP dan diteruskan ke
            {{ agency.name or event.agency }}.
            {% if event.due_at %}
            Mohon tanggapi paling lambat {{ event.due_at|tanggal }} {{ event.due_at|jam }}
            (5 hari kerja, SP4N-LAPOR!).
            {% endif %}

            Pelapor melihat setiap langkah penanganannya.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Complaint {{ event.tracking_id }} was verified by the mall and forwarded to
            {{ agency.name or event.agency }}.
            {% if event.due_at %}
            Please answer it by {{ event.due_at|date_en }} {{ event.due_at|time_en }}
            (5 working days, SP4N-LAPOR!).
            {% endif %}

            The citizen sees each step of its handling.""")
        + _SIGN_EN,
    ),
    # The citizen replied to the answer: it is the agency's to answer again.
    Default(
        COMPLAINT_REPLIED,
        "email",
        subject_id="Pelapor membalas pengaduan {{ event.tracking_id }}",
        subject_en="The citizen replied on complaint {{ event.tracking_id }}",
        id=_body("""
            Yth. {{ recipient.name }},

            Pelapor membalas tanggapan {{ agency.name or event.agency }} atas pengaduan
            {{ event.tracking_id }}.
            {% if event.due_at %}
            Mohon tanggapi lagi paling lambat {{ event.due_at|tanggal }} {{ event.due_at|jam }}.
            {% endif %}""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            The citizen replied to the answer of {{ agency.name or event.agency }} on complaint
            {{ event.tracking_id }}.
            {% if event.due_at %}
            Please answer again by {{ event.due_at|date_en }} {{ event.due_at|time_en }}.
            {% endif %}""")
        + _SIGN_EN,
    ),
    Default(
        COMPLAINT_RESPONDED,
        "inbox",
        subject_id="Pengaduan {{ event.tracking_id }} ditanggapi",
        subject_en="Complaint {{ event.tracking_id }} answered",
        id="{{ agency.name or 'Instansi terkait' }} telah "
        "menanggapi pengaduan {{ event.tracking_id }}. Tanpa balasan, pengaduan ditutup otomatis "
        "setelah 10 hari kerja. Baca tanggapannya dan balas bila perlu: {{ links.complaint }}",
        en="{{ agency.name or 'The agency' }} answered "
        "complaint {{ event.tracking_id }}. Without a reply it closes after 10 working days. "
        "Read the answer and reply if needed: {{ links.complaint }}",
    ),
    Default(
        COMPLAINT_RESPONDED,
        "email",
        subject_id="Pengaduan {{ event.tracking_id }} ditanggapi",
        subject_en="Complaint {{ event.tracking_id }} answered",
        id=_body("""
            Yth. {{ recipient.name }},

            {{ agency.name or "Instansi terkait" }} telah menanggapi pengaduan Anda
            ({{ event.tracking_id }}).

            Baca tanggapannya dan balas bila perlu di {{ links.complaint }}
            Tanpa balasan, pengaduan ditutup otomatis setelah 10 hari kerja.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            {{ agency.name or "The agency" }} answered your complaint ({{ event.tracking_id }}).

            Read the answer and reply if needed at {{ links.complaint }}
            Without a reply the complaint closes after 10 working days.""")
        + _SIGN_EN,
    ),
    Default(
        COMPLAINT_CLOSED,
        "inbox",
        subject_id="Pengaduan {{ event.tracking_id }} ditutup",
        subject_en="Complaint {{ event.tracking_id }} closed",
        id="Pengaduan {{ event.tracking_id }} telah ditutup{% if event.automatic %} otomatis "
        "karena tidak ada balasan{% endif %}. Terima kasih telah membantu kami memperbaiki "
        "layanan.",
        en="Complaint {{ event.tracking_id }} was closed{% if event.automatic %} automatically "
        "as there was no reply{% endif %}. Thank you for helping us improve our services.",
    ),
    Default(
        COMPLAINT_CLOSED,
        "email",
        subject_id="Pengaduan {{ event.tracking_id }} ditutup",
        subject_en="Complaint {{ event.tracking_id }} closed",
        id=_body("""
            Yth. {{ recipient.name }},

            Pengaduan Anda ({{ event.tracking_id }}) telah ditutup.
            {% if event.automatic %}
            Pengaduan ditutup otomatis karena tidak ada balasan dalam 10 hari kerja.
            {% endif %}
            Riwayatnya tetap dapat Anda baca di {{ links.complaint }}

            Terima kasih telah membantu kami memperbaiki layanan.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Your complaint ({{ event.tracking_id }}) was closed.
            {% if event.automatic %}
            It closed automatically as there was no reply within 10 working days.
            {% endif %}
            You can still read its history at {{ links.complaint }}

            Thank you for helping us improve our services.""")
        + _SIGN_EN,
    ),
    # --- issued outputs ------------------------------------------------------------------------
    Default(
        OUTPUT_ISSUED,
        "inbox",
        subject_id="Dokumen {{ event.tracking_number }} terbit",
        subject_en="Document {{ event.tracking_number }} issued",
        id="Dokumen elektronik {{ service.name }} untuk permohonan {{ event.tracking_number }} "
        "telah terbit. Unduh di {{ links.app }} dengan PIN yang kami kirim terpisah. "
        "Kode verifikasi: {{ event.verification_code }}.",
        en="The electronic {{ service.name }} document for application "
        "{{ event.tracking_number }} was issued. Download it at {{ links.app }} with the PIN "
        "we send separately. Verification code: {{ event.verification_code }}.",
    ),
    Default(
        OUTPUT_ISSUED,
        "email",
        subject_id="Dokumen {{ event.tracking_number }} telah terbit",
        subject_en="Document {{ event.tracking_number }} issued",
        id=_body("""
            Yth. {{ recipient.name }},

            Dokumen elektronik {{ service.name }} untuk permohonan {{ event.tracking_number }}
            telah terbit, ditandatangani secara elektronik oleh {{ agency.name }}.

            Unduh di {{ links.app }} dengan PIN yang kami kirim terpisah.
            {% if event.valid_until %}
            Berlaku sampai {{ event.valid_until|tanggal }}.
            {% endif %}

            Siapa pun dapat memeriksa keaslian dokumen dengan memindai kode QR-nya atau di
            {{ links.verify }} (kode verifikasi {{ event.verification_code }}).""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            The electronic {{ service.name }} document for application {{ event.tracking_number }}
            was issued, electronically signed by {{ agency.name }}.

            Download it at {{ links.app }} with the PIN we send separately.
            {% if event.valid_until %}
            Valid until {{ event.valid_until|date_en }}.
            {% endif %}

            Anyone can check that it is genuine by scanning its QR code or at
            {{ links.verify }} (verification code {{ event.verification_code }}).""")
        + _SIGN_EN,
    ),
    Default(OUTPUT_PIN, "sms", id=_PIN_ID, en=_PIN_EN),
    Default(OUTPUT_PIN, "whatsapp", id=_PIN_ID, en=_PIN_EN),
    Default(
        OUTPUT_PIN,
        "email",
        subject_id="PIN dokumen permohonan {{ event.tracking_number }}",
        subject_en="Document PIN for application {{ event.tracking_number }}",
        id=_body("""
            Yth. {{ recipient.name }},

            PIN untuk mengunduh dokumen permohonan {{ event.tracking_number }}: {{ event.pin }}

            Unduh dan periksa dokumen di {{ event.verify_url }}
            JANGAN berikan PIN ini kepada siapa pun, termasuk petugas.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            The PIN to download the document of application {{ event.tracking_number }}:
            {{ event.pin }}

            Download and check the document at {{ event.verify_url }}
            Do NOT share this PIN with anyone, including staff.""")
        + _SIGN_EN,
    ),
    Default(
        SLA_BREACHED,
        "email",
        subject_id="Lewat tenggat layanan: {{ event.tracking_number }}",
        subject_en="Service deadline missed: {{ event.tracking_number }}",
        id=_body("""
            Yth. {{ recipient.name }},

            Permohonan {{ event.tracking_number }} ({{ service.name }}) melewati tenggat
            {% if event.clock == 'overall' %}penyelesaian{% else %}tahap
            '{{ event.state_label.id if event.state_label else event.state }}'{% endif %}
            pada {{ event.breached_due_at|tanggal }} {{ event.breached_due_at|jam }}.

            Mohon tindak lanjuti di ruang kerja petugas.""")
        + _SIGN_ID,
        en=_body("""
            Dear {{ recipient.name }},

            Application {{ event.tracking_number }} ({{ service.name }}) missed its
            {% if event.clock == 'overall' %}completion{% else -%}
            '{{ event.state_label.en if event.state_label else event.state }}' step{% endif %}
            deadline of {{ event.breached_due_at|date_en }} {{ event.breached_due_at|time_en }}.

            Please follow it up in the officers' workspace.""")
        + _SIGN_EN,
    ),
)


def each() -> Iterator[tuple[str, str, str, str | None, str]]:
    """Every default as (event type, channel, language, subject, text)."""
    for default in DEFAULTS:
        yield default.event_type, default.channel, "id", default.subject_id, default.id
        yield default.event_type, default.channel, "en", default.subject_en, default.en
