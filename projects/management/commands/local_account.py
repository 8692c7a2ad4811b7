"""``manage.py local_account``: a Studio login for this machine, made once, and how to use it.

The first call creates the user (``coflux`` by default) with a random password, which it keeps
in ``<COFLUX_DATA_DIR>/studio-password`` (readable by its owner only) so that later calls can
print it again. If someone changed the password since, it says so instead of printing a stale one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

PASSWORD_FILE = "studio-password"


def password_file() -> Path:
    return Path(settings.DATA_DIR) / PASSWORD_FILE


def ensure_local_account(username: str) -> tuple[str | None, bool]:
    """The account's password if it is still the one kept here (else ``None``), and whether
    the account was created now."""
    users = get_user_model()
    kept = password_file()
    user = users.objects.filter(username=username).first()
    if user is None:
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        kept.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(password)
        return password, True
    password = kept.read_text().strip() if kept.is_file() else ""
    return (password if password and user.check_password(password) else None), False


class Command(BaseCommand):
    help = "Create (once) a local Studio account and print how to log in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="coflux", help="Default: coflux.")
        parser.add_argument(
            "--url", default="http://127.0.0.1:7777/", help="Studio's address, to print."
        )

    def handle(self, *args: Any, username: str, url: str, **options: Any) -> None:
        password, created = ensure_local_account(username)
        self.stdout.write(f"Studio: {url}")
        if password is not None:
            made = "created" if created else "kept"
            self.stdout.write(
                f"  log in as {username!r} with password {password!r} ({made} in {password_file()})"
            )
        else:
            self.stdout.write(
                f"  log in as {username!r}; its password was changed since it was created "
                f"(set a new one with: python manage.py changepassword {username})"
            )
