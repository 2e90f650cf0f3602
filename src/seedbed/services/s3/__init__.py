"""Amazon S3: buckets, objects, versions, multipart uploads, CORS, encryption at rest."""
