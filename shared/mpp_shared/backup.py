"""Back up and restore the platform's stores: `python -m mpp_shared.backup backup|restore`.

A backup is one folder (`.data/backups/<UTC time>/` unless `--to`): a `pg_dump --format=custom`
of each service's database, every object of the namespace's buckets with its content type and
metadata, and `manifest.json`, written last, with what was taken, when, each file's size and
sha256 and the consumer groups' committed Kafka offsets. A folder without a manifest is a backup
that did not finish; restore refuses it, and one whose files do not match their sums.

The order, and what it buys:
1. The consumer groups' committed offsets are read first. A consumer commits an offset only
   after the transaction that applied the events before it, so the effect of every event below
   a recorded offset is in the dumps taken next. Restore moves the services' groups back to
   these offsets: what a service consumed after its dump is read again, and its inbox skips
   what it already had.
2. The databases, one after another. Each dump is one consistent snapshot of one service: a
   state change and the events it causes are one transaction (the outbox), so a restored service
   publishes again whatever its outbox still held unsent (some of it already sent after the
   dump: the same event ids, which the consumers' inboxes skip).
3. The objects, after the databases, so every document row finds its object. An object written
   between the documents dump and its copy is backed up without a row: unreachable, harmless,
   and not removed by any clean-up (that one removes documents never attached, rows and
   objects). Restore makes each bucket hold exactly the backed-up objects, removing others.

What is not consistent, and cannot be without stopping the platform:
- Each database is its own snapshot, taken a moment after the one before. An event published
  after its producer's dump and consumed before its consumer's dump is an effect in the consumer
  (a notification sent, a read model updated) whose cause the restored producer does not have;
  the producer's later events go on from its restored state.
- A document deleted after the documents dump and before its object was copied: its row is
  restored without its object. Deletions are rare (uploads never attached); its download then
  fails.
- Rewinding the offsets does again what the restore undid: an event consumed after the backup
  is applied again, since the restored inbox does not hold it. For notifications that is a
  message sent a second time; without the rewind it would be a state change lost for good.
  `--keep-offsets` chooses the other way.
- Kafka's topics are not backed up: retention keeps them (7 days unless a topic says otherwise).
  Events published after the backup stay on the topics; after a restore, consumers read again
  from the recorded offsets, which must still be within retention.

What an operator does: stop the services (restore refuses while they run, unless `--force`);
restore every service from the same backup, never one alone; start the services. For a fully
consistent copy, back up with the services stopped.

The admin credentials are the local cluster's (`MPP_POSTGRES_ADMIN_USER`, `..._PASSWORD`,
`..._HOST` and `MPP_POSTGRES_PORT` to point elsewhere); the password reaches the PostgreSQL
programs in PGPASSWORD, never on a command line. Production's managed PostgreSQL has backups and
point-in-time recovery of its own: this tool is for the local platform, a staging copy, or moving
a deployment's data.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from minio import Minio
from sqlalchemy import URL

from mpp_shared import blobs, db
from mpp_shared.local import REPO, SERVICES, postgres_admin_url
from mpp_shared.settings import S3Settings, ServiceSettings

BUCKETS = ("documents",)
# Where `make up` runs the services (docs/ARCHITECTURE: local ports).
LOCAL_PORTS = {
    "gateway": 8080,
    "catalog": 8101,
    "applications": 8102,
    "documents": 8103,
    "notifications": 8104,
}
MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1 << 20


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why."""


def say(message: str) -> None:
    print(message, flush=True)


# --- backup -------------------------------------------------------------------------------------


