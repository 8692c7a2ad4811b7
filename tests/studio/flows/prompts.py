"""Workflows that ask people questions, for Studio's inputs pages."""

from __future__ import annotations

import pydantic

import coflux as cf


class Release(pydantic.BaseModel):
    version: str
    replicas: int = 1
    approved: bool = False


release = cf.Prompt(
    """
    Release **{service}** to production?

    {{changes}}
    """,
    Release,
    title="Release",
    actions=("Ship it", "Hold"),
)


@cf.workflow()
def ships(service: str, changes: str) -> list:
    answer = release.with_initial(Release(version="1.0", replicas=2)).submit(
        service=service, changes=changes
    )
    try:
        value = answer.result()
    except cf.InputDismissed:
        return ["held"]
    return [value.version, value.replicas, value.approved]


@cf.workflow()
def approves(service: str) -> str:
    try:
        cf.Prompt("Restart {service}?", title="Restart")(service=service)
    except cf.InputDismissed:
        return "dismissed"
    return "approved"
