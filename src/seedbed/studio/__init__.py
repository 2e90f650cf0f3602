"""Seedbed Studio: the web UI, the local stand-in for SageMaker Studio's Projects pages.

Served by the API server itself under ``/_seedbed/studio/<domain-id>/`` (where
``CreatePresignedDomainUrl`` and the domain's ``Url`` point): server-rendered HTML (Jinja2), one
stylesheet and a little vanilla JavaScript, all shipped in this package. No build step, no CDN.

Signing in
    ``aws sagemaker create-presigned-domain-url --domain-id d-... --user-profile-name alice``
    returns ``.../_seedbed/studio/d-.../auth?token=...``. The token is signed, expires
    (``ExpiresInSeconds``, 5 minutes by default) and works once. It records the principal that
    called CreatePresignedDomainUrl; opening it starts a session that acts as that principal for
    every call (through :meth:`Backend.call`, so IAM and the audit trail apply exactly as to the
    user's own API calls, and a denied call shows AWS's ``AccessDenied`` code and message). The
    session is a signed cookie (HttpOnly, SameSite=Lax, Secure behind https, scoped to the
    domain's path) lasting ``SessionExpirationDurationInSeconds`` (12 hours by default), never
    longer than the principal's own temporary credentials. Every form carries a per-session CSRF
    token and every POST is refused without it (and from another ``Origin``). "Sign out" drops the
    cookie; sessions are not stored server-side, so a copied cookie stays valid until it expires.
    Without a session every page explains how to get a login URL.

Pages (relative to ``/_seedbed/studio/<domain-id>/``)
    ``projects``                 ListProjects with status badges; refreshes itself while any
                                 project is in progress.
    ``templates``                the domain's S3 template catalog as the user sees it, and how to
                                 read it as JSON (``catalog.json`` with the session, or
                                 ``GET /_seedbed/catalog?domain=d-...`` signed with SigV4).
    ``projects/new``             template picker, then a form built from the template's
                                 parameters (types, defaults, allowed values, min/max, groups and
                                 labels from ``AWS::CloudFormation::Interface``), a launch role
                                 (suggested from the roles the user may list and pass to
                                 CloudFormation, or typed), tags; submits CreateProject.
    ``projects/<name>``          status and reason, parameters, outputs (clone URLs of repositories
                                 shown as ``git clone`` lines), tags, the stack's events; Update
                                 (``/update``: the deployed template's parameters, UpdateProject)
                                 and Delete (``/delete``: a confirmation page, DeleteProject).
    ``pipelines``                ListPipelines (``?project=`` keeps those tagged
                                 ``sagemaker:project-name``), ``pipelines/<name>`` its executions,
                                 ``pipelines/<name>/execution?arn=`` the steps with status, failure
                                 reasons and what each step made.
    ``models``                   model package groups (``?project=`` as above), ``models/<group>``
                                 versions with approval status, metrics read from the reports in
                                 ModelMetrics, and Approve / Reject buttons (UpdateModelPackage).
    ``endpoints``                ListEndpoints, ``endpoints/<name>`` status and production variants.

Every failed call is shown as its AWS error code and message (a missing operation as "not
available yet"), never as a stack trace.
"""

from __future__ import annotations

from typing import Any


async def handle(backend: Any, request: Any) -> Any:
    """Answer a request under ``/_seedbed/studio/`` (called by :mod:`seedbed.server.app`)."""
    from seedbed.studio import web

    return await web.handle(backend, request)
