"""Authentication backend that refuses the demo accounts when DEBUG is off.

The demo accounts' passwords are published, and a database made by ``make run`` (DEBUG on) can
later be served production-style (DEBUG off). Refusing to *create* them with DEBUG off is not
enough, so the refusal happens at authentication time as well.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from assessment.demo_accounts import DEMO_USERNAMES

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

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
