"""Where object bytes live: one abstract blob store, two backends (the MLflow-store pattern).

A blob is an immutable byte string named by a random id. S3 metadata (keys, versions, ETags,
which blobs make up an object) lives in the database; a blob store only keeps bytes, so the same
S3 semantics run over either backend:

- :class:`LocalBlobStore`: files under ``<data dir>/s3/blobs``. A write goes to a temporary file,
  is fsync'ed, renamed to its final name, and the directory fsync'ed, all before the caller commits
  the metadata that refers to it. A crash therefore leaves at worst an unreferenced file, which
  :func:`sweep_orphans` removes at the next start.
- :class:`S3BlobStore`: objects in any S3-compatible service (another Seedbed, SeaweedFS, MinIO,
  AWS itself), through boto3. A successful ``PutObject`` is durable by that service's contract.

Blobs hold ciphertext (see :mod:`seedbed.services.s3.encryption`); stores never see plaintext.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class BlobMissing(Exception):
    """A blob the metadata refers to is not in the store."""


class BlobReader(ABC):
    """An open blob: positioned reads until closed."""

    @abstractmethod
    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``."""

    def close(self) -> None:
        return None


class BlobStore(ABC):
    """Immutable blobs by id."""

    #: Seconds to wait before deleting a replaced blob, so that reads already under way finish.
    delete_delay: float = 0.0
    #: Blobs younger than this (seconds) are never swept as orphans: another writer may own them.
    orphan_grace: float = 0.0

    @abstractmethod
    def write(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        """Store ``chunks`` under ``blob_id``; durable when this returns."""

    @abstractmethod
    def open(self, blob_id: str) -> BlobReader:
        """Open a blob for reading; raises :class:`BlobMissing`."""

    def read(self, blob_id: str, start: int, end: int) -> bytes:
        reader = self.open(blob_id)
        try:
            return reader.read(start, end)
        finally:
            reader.close()

    @abstractmethod
    def copy(self, source_id: str, target_id: str) -> None:
        """A new blob with the same bytes (cheap where the backend allows)."""

    @abstractmethod
    def delete(self, blob_ids: Iterable[str]) -> None:
        """Remove blobs; ids that are already gone are ignored."""

    @abstractmethod
    def list_blobs(self) -> Iterator[tuple[str, float]]:
        """Every stored blob id with the time (epoch seconds) it was created or linked."""

    def sweep_temporary(self, before: float) -> int:
        """Remove half-written blobs left by a crash before ``before``; returns how many."""
        return 0

    def close(self) -> None:
        return None


# --- local files -----------------------------------------------------------------------------


class _FileReader(BlobReader):
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def read(self, start: int, end: int) -> bytes:
        out = os.pread(self._fd, end - start, start)
        while len(out) < end - start:
            more = os.pread(self._fd, end - start - len(out), start + len(out))
            if not more:
                break
            out += more
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class LocalBlobStore(BlobStore):
    """Files under ``root/<first two characters of the id>/<id>``.

    An open reader keeps its file readable after the blob is deleted (POSIX unlink semantics), so
    deletions need no delay.
    """

    TMP_SUFFIX = ".tmp"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._dir_fds: dict[str, int] = {}
        self._lock = threading.Lock()

    def _dir(self, blob_id: str) -> Path:
        return self.root / blob_id[:2]

    def path(self, blob_id: str) -> Path:
        return self._dir(blob_id) / blob_id

    def _dir_fd(self, blob_id: str) -> int:
        """An open descriptor of the blob's directory (made if need be), kept for the store's
        life: names are resolved against it, and it is what the directory fsync needs."""
        name = blob_id[:2]
        fd = self._dir_fds.get(name)
        if fd is None:
            with self._lock:
                fd = self._dir_fds.get(name)
                if fd is None:
                    directory = self.root / name
                    directory.mkdir(exist_ok=True, mode=0o700)
                    fd = os.open(directory, os.O_RDONLY)
                    self._dir_fds[name] = fd
        return fd

    def write(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        dir_fd = self._dir_fd(blob_id)
        tmp = blob_id + self.TMP_SUFFIX
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dir_fd)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
            raise
        os.close(fd)
        os.rename(tmp, blob_id, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)  # the rename itself must survive a power cut before metadata points here

    def open(self, blob_id: str) -> BlobReader:
        dir_fd = self._dir_fds.get(blob_id[:2])
        try:
            if dir_fd is None:
                return _FileReader(os.open(self.path(blob_id), os.O_RDONLY))
            return _FileReader(os.open(blob_id, os.O_RDONLY, dir_fd=dir_fd))
        except FileNotFoundError as exc:
            raise BlobMissing(blob_id) from exc

    def copy(self, source_id: str, target_id: str) -> None:
        """A hard link: blobs never change, so two names for one file are safe and instant."""
        dir_fd = self._dir_fd(target_id)
        try:
            os.link(source_id, target_id, src_dir_fd=self._dir_fd(source_id), dst_dir_fd=dir_fd)
        except FileNotFoundError as exc:
            raise BlobMissing(source_id) from exc
        os.fsync(dir_fd)

    def delete(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            dir_fd = self._dir_fds.get(blob_id[:2])
            try:
                if dir_fd is None:
                    os.unlink(self.path(blob_id))
                else:
                    os.unlink(blob_id, dir_fd=dir_fd)
            except FileNotFoundError:
                pass

    def list_blobs(self) -> Iterator[tuple[str, float]]:
        for directory in sorted(self.root.iterdir()):
            if not directory.is_dir():
                continue
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.endswith(self.TMP_SUFFIX):
                        continue
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    # ctime, not mtime: linking a copy updates ctime but keeps the old mtime.
                    yield entry.name, stat.st_ctime

    def sweep_temporary(self, before: float) -> int:
        removed = 0
        for directory in self.root.iterdir():
            if not directory.is_dir():
                continue
            for tmp in directory.glob("*" + self.TMP_SUFFIX):
                try:
                    if tmp.stat().st_ctime < before:
                        tmp.unlink()
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def close(self) -> None:
        with self._lock:
            for fd in self._dir_fds.values():
                os.close(fd)
            self._dir_fds.clear()


# --- an external S3-compatible service ------------------------------------------------------


@dataclass(frozen=True)
class RemoteConfig:
    """Where an :class:`S3BlobStore` keeps its bytes."""

    endpoint_url: str
    bucket: str = "seedbed-blobs"
    prefix: str = "blobs/"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ[str] | None = None) -> RemoteConfig | None:
        """``SEEDBED_S3_BACKEND_URL`` (required) and its companions, or None for local files.

        ``SEEDBED_S3_BACKEND_BUCKET``, ``..._PREFIX``, ``..._ACCESS_KEY_ID``,
        ``..._SECRET_ACCESS_KEY`` and ``..._REGION`` default as in this class.
        """
        env = os.environ if environ is None else environ
        url = env.get("SEEDBED_S3_BACKEND_URL")
        if not url:
            return None
        return cls(
            endpoint_url=url,
            bucket=env.get("SEEDBED_S3_BACKEND_BUCKET") or cls.bucket,
            prefix=env.get("SEEDBED_S3_BACKEND_PREFIX", cls.prefix),
            access_key_id=env.get("SEEDBED_S3_BACKEND_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("SEEDBED_S3_BACKEND_SECRET_ACCESS_KEY") or None,
            region=env.get("SEEDBED_S3_BACKEND_REGION") or cls.region,
        )


class _RemoteReader(BlobReader):
    def __init__(self, store: S3BlobStore, blob_id: str) -> None:
        self._store = store
        self._blob_id = blob_id

    def read(self, start: int, end: int) -> bytes:
        return self._store.read(self._blob_id, start, end)


class S3BlobStore(BlobStore):
    """Blobs as objects ``<prefix><id>`` in one bucket of an external S3-compatible service."""

    delete_delay = 60.0
    orphan_grace = 3600.0

    def __init__(self, config: RemoteConfig) -> None:
        import boto3
        from botocore.config import Config

        self.config = config
        self.client = boto3.client(
            "s3",
            endpoint_url=config.endpoint_url,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            region_name=config.region,
            config=Config(
                max_pool_connections=64,
                retries={"max_attempts": 5, "mode": "standard"},
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.config.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            try:
                self.client.create_bucket(Bucket=self.config.bucket)
            except ClientError as create_exc:
                code = create_exc.response.get("Error", {}).get("Code")
                if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def _key(self, blob_id: str) -> str:
        return self.config.prefix + blob_id

    def write(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        body = b"".join(chunks)
        self.client.put_object(Bucket=self.config.bucket, Key=self._key(blob_id), Body=body)

    def open(self, blob_id: str) -> BlobReader:
        return _RemoteReader(self, blob_id)

    def read(self, blob_id: str, start: int, end: int) -> bytes:
        from botocore.exceptions import ClientError

        if end <= start:
            return b""
        try:
            response = self.client.get_object(
                Bucket=self.config.bucket, Key=self._key(blob_id), Range=f"bytes={start}-{end - 1}"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobMissing(blob_id) from exc
            raise
        return response["Body"].read()

    def copy(self, source_id: str, target_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.copy_object(
                Bucket=self.config.bucket,
                Key=self._key(target_id),
                CopySource={"Bucket": self.config.bucket, "Key": self._key(source_id)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobMissing(source_id) from exc
            raise

    def delete(self, blob_ids: Iterable[str]) -> None:
        batch: list[dict[str, Any]] = []
        for blob_id in blob_ids:
            batch.append({"Key": self._key(blob_id)})
            if len(batch) == 1000:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, batch: list[dict[str, Any]]) -> None:
        if len(batch) == 1:  # some S3-compatible stores lack DeleteObjects; one key needs none
            self.client.delete_object(Bucket=self.config.bucket, Key=batch[0]["Key"])
            return
        self.client.delete_objects(Bucket=self.config.bucket, Delete={"Objects": batch, "Quiet": True})

    def list_blobs(self) -> Iterator[tuple[str, float]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.config.bucket, Prefix=self.config.prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.config.prefix) :], item["LastModified"].timestamp()

    def close(self) -> None:
        self.client.close()


def open_blob_store(data_dir: Path, remote: RemoteConfig | None = None) -> BlobStore:
    """The external store when one is configured, else files in the data dir."""
    if remote is not None:
        return S3BlobStore(remote)
    return LocalBlobStore(data_dir / "s3" / "blobs")


# --- deferred deletion and the orphan sweep --------------------------------------------------


class Reaper:
    """Deletes replaced blobs off the request path, after the store's ``delete_delay``.

    Deletions are gathered for :data:`GATHER_SECONDS` between rounds, so a steady stream of
    overwrites wakes this thread a few times a second rather than once per request (each wake
    takes the interpreter lock from the requests). A crash loses the queue; the blobs it held are
    then orphans, which the next start sweeps.
    """

    GATHER_SECONDS = 0.05

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._pending: list[tuple[float, list[str]]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._idle = False  # waiting for work, with nothing pending: the next schedule wakes it
        self._thread = threading.Thread(target=self._run, name="seedbed-s3-reaper", daemon=True)
        self._thread.start()

    def schedule(self, blob_ids: Iterable[str]) -> None:
        ids = [blob_id for blob_id in blob_ids if blob_id]
        if not ids:
            return
        with self._cond:
            self._pending.append((time.monotonic() + self._store.delete_delay, ids))
            if self._idle:
                self._idle = False
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._idle = True
                    self._cond.wait()
                self._idle = False
                if self._closed and not self._pending:
                    return
                now = time.monotonic()
                due = [ids for when, ids in self._pending if when <= now or self._closed]
                self._pending = [(when, ids) for when, ids in self._pending if when > now and not self._closed]
                if not due:
                    # Later schedules fall due later still: only close() needs to interrupt this.
                    wait = min(when for when, _ in self._pending) - now
                    self._cond.wait(timeout=max(wait, 0.01))
                    continue
            for ids in due:
                try:
                    self._store.delete(ids)
                except Exception:  # the sweep at the next start will retry
                    log.warning("could not delete %d replaced blob(s)", len(ids), exc_info=True)
            with self._cond:
                if not self._closed:
                    self._cond.wait(timeout=self.GATHER_SECONDS)

    def close(self, flush: bool = True) -> None:
        with self._cond:
            if not flush or self._store.delete_delay > 0:
                self._pending = []  # left for the next start's sweep
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)


def sweep_orphans(store: BlobStore, referenced: Iterable[str] | Any, started: float) -> int:
    """Delete blobs no metadata refers to, created before ``started`` minus the store's grace.

    ``referenced`` is called *after* listing the store (it may be a callable returning the ids),
    so a blob committed while the sweep runs is never taken for an orphan.
    """
    cutoff = started - store.orphan_grace
    removed = store.sweep_temporary(cutoff)
    candidates = [blob_id for blob_id, created in store.list_blobs() if created < cutoff]
    if not candidates:
        return removed
    live = set(referenced() if callable(referenced) else referenced)
    orphans = [blob_id for blob_id in candidates if blob_id not in live]
    if orphans:
        store.delete(orphans)
        log.info("removed %d orphaned S3 blob(s)", len(orphans))
    return removed + len(orphans)