async def backup(*, namespace: str, to: Path | None = None) -> Path:
    """Back up the namespace's databases and buckets into one new folder; returns the folder."""
    started = dt.datetime.now(dt.UTC)
    folder = to or REPO / ".data" / "backups" / started.strftime("%Y%m%dT%H%M%SZ")
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty; choose a new folder")
    (folder / "postgres").mkdir(parents=True, exist_ok=True)
    say(f"==> backing up namespace {namespace or '(none)'} into {folder}")

    offsets = await committed_offsets(namespace)
    say(f"    Kafka: committed offsets of {len(offsets)} consumer group(s) recorded")

    admin = postgres_admin_url()
    databases = []
    for service in SERVICES:
        own = ServiceSettings(service_name=service, namespace=namespace)
        path = folder / "postgres" / f"{service}.dump"
        await asyncio.to_thread(dump, admin, own.postgres_database_name, path)
        entry = {
            "service": service,
            "database": own.postgres_database_name,
            "role": own.postgres_role,
        } | describe(folder, path)
        databases.append(entry)
        say(f"    postgres: {entry['database']} -> {entry['file']} ({entry['size']:,} bytes)")

    s3 = blobs.create_s3(S3Settings())
    buckets = []
    for name in BUCKETS:
        bucket = ServiceSettings(service_name="backup", namespace=namespace).bucket(name)
        objects = await asyncio.to_thread(save_bucket, s3, bucket, folder)
        buckets.append({"bucket": bucket, "objects": objects})
        total = sum(o["size"] for o in objects)
        say(f"    s3: {bucket}: {len(objects)} object(s), {total:,} bytes")

    manifest = {
        "format": FORMAT,
        "namespace": namespace,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "pg_dump": program_version("pg_dump"),
        "kafka": {"consumer_groups": offsets},
        "databases": databases,
        "buckets": buckets,
    }
    # Written last, and renamed into place: its presence says the backup is whole.
    partial = folder / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    partial.rename(folder / MANIFEST)
    say(f"==> backup complete: {folder}")
    return folder


