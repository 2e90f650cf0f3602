"""The S3 provider: every implemented S3 operation, assembled from its parts.

- :mod:`~seedbed.services.s3.bucket_ops`: buckets and their configuration documents;
- :mod:`~seedbed.services.s3.object_ops`: objects and listings;
- :mod:`~seedbed.services.s3.multipart`: multipart uploads;
- :mod:`~seedbed.services.s3.common`: what they share (storage, access checks, the write path).

Bytes live in a blob store (:mod:`~seedbed.services.s3.blobs`: local files by default, any
S3-compatible service with ``SEEDBED_S3_BACKEND_URL``), sealed with per-blob data keys
(:mod:`~seedbed.services.s3.encryption`); metadata lives in the database
(:mod:`~seedbed.services.s3.store`). CORS preflights and response headers are answered by
:mod:`~seedbed.services.s3.cors`, which the server core calls for S3 requests.
"""

from __future__ import annotations

from seedbed.services.s3.bucket_ops import BucketOperations
from seedbed.services.s3.multipart import MultipartOperations


class S3Provider(BucketOperations, MultipartOperations):
    service = "s3"
