"""Uploads cannot exhaust the service's memory: S3 takes only the announced size, finalize
measures what is stored before reading a byte of it, and images are measured before decoding."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from documents.settings import Settings
from mpp_shared.testing import Tokens

from ..conftest import blobs_client, citizen_id, huge_png, objects, pdf_bytes, post_form

UPLOADS = "/api/v1/documents/uploads"
# Pillow warns past its limit when it reads the header; the service refuses it right after.
expected_bomb_warning = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


async def test_storage_refuses_a_presigned_upload_larger_than_announced(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, direct: httpx.AsyncClient
) -> None:
    headers = tokens.headers("citizen", subject=citizen_id())
    ticket = (await documents.post(UPLOADS, json={"size": 1024}, headers=headers)).json()
    assert ticket["method"] == "POST"

    sent = await post_form(direct, ticket, pdf_bytes().ljust(5 * 1024 * 1024))
    assert sent.status_code == 400, sent.text
    assert "EntityTooLarge" in sent.text
    assert ticket["fields"]["key"] not in objects(settings), "S3 kept nothing"
    finished = await documents.post(ticket["finalize_url"], headers=headers)
    assert (finished.status_code, finished.json()["reason"]) == (409, "content-missing")


async def test_finalize_refuses_a_stored_file_of_another_size_before_reading_it(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    settings: Settings,
    direct: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = tokens.headers("citizen", subject=citizen_id())
    content = pdf_bytes("Ijazah")
    ticket = (await documents.post(UPLOADS, json={"size": len(content)}, headers=headers)).json()
    key = ticket["fields"]["key"]
    s3 = documents.app.state.s3  # type: ignore[attr-defined]
    reads: list[str] = []
    get_object = s3.get_object

    def spy(bucket: str, name: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(name)
        return get_object(bucket, name, *args, **kwargs)

    monkeypatch.setattr(s3, "get_object", spy)
    # Stored past S3's policy (a server that ignores it, or a key written by other means).
    behind = blobs_client(settings)
    for stored, status, reason, language, said in [
        (content + b"\0" * 1000, 422, "size-mismatch", "id", "tidak sesuai dengan yang diumumkan"),
        (content[:-10], 422, "size-mismatch", "en", f"({len(content) - 10} bytes) differs"),
        (b"%PDF-" + b"0" * (10 * 1024 * 1024), 413, "too-large", "id", "lebih dari 10 MB"),
    ]:
        behind.put_object(settings.bucket_name, key, io.BytesIO(stored), len(stored))
        refused = await documents.post(
            ticket["finalize_url"], headers=headers | {"Accept-Language": language}
        )
        assert (refused.status_code, refused.json()["reason"]) == (status, reason), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert said in refused.json()["detail"]
        assert key not in objects(settings), "the stored file is removed"
    assert reads == [], "not a byte of them was read"

    # Still pending: the same form sends the right file.
    assert (await post_form(direct, ticket, content)).status_code == 204
    finished = await documents.post(ticket["finalize_url"], headers=headers)
    assert finished.json()["status"] == "available", finished.text
    assert reads == [key]


@expected_bomb_warning
async def test_an_81_megapixel_png_is_refused_through_the_api(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings
) -> None:
    before = objects(settings)
    response = await documents.post(
        "/api/v1/documents",
        files={"file": ("scan.png", huge_png(), "image/png")},
        headers=tokens.headers("citizen", subject=citizen_id()),
    )
    assert (response.status_code, response.json()["reason"]) == (422, "too-many-pixels")
    assert "50 megapiksel" in response.json()["detail"]
    assert objects(settings) == before


@expected_bomb_warning
async def test_an_81_megapixel_png_sent_to_storage_is_rejected_on_finalize(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, direct: httpx.AsyncClient
) -> None:
    headers = tokens.headers("citizen", subject=citizen_id())
    png = huge_png()
    ticket = (await documents.post(UPLOADS, json={"size": len(png)}, headers=headers)).json()
    assert (await post_form(direct, ticket, png)).status_code == 204

    finished = await documents.post(ticket["finalize_url"], headers=headers)
    assert finished.status_code == 200, finished.text
    assert finished.json()["status"] == "rejected"
    assert "50 megapixels" in finished.json()["reason"]["en"]
    assert ticket["fields"]["key"] not in objects(settings)
