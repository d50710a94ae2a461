"""A faster constructor for the engine's frozen dataclasses.

``@dataclass(frozen=True)`` makes its ``__init__`` store each field through
``object.__setattr__`` (the class's own ``__setattr__`` refuses), about 0.1 µs per field: the
findings, lesion and lab readings of one assessment cost some 8 µs of a 170 µs assessment that
way. ``quick_init`` gives the class an ``__init__`` with the same signature that writes the
instance's ``__dict__`` directly, which is what ``object.__setattr__`` ends up doing for a class
without slots. Everything else the dataclass generated stays: equality, hashing, ``repr`` and the
``FrozenInstanceError`` on assignment. ``tests/unit/test_frozen.py`` checks that instances built
both ways are equal field for field.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace a frozen dataclass's ``__init__`` (plain fields, optional constant defaults)."""
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    frozen = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    if not frozen or hasattr(cls, "__slots__") or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick_init is for frozen dataclasses with a __dict__ "
                        "and no __post_init__")
    namespace: dict[str, object] = {}
    signature = []
    for field in params:
        if (not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING
                or field.name in ("self", "d")):
            raise TypeError(f"{cls.__name__}.{field.name}: quick_init takes plain fields only")
        if field.default is dataclasses.MISSING:
            signature.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            signature.append(f"{field.name}=_default_{field.name}")
    body = "".join(f"    d[{field.name!r}] = {field.name}\n" for field in params)
    # The same technique dataclasses uses to build its methods: source text for the signature.
    exec(f"def __init__(self, {', '.join(signature)}):\n    d = self.__dict__\n{body}",
         namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls
