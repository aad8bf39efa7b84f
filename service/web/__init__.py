"""Server-rendered Danish web pages (Jinja2, one stylesheet, no JavaScript): `router` holds every page,
split by role into login, visitation, revision, regler, the rule editor (editor) and the rule pages (regelsider), on common, view, form and charts."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from service.web import editor, login, regelsider, regler, revision, visitation
from service.web.common import HERE

router = APIRouter(include_in_schema=False)
STYLESHEETS = ("web.css", "brev.css", "indsigt.css", "editor.css")


@router.get("/static/{name}")
def stylesheet(name: str) -> Response:
    """The stylesheets (public, cacheable; nothing else is served from static/)."""
    if name not in STYLESHEETS:
        return Response("Ikke fundet", status_code=404, media_type="text/plain; charset=utf-8")
    return Response((HERE / "static" / name).read_bytes(), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


# The editor and the rule pages before regler: its /regler/{sha256} would otherwise take /regler/soeg.
for module in (login, visitation, revision, editor, regelsider, regler):
    router.include_router(module.router)

__all__ = ["router"]
