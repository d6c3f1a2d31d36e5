"""The yardsticks of the service benchmark: the smallest endpoints that verify a card with the
reference decoder (``claim169``), as a naive FastAPI app and as bare ASGI. Run by uvicorn in
``test_bench_service.py``; the public key comes from ``BENCH_PUBLIC_KEY`` (hex)."""

from __future__ import annotations

import json
import os
from typing import Any

import claim169
from fastapi import FastAPI
from pydantic import BaseModel

PUBLIC = bytes.fromhex(os.environ.get("BENCH_PUBLIC_KEY", "00" * 32))

app = FastAPI()


class Body(BaseModel):
    payload: str


@app.post("/verify")
async def verify(body: Body) -> dict[str, Any]:
    result = claim169.decode_with_ed25519(body.payload, PUBLIC, validate_timestamps=False)
    claims = result.claim169
    return {"valid": result.is_verified(), "id": claims.id, "full_name": claims.full_name,
            "date_of_birth": claims.date_of_birth, "address": claims.address}


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Bare ASGI: the same work without a framework."""
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    payload = json.loads(b"".join(chunks))["payload"]
    result = claim169.decode_with_ed25519(payload, PUBLIC, validate_timestamps=False)
    claims = result.claim169
    body = json.dumps({"valid": result.is_verified(), "id": claims.id,
                       "full_name": claims.full_name, "date_of_birth": claims.date_of_birth,
                       "address": claims.address}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
