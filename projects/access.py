"""Finding the project an API request names, or failing with a ``DomainError``."""

from __future__ import annotations

from projects.errors import Code, DomainError
from projects.models import Project

__all__ = ["project_by_name"]


def project_by_name(name: str) -> Project:
    try:
        return Project.objects.get(name=name)
    except Project.DoesNotExist:
        raise DomainError(f"No project named {name!r}.", code=Code.PROJECT_NOT_FOUND) from None