async def committed_offsets(namespace: str) -> dict[str, list[dict[str, Any]]]:
    """The committed offsets of the platform's consumer groups in the namespace."""
    settings = ServiceSettings(service_name="backup", namespace=namespace)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000
    )
    await admin.start()
    try:
        groups = sorted(
            group
            for group, *_ in await admin.list_consumer_groups()
            if platform_group(group, namespace)
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            found[group] = [
                {"topic": tp.topic, "partition": tp.partition, "offset": position.offset}
                for tp, position in sorted(committed.items())
                if position.offset >= 0
            ]
        return found
    finally:
        await admin.close()


def platform_group(group: str, namespace: str) -> bool:
    """Whether a consumer group is one of the platform's in this namespace (as the gateway's
    pipeline probe counts them)."""
    prefix = f"{namespace}." if namespace else ""
    return group.startswith(prefix) and group.removeprefix(prefix).split(".")[0] in SERVICES


def dump(admin: URL, database: str, path: Path) -> None:
    """One database, as one snapshot, in pg_dump's custom format; checked readable."""
    run([program("pg_dump"), "--format=custom", f"--file={path}", *connect(admin, database)], admin)
    run([program("pg_restore"), "--list", str(path)], admin)


def save_bucket(s3: Minio, bucket: str, folder: Path) -> list[dict[str, Any]]:
    """Stream every object of the bucket into `s3/<bucket>/`, numbered (keys may hold any
    character); their keys, content types and metadata go to the manifest."""
    if not s3.bucket_exists(bucket):
        return []
    into = folder / "s3" / bucket
    into.mkdir(parents=True, exist_ok=True)
    objects = []
    for number, found in enumerate(s3.list_objects(bucket, recursive=True), start=1):
        if found.object_name is None or found.is_dir:
            continue
        path = into / f"{number:08d}"
        response = s3.get_object(bucket, found.object_name)
        try:
            with path.open("wb") as out:
                for chunk in response.stream(CHUNK):
                    out.write(chunk)
            headers = response.headers
        finally:
            response.close()
            response.release_conn()
        objects.append(
            {
                "key": found.object_name,
                "content_type": headers.get("Content-Type", "application/octet-stream"),
                "metadata": kept_metadata(headers),
            }
            | describe(folder, path)
        )
    return objects


def kept_metadata(headers: Any) -> dict[str, str]:
    """The object's user metadata and the standard headers stored with it."""
    standard = ("cache-control", "content-disposition", "content-encoding", "content-language")
    return {
        name: value
        for name, value in headers.items()
        if name.lower().startswith("x-amz-meta-") or name.lower() in standard
    }


def describe(folder: Path, path: Path) -> dict[str, Any]:
    """A file's entry in the manifest: where it is in the folder, its size and sha256."""
    return {
        "file": str(path.relative_to(folder)),
        "size": path.stat().st_size,
        "sha256": sha256(path),
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- restore ------------------------------------------------------------------------------------


async def restore(
    folder: Path, *, namespace: str | None = None, force: bool = False, rewind: bool = True
) -> None:
    """Replace the namespace's databases and buckets with a backup's; the services stopped."""
    manifest = read_manifest(folder)
    backed_up = str(manifest["namespace"])
    namespace = backed_up if namespace is None else namespace
    say(
        f"==> restoring {folder} (namespace {backed_up or '(none)'}, taken "
        f"{manifest['finished_at']}) into namespace {namespace or '(none)'}"
    )
    verify(folder, manifest)
    say("    every file matches its sha256")

    admin = postgres_admin_url()
    databases = {
        entry["service"]: ServiceSettings(service_name=entry["service"], namespace=namespace)
        for entry in manifest["databases"]
    }
    running = await running_services(
        admin, namespace, [s.postgres_database_name for s in databases.values()]
    )
    if running and not force:
        raise BackupError(
            "refusing to restore while the platform's services run; stop them first "
            "(`make down`, or stop each service), or pass --force to restore under them "
            "(their connections are cut and what they write meanwhile is lost):\n  - "
            + "\n  - ".join(running)
        )
    if running:
        say("    --force: restoring under running services: " + "; ".join(running))

    for entry in manifest["databases"]:
        own = databases[entry["service"]]
        await restore_database(admin, own, folder / entry["file"])
        say(f"    postgres: {entry['file']} -> {own.postgres_database_name}")

    s3 = blobs.create_s3(S3Settings())
    for saved in manifest["buckets"]:
        name = str(saved["bucket"]).removeprefix(f"{backed_up}-" if backed_up else "")
        bucket = ServiceSettings(service_name="backup", namespace=namespace).bucket(name)
        removed = await asyncio.to_thread(load_bucket, s3, bucket, folder, saved["objects"])
        say(
            f"    s3: {bucket}: {len(saved['objects'])} object(s) restored"
            + (f", {removed} not in the backup removed" if removed else "")
        )

    groups = manifest["kafka"]["consumer_groups"]
    if not rewind:
        say("    Kafka: consumer offsets left as they are (--keep-offsets)")
    elif namespace != backed_up:
        say("    Kafka: another namespace's topics; consumer offsets left as they are")
    else:
        await rewind_offsets(namespace, groups)
    say("==> restore complete; start the services")


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise BackupError(f"{path} is missing: not a backup, or one that did not finish")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def verify(folder: Path, manifest: dict[str, Any]) -> None:
    """Raise unless every file of the backup is there with its size and sha256."""
    entries = [*manifest["databases"], *(o for b in manifest["buckets"] for o in b["objects"])]
    for entry in entries:
        path = folder / entry["file"]
        if not path.is_file():
            raise BackupError(f"{path} is missing")
        if path.stat().st_size != entry["size"] or sha256(path) != entry["sha256"]:
            raise BackupError(f"{path} differs from what was backed up")


async def running_services(admin: URL, namespace: str, databases: list[str]) -> list[str]:
    """What shows the platform's services are running: a local port that answers (the platform
    `make up` runs, without a namespace) or sessions on the namespace's databases (any
    namespace: every service holds one open to hear its outbox)."""
    found = []
    if not namespace:
        found += [
            f"{name} answers on port {port}"
            for name, port in LOCAL_PORTS.items()
            if port_answers(port)
        ]
    found += [
        f"{count} session(s) of {application or 'a client'} on {database}"
        for database, application, count in await db.sessions(admin, databases)
    ]
    return found


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def restore_database(admin: URL, settings: ServiceSettings, path: Path) -> None:
    """Drop the database, create it again as `db.ensure_database` does (owned by the service's
    role, closed to others) and load the dump as that role, so the service owns its tables."""
    database = settings.postgres_database_name
    await db.drop_database(admin, database)
    await db.ensure_database(admin, settings)
    await asyncio.to_thread(
        run,
        [
            program("pg_restore"),
            "--no-owner",
            f"--role={settings.postgres_role}",
            "--single-transaction",
            "--exit-on-error",
            *connect(admin, database),
            str(path),
        ],
        admin,
    )


def load_bucket(s3: Minio, bucket: str, folder: Path, objects: list[dict[str, Any]]) -> int:
    """Make the bucket hold exactly the backed-up objects; returns how many others it removed."""
    if not s3.bucket_exists(bucket):
        s3.make_bucket(bucket)
    keys = {o["key"] for o in objects}
    extra = [
        found.object_name
        for found in s3.list_objects(bucket, recursive=True)
        if found.object_name is not None and found.object_name not in keys and not found.is_dir
    ]
    for key in extra:
        s3.remove_object(bucket, key)
    for saved in objects:
        s3.fput_object(
            bucket,
            saved["key"],
            str(folder / saved["file"]),
            content_type=saved["content_type"],
            metadata=saved["metadata"] or None,
        )
    return len(extra)


async def rewind_offsets(namespace: str, groups: dict[str, list[dict[str, Any]]]) -> None:
    """Move each service's consumer group back to the offsets recorded with the backup."""
    bootstrap = ServiceSettings(service_name="backup", namespace=namespace).kafka_bootstrap
    own = {ServiceSettings(service_name=s, namespace=namespace).consumer_group for s in SERVICES}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        now = {group: await admin.list_consumer_group_offsets(group) for group in groups}
    finally:
        await admin.close()
    for group, positions in groups.items():
        if group not in own or not positions:
            continue
        # Only ever back: a group behind the backup (reset by hand) reads on from where it is.
        offsets = {}
        for position in positions:
            tp = TopicPartition(position["topic"], position["partition"])
            current = now[group].get(tp)
            recorded = int(position["offset"])
            offsets[tp] = (
                recorded if current is None or current.offset < 0 else min(recorded, current.offset)
            )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(list(offsets))
            await consumer.commit(offsets)
        finally:
            await consumer.stop()
        say(f"    Kafka: {group} back at the backup's offsets ({len(offsets)} partition(s))")


# --- the PostgreSQL programs --------------------------------------------------------------------


def program(name: str) -> str:
    """A PostgreSQL client program: the newest installed server's (as `make servers` runs it;
    Debian keeps them per major version), else the one on PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise BackupError(f"{name} not found: apt-get install postgresql-client")
    return on_path


def program_version(name: str) -> str:
    return subprocess.run(
        [program(name), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def connect(admin: URL, database: str) -> list[str]:
    """Where and as whom, on the command line; the password goes in the environment."""
    return [
        f"--host={admin.host}",
        f"--port={admin.port}",
        f"--username={admin.username}",
        f"--dbname={database}",
        "--no-password",
    ]


def run(command: list[str], admin: URL) -> None:
    env = os.environ | {"PGPASSWORD": admin.password or "", "PGCONNECT_TIMEOUT": "10"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        name = Path(command[0]).name
        raise BackupError(f"{name} exited with {result.returncode}: {result.stderr.strip()}")


# --- the command line ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arguments:
    command: str
    namespace: str | None
    to: Path | None
    folder: Path | None
    force: bool
    keep_offsets: bool


def parse(argv: Iterable[str] | None = None) -> Arguments:
    parser = argparse.ArgumentParser(
        prog="python -m mpp_shared.backup",
        description="Back up or restore the platform's databases and buckets (see the module's "
        "docstring for what is consistent with what).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    taking = commands.add_parser("backup", help="back up into a new folder")
    taking.add_argument("--namespace", help="a test run's namespace (default: MPP_NAMESPACE)")
    taking.add_argument("--to", type=Path, help="the folder (default .data/backups/<UTC time>)")
    putting = commands.add_parser("restore", help="replace the stores' data with a backup's")
    putting.add_argument("folder", type=Path, help="a backup's folder")
    putting.add_argument("--namespace", help="restore into this namespace (default: the backup's)")
    putting.add_argument(
        "--force", action="store_true", help="even while the services run (they lose what they do)"
    )
    putting.add_argument(
        "--keep-offsets",
        action="store_true",
        help="leave the consumer groups' offsets as they are, not back at the backup's",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    return Arguments(
        command=args.command,
        namespace=args.namespace,
        to=getattr(args, "to", None),
        folder=getattr(args, "folder", None),
        force=getattr(args, "force", False),
        keep_offsets=getattr(args, "keep_offsets", False),
    )


def main(argv: Iterable[str] | None = None) -> None:
    """Back up or restore, from the command line."""
    args = parse(argv)
    try:
        if args.command == "backup":
            namespace = (
                os.environ.get("MPP_NAMESPACE", "") if args.namespace is None else args.namespace
            )
            asyncio.run(backup(namespace=namespace, to=args.to))
        else:
            assert args.folder is not None
            asyncio.run(
                restore(
                    args.folder,
                    namespace=args.namespace,
                    force=args.force,
                    rewind=not args.keep_offsets,
                )
            )
    except BackupError as exc:
        say(f"✗ {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
