"""The serialization format of ``manage.py backup``: Django's JSON, but with every datetime and
time written to the microsecond. Django's own encoder cuts them to milliseconds (ECMA-262 style),
so a plain ``dumpdata`` + ``loaddata`` round trip silently changes clinical timestamps and the
history's order of events. Reading needs no change: ``parse_datetime`` takes all six digits."""

from __future__ import annotations

import datetime
from typing import Any

from django.core import serializers
from django.core.serializers import json as django_json

FORMAT = "backup_json"


class ExactJSONEncoder(django_json.DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def serialize(self, queryset: Any, **options: Any) -> Any:
        # ``cls`` is the documented way to give the JSON serializer another encoder.
        options.setdefault("cls", ExactJSONEncoder)
        return super().serialize(queryset, **options)


Deserializer = django_json.Deserializer


def register() -> None:
    """Register FORMAT at runtime, so settings need no SERIALIZATION_MODULES entry."""
    if FORMAT not in serializers.get_serializer_formats():
        serializers.register_serializer(FORMAT, __name__)
