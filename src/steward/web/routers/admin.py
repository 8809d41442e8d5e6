from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from steward.governance import ROLES, Registry
from steward.web._auth import registry, require
from steward.web._inputs import ID_MAX, NAME_PATTERN, In, KeyIdPath, Role, Sha256, Text, TextQuery
from steward.web._openapi import errors

router = APIRouter(tags=["keys and trail"])


class KeyIn(In):
    name: Text(200, min_length=1, description="the person or service the key belongs to")
    roles: list[Role] = Field(min_length=1, max_length=len(ROLES))
    deployments: list[Annotated[str, Field(pattern=NAME_PATTERN, max_length=200)]] | None = Field(
        default=None, max_length=1000, description="the deployments a caller key may call (role caller only)")


@router.post("/api/keys", status_code=201, responses=errors(409))
def create_key(body: KeyIn, reg: Registry = Depends(registry), who=Depends(require("keys"))) -> dict:
    """A new API key; the response is the only time the key is shown."""
    return reg.create_key(body.name, body.roles, actor=who["name"], deployments=body.deployments)


@router.get("/api/keys")
def keys(reg: Registry = Depends(registry), _=Depends(require("keys"))) -> list[dict]:
    """Every principal with its roles and keys (id, created, revoked); never a key's secret or hash."""
    return reg.keys()


@router.delete("/api/keys/{key_id}", status_code=204)
def revoke_key(key_id: KeyIdPath, reg: Registry = Depends(registry), who=Depends(require("keys"))) -> None:
    reg.revoke_key(key_id, actor=who["name"])


@router.get("/api/principals")
def principals(reg: Registry = Depends(registry), _=Depends(require("keys"))) -> list[dict]:
    return reg.principals()


@router.get("/api/trail")
def trail(subject: TextQuery(300, "only entries about this subject, e.g. model:credit-scoring") = None,
          limit: Annotated[int, Query(ge=1, le=1000, description="newest entries first, at most this many")] = 200,
          reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.trail(subject=subject, limit=limit)


@router.get("/api/trail/verify")
def verify(reg: Registry = Depends(registry), _=Depends(require("trail_verify"))) -> dict:
    return reg.verify_trail().to_dict()


class CheckpointIn(In):
    """A checkpoint as ``GET /api/trail/checkpoint`` (or ``steward trail checkpoint``) gave it."""

    seq: int = Field(ge=0, le=ID_MAX)
    hash: Sha256
    created_at: Text(40)
    signature: Sha256


@router.post("/api/trail/verify")
def verify_against(body: CheckpointIn, reg: Registry = Depends(registry), _=Depends(require("trail_verify"))) -> dict:
    """Verify the trail, and that it still holds the entry a checkpoint kept elsewhere saw."""
    return reg.verify_trail(body.model_dump()).to_dict()


@router.get("/api/trail/checkpoint")
def checkpoint(reg: Registry = Depends(registry), _=Depends(require("trail_verify"))) -> dict:
    """The trail's head signed with the server's trail key; keep it away from the server."""
    return reg.trail_checkpoint()
