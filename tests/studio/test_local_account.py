"""``manage.py local_account``: a Studio login made once, printed every time it still works."""

from __future__ import annotations

import io
import stat

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(**options: str) -> str:
    out = io.StringIO()
    call_command("local_account", stdout=out, **options)
    return out.getvalue()


def test_it_creates_the_account_once_and_prints_how_to_log_in(settings, tmp_path, client) -> None:
    settings.DATA_DIR = tmp_path
    first = run(url="http://127.0.0.1:9999/")
    assert first.startswith("Studio: http://127.0.0.1:9999/\n")
    password = (tmp_path / "studio-password").read_text()
    assert f"log in as 'coflux' with password '{password}'" in first
    assert stat.S_IMODE((tmp_path / "studio-password").stat().st_mode) == 0o600
    assert client.login(username="coflux", password=password)

    again = run()
    assert f"password '{password}' (kept in" in again
    assert User.objects.filter(username="coflux").count() == 1


def test_a_changed_password_is_not_printed(settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    run()
    user = User.objects.get(username="coflux")
    user.set_password("something else")
    user.save()
    output = run()
    assert "password was changed since" in output
    assert (tmp_path / "studio-password").read_text() not in output
