"""Authentication backend that refuses the demo accounts when DEBUG is off.

The demo accounts' passwords are published, and a database made by ``make run`` (DEBUG on) can
later be served production-style (DEBUG off). Refusing to *create* them with DEBUG off is not
enough, so the refusal happens at authentication time as well.

Also here: the client address that django-axes counts failed logins by (``client_ip``).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from assessment.demo_accounts import DEMO_USERNAMES

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("assessment.auth")


def is_refused_demo_account(user: AbstractBaseUser) -> bool:
    """True when ``user`` is a demo account and DEBUG is off; logs a warning naming it.

    Also meant for paths that authenticate without the backend (the API token), so every door
    refuses the same accounts for the same reason.
    """
    if settings.DEBUG:
        return False
    username = user.get_username()
    if username not in DEMO_USERNAMES:
        return False
    # Warn, not info: a demo account seen with DEBUG off means a development database is being
    # served in production, which an operator must fix (``manage.py remove_demo_accounts``).
    logger.warning("Refused demo account %r: demo accounts work only with DEBUG on "
                   "(run `manage.py remove_demo_accounts`).", username)
    return True


class DemoAwareModelBackend(ModelBackend):
    """ModelBackend that also refuses the demo accounts when DEBUG is off.

    ModelBackend calls ``user_can_authenticate`` both in ``authenticate()`` (after the password
    matched) and in ``get_user()`` (on every request of a session), so one check covers new
    logins and sessions opened before DEBUG was turned off.
    """

    def user_can_authenticate(self, user: AbstractBaseUser) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not is_refused_demo_account(user)


def client_ip(request: HttpRequest) -> str | None:
    """The address django-axes counts failed logins by (settings.AXES_CLIENT_IP_CALLABLE).

    Behind a load balancer every request comes from the balancer's address, so one person's
    typos would lock the whole clinic out. With ``TRUSTED_PROXY_COUNT`` = N proxies in front
    (each appends the address it received from to X-Forwarded-For), the client is the N-th
    address from the right; anything further left was written by the client and could be
    forged. No proxies (the default), or a request that did not pass through them: REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count < 1:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if part.strip()]
    if len(forwarded) < count:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return remote
