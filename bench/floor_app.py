"""The HTTP floor: a bare ASGI app on the same server stack as Seedbed, answering fixed bytes."""

BODY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn><UserId>000000000000"
    b"</UserId><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata>"
    b"<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)
HEADERS = [(b"content-type", b"text/xml"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
