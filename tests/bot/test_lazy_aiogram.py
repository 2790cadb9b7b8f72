"""aiogram imported with its models built on first use (bot/lazy_aiogram.py) gives the same
models as aiogram's own eager import: compared in two fresh processes, since a process
imports aiogram once."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# Prints, for one way of importing aiogram: whether Update was built by the import, then the
# JSON schema of Update (whose definitions hold nearly every Telegram type) and of every
# Bot API method, each built by first use as a running bot builds it.
PROBE = """
import json, sys, warnings
warnings.simplefilter("ignore")  # a few defaults are not JSON; both ways say the same
if sys.argv[1] == "lazy":
    from bot.lazy_aiogram import import_aiogram
    import_aiogram()
else:
    import aiogram
from aiogram import methods, types
from pydantic import BaseModel

def schemas():
    built_by_import = types.Update.__pydantic_complete__
    update = types.Update.model_validate(
        {"update_id": 1, "message": {"message_id": 2, "date": 0, "text": "hi",
         "chat": {"id": 3, "type": "private"},
         "from": {"id": 3, "is_bot": False, "first_name": "A"}}}
    )
    out = {"built_by_import": built_by_import, "text": update.message.text, "schemas": {}}
    for name in ["Update", *methods.__all__]:
        model = getattr(types, name, None) or getattr(methods, name)
        if isinstance(model, type) and issubclass(model, BaseModel):
            try:
                out["schemas"][name] = model.model_json_schema()
            except Exception as exc:  # the same models fail both ways (an InputFile field)
                out["schemas"][name] = type(exc).__name__
    return out

print(json.dumps(schemas(), sort_keys=True))
"""


def probe(way: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, way], capture_output=True, text=True, timeout=300, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_lazily_built_aiogram_models_are_aiogram_s_own() -> None:
    with ThreadPoolExecutor(2) as pool:
        eager, lazy = pool.map(probe, ["eager", "lazy"])

    assert (eager["built_by_import"], lazy["built_by_import"]) == (True, False)
    assert lazy["text"] == eager["text"] == "hi"
    assert isinstance(eager["schemas"], dict)
    assert len(eager["schemas"]) > 150
    assert lazy["schemas"] == eager["schemas"]
