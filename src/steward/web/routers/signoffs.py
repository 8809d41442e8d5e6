from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from steward.errors import PermissionDenied
from steward.governance import Registry
from steward.web._auth import registry, require

router = APIRouter(tags=["sign-offs"])


class SignOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    decision: str
    comment: str = ""


def sign(reg: Registry, who: dict, name: str, version: str, role: str, decision: str, comment: str) -> dict:
    """A sign-off in a role the caller holds, recorded under the caller's own name."""
    if role not in who["roles"]:
        raise PermissionDenied(f"{who['name']} cannot sign off as {role}: their roles are {', '.join(who['roles'])}")
    return reg.sign_off(name, version, role=role, person=who["name"], decision=decision, comment=comment,
                        actor=who["name"])


@router.post("/api/models/{name}/versions/{version}/signoffs", status_code=201)
def sign_off(name: str, version: str, body: SignOffIn, reg: Registry = Depends(registry),
             who=Depends(require("sign_off"))) -> dict:
    return sign(reg, who, name, version, body.role, body.decision, body.comment)
