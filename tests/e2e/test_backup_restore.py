"""Backup and restore on the real deployables: half a journey is backed up, the stores wiped and
restored, and the journey finishes as if nothing happened."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from mpp_shared import blobs, db
from mpp_shared.local import postgres_admin_url
from mpp_shared.settings import S3Settings, ServiceSettings

from .conftest import (
    PASSWORD,
    REPO,
    SERVICES,
    Platform,
    register_citizen,
    run_async,
    sign_in,
    staff_account,
)
from .test_journey import apply

DEPLOYABLES = (*SERVICES, "gateway")


def backup_tool(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mpp_shared.backup ...` as an operator runs it, its output shown."""
    ran = subprocess.run(
        [sys.executable, "-m", "mpp_shared.backup", *args],
        cwd=REPO,
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(ran.stdout, ran.stderr, sep="")
    return ran


def wipe(namespace: str) -> None:
    """Lose the namespace's data: its services' databases and its bucket, objects and all."""
    admin = postgres_admin_url()
    for service in DEPLOYABLES:
        own = ServiceSettings(service_name=service, namespace=namespace)
        run_async(db.drop_database(admin, own.postgres_database_name))
    s3 = blobs.create_s3(S3Settings())
    bucket = ServiceSettings(service_name="e2e", namespace=namespace).bucket("documents")
    for found in s3.list_objects(bucket, recursive=True):
        s3.remove_object(bucket, str(found.object_name))
    s3.remove_bucket(bucket)
    names = [
        ServiceSettings(service_name=s, namespace=namespace).database_name for s in DEPLOYABLES
    ]
    assert run_async(db.sessions(admin, names)) == []


def content(platform: Platform, document_id: str, headers: dict[str, str]) -> tuple[str, str]:
    """The document's content type and sha256, downloaded as its reader would (through the
    one-minute link)."""
    response = httpx.get(
        f"{platform.gateway}/api/v1/documents/{document_id}/content",
        headers=headers,
        follow_redirects=True,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.headers["content-type"], hashlib.sha256(response.content).hexdigest()


def test_a_journey_half_done_is_backed_up_wiped_restored_and_finished(
    platform: Platform, tmp_path: Path
) -> None:
    namespace = platform.env["MPP_NAMESPACE"]
    citizen = register_citizen(platform, "Dewi Lestari")
    officer_name = staff_account(platform, "officer", "DISDUKCAPIL")
    officer = sign_in(platform, officer_name, PASSWORD)
    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    application_id = submitted.json()["id"]
    path = f"{platform.gateway}/api/v1/applications/{application_id}"
    reviewing = httpx.post(f"{path}/actions/start_review", headers=officer, timeout=10)
    assert reviewing.status_code == 200, reviewing.text
    before = httpx.get(path, headers=officer, timeout=10).json()
    documents = [d for ids in before["documents"].values() for d in ids]
    assert len(documents) == 2
    sums = {d: content(platform, d, officer) for d in documents}
    assert {kind for kind, _ in sums.values()} == {"application/pdf"}

    folder = tmp_path / "backup"
    taken = backup_tool(platform, "backup", "--namespace", namespace, "--to", str(folder))
    assert taken.returncode == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(d["service"] for d in manifest["databases"]) == sorted(DEPLOYABLES)
    [bucket] = manifest["buckets"]
    assert len(bucket["objects"]) >= len(documents)
    assert f"{namespace}.applications" in manifest["kafka"]["consumer_groups"]

    refused = backup_tool(platform, "restore", str(folder))
    assert refused.returncode == 1
    assert "refusing to restore while the platform's services run" in refused.stdout

    for name in DEPLOYABLES:
        platform.stop(name)
    wipe(namespace)
    restored = backup_tool(platform, "restore", str(folder), "--namespace", namespace)
    assert restored.returncode == 0
    for name in DEPLOYABLES:
        platform.start(name)

    # Signing in again: the accounts came back with the gateway's database.
    officer = sign_in(platform, officer_name, PASSWORD)
    citizen_headers = sign_in(platform, citizen["nik"], PASSWORD)
    after = httpx.get(path, headers=officer, timeout=10).json()
    assert {k: after[k] for k in ("state", "history", "documents", "form", "tracking_number")} == {
        k: before[k] for k in ("state", "history", "documents", "form", "tracking_number")
    }
    inbox = httpx.get(f"{platform.gateway}/api/v1/applications/inbox", headers=officer).json()
    assert application_id in [a["id"] for a in inbox["items"]]
    assert {d: content(platform, d, officer) for d in documents} == sums

    for action in ("approve", "complete"):
        acted = httpx.post(f"{path}/actions/{action}", headers=officer, timeout=10)
        assert acted.status_code == 200, (action, acted.text)
    mine = httpx.get(f"{platform.gateway}/api/v1/applications", headers=citizen_headers).json()
    assert [(a["id"], a["state"]["code"]) for a in mine["items"]] == [(application_id, "completed")]
    history = httpx.get(path, headers=citizen_headers, timeout=10).json()["history"]
    assert [line["action"] for line in history][: len(before["history"])] == [
        line["action"] for line in before["history"]
    ]

    # The documents service, restored, still hears the applications service: it issues the output.
    deadline = time.monotonic() + 60
    while True:
        output = httpx.get(
            f"{platform.gateway}/api/v1/documents/outputs",
            params={"application_id": application_id},
            headers=citizen_headers,
        )
        if output.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert output.status_code == 200, output.text
    verified: dict[str, Any] = httpx.get(
        f"{platform.gateway}/api/v1/verify/{output.json()['verification_code']}"
    ).json()
    assert verified["status"] == "valid"
    assert verified["tracking_number"] == before["tracking_number"]
