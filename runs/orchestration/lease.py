"""Which process runs a project's orchestrator (ARCHITECTURE must 2).

A lease row per project names its holder and when the claim lapses. A process claims the
project with one conditional UPDATE, so two processes racing for it cannot both win; the holder
renews the lease inside every tick's transaction, so a process that lost it rolls back instead of
writing beside the new holder.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from projects.models import OrchestratorLease

HOSTNAME = socket.gethostname()


def new_holder_id() -> str:
    return f"{HOSTNAME}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_dead(holder: str) -> bool:
    """A holder on this host whose process is gone (a restarted server) need not be waited for."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOSTNAME or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(project_id: int, holder: str) -> bool:
    """Take or renew the project's lease; True if ``holder`` now holds it."""
    now = timezone.now()
    expires = now + timedelta(seconds=settings.COFLUX_LEASE_SECONDS)
    lease, _ = OrchestratorLease.objects.get_or_create(project_id=project_id)
    claimable = Q(holder=holder) | Q(holder="") | Q(expires_at__lt=now)
    if lease.holder and lease.holder != holder and _holder_is_dead(lease.holder):
        claimable |= Q(holder=lease.holder)
    updated = (
        OrchestratorLease.objects.filter(project_id=project_id)
        .filter(claimable)
        .update(holder=holder, expires_at=expires)
    )
    return updated == 1


def release(project_id: int, holder: str) -> None:
    OrchestratorLease.objects.filter(project_id=project_id, holder=holder).update(holder="")
