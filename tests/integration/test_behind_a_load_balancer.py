"""Several app servers behind a load balancer: django-axes must count failed logins by the
client's address, not the balancer's (DJANGO_TRUSTED_PROXY_COUNT, assessment.auth.client_ip),
and its counts live in the shared database, so every server sees them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from assessment.auth import client_ip

BALANCER = "10.0.0.2"


def address(count: int, settings, **meta: str) -> str | None:
    settings.TRUSTED_PROXY_COUNT = count
    return client_ip(RequestFactory().get("/", **meta))


def test_without_proxies_the_header_is_not_trusted(settings) -> None:
    assert address(0, settings, REMOTE_ADDR=BALANCER,
                   HTTP_X_FORWARDED_FOR="198.51.100.7") == BALANCER


def test_behind_one_proxy_the_client_is_the_last_forwarded_address(settings) -> None:
    # The client wrote the first entry itself (forged); the balancer appended the real one.
    meta = {"REMOTE_ADDR": BALANCER, "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7"}
    assert address(1, settings, **meta) == "198.51.100.7"
    assert address(2, settings, **meta) == "1.2.3.4"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "198.51.100.7"])
def test_a_request_that_bypassed_the_proxies_counts_by_its_own_address(
        settings, forwarded: str) -> None:
    assert address(2 if forwarded else 1, settings, REMOTE_ADDR=BALANCER,
                   HTTP_X_FORWARDED_FOR=forwarded) == BALANCER


def via_balancer(client_address: str) -> Client:
    return Client(REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=client_address)


def fail_five_times(client: Client) -> None:
    for username in ["ann", "ben", "cat", "dan", "eve"]:
        client.post("/accounts/login/", {"username": username, "password": "Winter2026!"})


def test_one_clients_failures_do_not_lock_out_the_clinic_behind_the_balancer(
        alice: User, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    alice.set_password("right-password-123")
    alice.save()
    guesser = via_balancer("198.51.100.7")
    fail_five_times(guesser)
    right = {"username": "alice", "password": "right-password-123"}
    assert guesser.post("/accounts/login/", right).status_code == 429
    # Another client through the same balancer (any app server: the count is in the database).
    assert via_balancer("198.51.100.8").post("/accounts/login/", right).status_code == 302


def test_without_the_setting_the_balancer_address_is_locked_for_everyone(
        alice: User, settings) -> None:
    """Why the setting matters: what a deployment behind a balancer would see without it."""
    settings.TRUSTED_PROXY_COUNT = 0
    alice.set_password("right-password-123")
    alice.save()
    fail_five_times(via_balancer("198.51.100.7"))
    right = {"username": "alice", "password": "right-password-123"}
    assert via_balancer("198.51.100.8").post("/accounts/login/", right).status_code == 429
