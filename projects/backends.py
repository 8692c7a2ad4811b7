"""Logging people in (Studio and the admin), with failed attempts counted per client address
(``projects.throttle``): past the limit, every attempt from that address is refused for a
while, and the login form says so."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from projects import throttle
from projects.errors import DomainError


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        client = (request.META.get("REMOTE_ADDR") or "") if request is not None else ""
        try:
            throttle.check(client)
        except DomainError as error:
            # Shown by the login form as its error (Django's authenticate lets it through).
            raise ValidationError(error.message, code="throttled") from None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.failed(client)
        return user
