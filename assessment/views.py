from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .engine import CONTRACT_VERSION, RULESET_VERSION


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "assessment/home.html", {
        "contract_version": CONTRACT_VERSION, "ruleset_version": RULESET_VERSION,
    })
