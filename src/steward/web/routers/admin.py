from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from steward.governance import Registry
from steward.web._auth import registry, require

router = APIRouter(tags=["keys and trail"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    roles: list[str]


@router.post("/api/keys", status_code=201)
def create_key(body: KeyIn, reg: Registry = Depends(registry), who=Depends(require("keys"))) -> dict:
    """A new API key; the response is the only time the key is shown."""
    return reg.create_key(body.name, body.roles, actor=who["name"])


@router.delete("/api/keys/{key_id}", status_code=204)
def revoke_key(key_id: str, reg: Registry = Depends(registry), who=Depends(require("keys"))) -> None:
    reg.revoke_key(key_id, actor=who["name"])


@router.get("/api/principals")
def principals(reg: Registry = Depends(registry), _=Depends(require("keys"))) -> list[dict]:
    return reg.principals()


@router.get("/api/trail")
def trail(subject: str | None = None, limit: int = 200, reg: Registry = Depends(registry),
          _=Depends(require("read"))) -> list[dict]:
    return reg.trail(subject=subject, limit=min(max(limit, 1), 1000))


@router.get("/api/trail/verify")
def verify(reg: Registry = Depends(registry), _=Depends(require("trail_verify"))) -> dict:
    return reg.verify_trail().to_dict()
