"""Import aiogram with its pydantic models built when first used, not all at import.

aiogram declares every Telegram type with ``defer_build=True``, but ``aiogram/types/__init__.py``
then calls ``model_rebuild(_types_namespace=...)`` on all of them (about 440 models) to
resolve the names their annotations import only under ``TYPE_CHECKING``. That loop is most
of aiogram's import time: 2.6 of 3.8-5.0 s on our 2-core machine (aiogram issues #1876 and
#1891), and ``dreambot run`` cannot take a Telegram update before it ends.

Here that loop only collects the namespace it is given; the names are then put into each
aiogram type and method module (where the ``TYPE_CHECKING`` imports would have put them),
so pydantic's own deferred build resolves them when a model is first validated. A model
is the same either way: tests/bot/test_lazy_aiogram.py compares the JSON schemas of Update
(whose definitions hold nearly every type) and of every Bot API method, built both ways.
What a process first receives (an Update with a Message) builds in about 0.15 s.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

# The aiogram modules whose annotations name types imported only under TYPE_CHECKING.
_RESOLVED_IN = ("aiogram.types", "aiogram.methods")


def import_aiogram() -> None:
    """Import aiogram, leaving its models to be built on first use.

    Does nothing when aiogram is already imported (its models are then built already).
    """
    if "aiogram" in sys.modules:
        return
    namespace: dict[str, Any] = {}
    eager = BaseModel.__dict__["model_rebuild"]

    def collect(cls: type[BaseModel], **options: Any) -> bool | None:
        given = options.get("_types_namespace")
        if given is not None and cls.__module__.startswith(_RESOLVED_IN):
            namespace.update(given)
            return None
        return eager.__func__(cls, **options)  # type: ignore[no-any-return]

    BaseModel.model_rebuild = classmethod(collect)  # type: ignore[assignment,method-assign,arg-type]
    try:
        import aiogram  # noqa: F401  # imports aiogram.types and aiogram.methods
    finally:
        BaseModel.model_rebuild = eager  # type: ignore[method-assign]
    for name, module in list(sys.modules.items()):
        if module is not None and name.startswith(_RESOLVED_IN):
            for key, value in namespace.items():
                vars(module).setdefault(key, value)
