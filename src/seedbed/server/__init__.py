"""The ASGI server: routing, SigV4 authentication, request context, dispatch and audit."""
