"""Uploads meant to exhaust or fool the documents service, sent as an attacker would: bodies past
the gateway's limit (with and without a length), a file past its requirement's limit, a form
to S3 carrying 200 MB where 1 KB was announced, a decompression bomb and files that lie about
their type. Each gets a quick 4xx problem, nothing is kept, and the service's memory peak stays
bounded (the figures are printed: run with -s).

Large bodies are generated as they are sent, a megabyte of zeros at a time, so the test holds
none of them whole.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from PIL import Image

from gateway.routing import BODY_LIMITS
from mpp_shared.blobs import create_s3
from mpp_shared.settings import S3Settings, ServiceSettings

from ..conftest import Platform, register_citizen

MB = 1024 * 1024
ZEROS = bytes(MB)
SERVICE = "akta-kelahiran"
REQUIREMENT = "kk"
# Generous: the service at rest takes about a third of it; holding one attack's body whole
# would not break it, holding several would.
PEAK_BOUND_MB = 400
# Every attack is answered well within this, or it counts as a hang.
TIMEOUT = httpx.Timeout(30, connect=5)


def _memory_mb(pid: int) -> dict[str, int]:
    """The process's peak (VmHWM) and current (VmRSS) resident memory, in MB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    found = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0]) // 1024  # kB
    return found


@pytest.fixture(scope="module", autouse=True)
def memory_before(platform: Platform) -> dict[str, int]:
    """The documents service's memory before the first attack of this module."""
    return _memory_mb(platform.processes["documents"].pid)


@pytest.fixture(scope="module")
def citizen(platform: Platform) -> dict[str, Any]:
    return register_citizen(platform, "Andi Penguji")


def _multipart(
    fields: dict[str, str], *, filename: str, content_type: str, size: int, head: bytes = b""
) -> tuple[dict[str, str], int, Iterator[bytes]]:
    """A multipart form whose last part is a file of `size` bytes (`head`, then zeros): its
    headers, its length and its body, made as it is sent."""
    boundary = secrets.token_hex(16)
    opening = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        + (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
    )
    closing = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield opening + head
        left = size - len(head)
        while left > 0:
            yield ZEROS if left >= MB else ZEROS[:left]
            left -= MB
        yield closing

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return headers, len(opening) + size + len(closing), body()


def _post(url: str, what: str, **request: Any) -> httpx.Response:
    """POST, and fail clearly if no answer comes within TIMEOUT."""
    started = time.monotonic()
    try:
        answer = httpx.post(url, timeout=TIMEOUT, **request)
    except httpx.TimeoutException as exc:
        pytest.fail(f"{what}: no answer within {TIMEOUT.read} s ({exc!r})")
    reason = _why(answer) if answer.status_code >= 400 else ""
    print(f"{what}: {answer.status_code} {reason} in {time.monotonic() - started:.1f} s")
    return answer


def _why(answer: httpx.Response) -> str:
    """A refusal's reason code, or its problem type when it has none (S3's error code for S3)."""
    s3_error = re.search(r"<Code>(\w+)</Code>", answer.text)
    if s3_error:
        return s3_error.group(1)
    try:
        problem = answer.json()
    except ValueError:
        return f"(not JSON: {answer.text[:200]!r})"
    return str(problem.get("reason") or problem.get("type", "").removeprefix("/problems/"))


def _assert_refused(answer: httpx.Response, status: int, why: str) -> None:
    assert (answer.status_code, _why(answer)) == (status, why), answer.text[:500]
    assert answer.headers["content-type"] == "application/problem+json"


def _kept(platform: Platform, citizen: dict[str, Any]) -> list[str]:
    """What the platform keeps of the citizen's uploads: documents that are not merely pending
    (an announced upload is), and every blob under the citizen's name in S3."""
    listed = httpx.get(
        f"{platform.gateway}/api/v1/documents", headers=citizen["headers"], timeout=10
    )
    assert listed.status_code == 200, listed.text
    documents = [f"document {d['id']} ({d['status']})" for d in listed.json()["items"]]
    token = citizen["headers"]["Authorization"].removeprefix("Bearer ")
    owner = jwt.decode(token, options={"verify_signature": False})["sub"]
    bucket = ServiceSettings(service_name="e2e", namespace=platform.env["MPP_NAMESPACE"]).bucket(
        "documents"
    )
    s3 = create_s3(S3Settings())
    blobs = [
        f"blob {found.object_name}"
        for prefix in (f"documents/{owner}/", f"uploads/{owner}/")
        for found in s3.list_objects(bucket, prefix=prefix, recursive=True)
    ]
    return [d for d in documents if not d.endswith("(pending)")] + blobs


def _upload(
    platform: Platform, citizen: dict[str, Any], what: str, *, chunked: bool = False, **file: Any
) -> httpx.Response:
    """POST a generated file through the gateway's multipart upload, with or without a length."""
    headers, length, body = _multipart({"service": SERVICE, "requirement": REQUIREMENT}, **file)
    if not chunked:
        headers["Content-Length"] = str(length)
    return _post(
        f"{platform.gateway}/api/v1/documents",
        what,
        content=body,
        headers=headers | citizen["headers"],
    )


def test_a_body_over_the_gateways_limit_is_refused_before_it_is_read(
    platform: Platform, citizen: dict[str, Any]
) -> None:
    limit = BODY_LIMITS["documents"]
    answer = _upload(
        platform,
        citizen,
        f"{(limit + MB) // MB} MB with its length",
        filename="kk.pdf",
        content_type="application/pdf",
        size=limit + MB,
        head=b"%PDF-1.7\n",
    )
    _assert_refused(answer, 413, "payload-too-large")
    assert _kept(platform, citizen) == []


