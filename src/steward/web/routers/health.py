from fastapi import APIRouter, Depends

from steward.governance import Registry
from steward.web._auth import registry

router = APIRouter(tags=["health"])


@router.get("/api/health")
def health(reg: Registry = Depends(registry)) -> dict:
    """Liveness and the schema revision; the only route without an API key."""
    from steward import __version__

    return {"ok": True, "version": __version__, "schema_revision": reg.revision, "policy": reg.policy.to_dict()}
