from fastapi import APIRouter, Depends

from steward.errors import PermissionDenied
from steward.governance import Registry
from steward.web._auth import registry, require
from steward.web._inputs import Decision, In, NamePath, Role, Text, VersionPath
from steward.web._openapi import errors

router = APIRouter(tags=["sign-offs"])


class SignOffIn(In):
    role: Role
    decision: Decision
    comment: Text() = ""


def sign(reg: Registry, who: dict, name: str, version: str, role: str, decision: str, comment: str) -> dict:
    """A sign-off in a role the caller holds, recorded under the caller's own name."""
    if role not in who["roles"]:
        raise PermissionDenied(f"{who['name']} cannot sign off as {role}: their roles are {', '.join(who['roles'])}")
    return reg.sign_off(name, version, role=role, person=who["name"], decision=decision, comment=comment,
                        actor=who["name"])


@router.post("/api/models/{name}/versions/{version}/signoffs", status_code=201, responses=errors(409))
def sign_off(name: NamePath, version: VersionPath, body: SignOffIn, reg: Registry = Depends(registry),
             who=Depends(require("sign_off"))) -> dict:
    return sign(reg, who, name, version, body.role, body.decision, body.comment)