def test_a_body_over_the_gateways_limit_without_a_length_is_cut_off(
    platform: Platform, citizen: dict[str, Any]
) -> None:
    # Chunked, the gateway cannot know the size up front: it streams the body on, and the
    # documents service stops reading past the largest upload any requirement allows.
    limit = BODY_LIMITS["documents"]
    answer = _upload(
        platform,
        citizen,
        f"{(limit + MB) // MB} MB chunked",
        chunked=True,
        filename="kk.pdf",
        content_type="application/pdf",
        size=limit + MB,
        head=b"%PDF-1.7\n",
    )
    _assert_refused(answer, 413, "too-large")
    assert _kept(platform, citizen) == []


def test_a_file_over_its_requirements_limit_is_refused(
    platform: Platform, citizen: dict[str, Any]
) -> None:
    found = httpx.get(f"{platform.gateway}/api/v1/catalog/services/{SERVICE}", timeout=10)
    assert found.status_code == 200, found.text
    [requirement] = [
        r for r in found.json()["standard"]["requirements"] if r["code"] == REQUIREMENT
    ]
    size = (requirement["max_size_mb"] + 1) * MB
    assert size < BODY_LIMITS["documents"], "under the gateway's limit, to reach the service"
    answer = _upload(
        platform,
        citizen,
        f"{size // MB} MB against a requirement of {requirement['max_size_mb']} MB",
        filename="kk.pdf",
        content_type="application/pdf",
        size=size,
        head=b"%PDF-1.7\n",
    )
    _assert_refused(answer, 413, "too-large")
    assert f"{requirement['max_size_mb']} MB" in answer.json()["detail"]
    assert _kept(platform, citizen) == []


def test_storage_takes_no_more_than_announced_and_finalize_finds_nothing(
    platform: Platform, citizen: dict[str, Any]
) -> None:
    started = httpx.post(
        f"{platform.gateway}/api/v1/documents/uploads",
        json={"filename": "kk.pdf", "size": 1024, "service": SERVICE, "requirement": REQUIREMENT},
        headers=citizen["headers"],
        timeout=10,
    )
    assert started.status_code == 201, started.text
    ticket = started.json()
    assert ticket["method"] == "POST"

    headers, length, body = _multipart(
        ticket["fields"],
        filename="kk.pdf",
        content_type="application/pdf",
        size=200 * MB,
        head=b"%PDF-1.7\n",
    )
    sent = _post(
        ticket["upload_url"],
        "200 MB to a form announced for 1 KB",
        content=body,
        headers=headers | {"Content-Length": str(length)},
    )
    assert (sent.status_code, _why(sent)) == (400, "EntityTooLarge"), sent.text[:500]

    finished = _post(
        f"{platform.gateway}{ticket['finalize_url']}", "finalize", headers=citizen["headers"]
    )
    _assert_refused(finished, 409, "content-missing")
    assert _kept(platform, citizen) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    platform: Platform, citizen: dict[str, Any]
) -> None:
    out = io.BytesIO()
    Image.new("1", (9000, 9000), 1).save(out, format="PNG")  # 81 megapixels in a few KB
    answer = _post(
        f"{platform.gateway}/api/v1/documents",
        f"81-megapixel PNG of {len(out.getvalue()) // 1024} KB",
        files={"file": ("kk.png", out.getvalue(), "image/png")},
        data={"service": SERVICE, "requirement": REQUIREMENT},
        headers=citizen["headers"],
    )
    _assert_refused(answer, 422, "too-many-pixels")
    assert _kept(platform, citizen) == []


@pytest.mark.parametrize(
    ("filename", "content_type", "content", "status", "reason"),
    [
        pytest.param(
            "kk.pdf",
            "application/pdf",
            b"%PDF-1.7\n" + secrets.token_bytes(64 * 1024),
            422,
            "truncated",
            id="a PDF header on garbage",
        ),
        pytest.param(
            "kk.jpg",
            "image/jpeg",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(54) + b"PE\x00\x00" + bytes(4096),
            415,
            "unsupported-type",
            id="a program named .jpg",
        ),
    ],
)
def test_a_file_whose_content_is_not_its_declared_type_is_refused(
    platform: Platform,
    citizen: dict[str, Any],
    filename: str,
    content_type: str,
    content: bytes,
    status: int,
    reason: str,
) -> None:
    answer = _post(
        f"{platform.gateway}/api/v1/documents",
        f"{filename} of {len(content) // 1024} KB that is no {content_type}",
        files={"file": (filename, content, content_type)},
        data={"service": SERVICE, "requirement": REQUIREMENT},
        headers=citizen["headers"],
    )
    _assert_refused(answer, status, reason)
    assert _kept(platform, citizen) == []


def test_the_documents_service_peak_memory_stays_bounded(
    platform: Platform, memory_before: dict[str, int]
) -> None:
    after = _memory_mb(platform.processes["documents"].pid)
    print(
        f"documents service: peak RSS before {memory_before['VmHWM']} MB, after "
        f"{after['VmHWM']} MB (RSS before {memory_before['VmRSS']} MB, now {after['VmRSS']} MB)"
    )
    assert after["VmHWM"] < PEAK_BOUND_MB
