"""The assessment API's JSON encoder (orjson, assessment/jsonio.response_bytes) writes what
Django's JsonResponse wrote: the same values in the same key order, non-ASCII text as UTF-8,
only without the spaces after "," and ":"."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client

from assessment.engine import InvalidInput, assess
from assessment.engine.samples import random_inputs
from assessment.jsonio import response_bytes
from tests.builders import load_case

CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]


def as_json_response(data) -> str:
    """The text JsonResponse(data, json_dumps_params={"ensure_ascii": False}) sent."""
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)


def same_document(encoded: bytes, data) -> bool:
    """Equal values and key order: the text once re-spaced as json.dumps spaces it."""
    return json.dumps(json.loads(encoded), ensure_ascii=False) == as_json_response(data)


def test_the_api_answers_the_engines_output_in_its_key_order(alice) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post("/api/v1/assess", data=json.dumps(CASE_C),
                           content_type="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert same_document(response.content, assess(CASE_C))


def test_generated_engine_outputs_encode_as_before() -> None:
    checked = 0
    for data in random_inputs(300):
        try:
            output = assess(data)
        except InvalidInput:
            continue
        assert same_document(response_bytes(output), output)
        checked += 1
    assert checked > 100


def test_text_dates_decimals_and_odd_values_encode_as_django_did() -> None:
    data = {"é": "naïve – “quoted”", "when": datetime.datetime(2026, 1, 15, 10, 30, 0, 123456,
                                                                tzinfo=datetime.UTC),
            "day": datetime.date(2026, 1, 15), "dose": Decimal("1.50"), "tiny": 1e-05,
            "big": 1e16, "nested": [{"b": 1, "a": [True, None]}]}
    encoded = response_bytes(data)
    assert "naïve".encode() in encoded  # UTF-8, not \\u escapes
    assert same_document(encoded, data)
    assert json.loads(encoded)["when"] == "2026-01-15T10:30:00.123Z"


def test_what_orjson_refuses_goes_through_json_dumps() -> None:
    for data in ({"huge": 2 ** 70}, {1: "integer key"}):
        assert response_bytes(data) == as_json_response(data).encode()
