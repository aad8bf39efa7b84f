"""The ceiling for bench/service.py: a FastAPI app whose POST /v1/vurderinger reads the body and
answers 201 with a constant JSON body of a real decision's size (the file named by
CEILING_BODY). Started by bench/service.py with the same uvicorn and the same number of
workers as the service, so the ratio measures what visitator adds to its framework."""
from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

BODY = Path(os.environ["CEILING_BODY"]).read_bytes()
app = FastAPI()


@app.post("/v1/vurderinger")
async def constant(request: Request) -> Response:
    await request.body()
    return Response(BODY, status_code=201, media_type="application/json")


@app.get("/readyz")
async def ready() -> Response:
    return Response(b"{}", media_type="application/json")
