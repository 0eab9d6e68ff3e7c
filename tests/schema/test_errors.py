"""Every error riskmine raises on purpose shares one base, with a stable code and the HTTP status it maps to."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import riskmine
from riskmine.api.errors import ApiError
from riskmine.schema.errors import RiskmineError


def _error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(riskmine.__path__, "riskmine."):
        if info.name.endswith(("__main__", ".run")):
            continue  # entry points that act on import
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_error_class_derives_from_the_one_base_with_a_code_and_a_status() -> None:
    classes = {k: v for k, v in _error_classes().items() if not k.rsplit(".", 1)[1].startswith("_")}
    assert len(classes) > 50
    strays = sorted(k for k, v in classes.items() if not issubclass(v, RiskmineError))
    assert strays == []
    for name, cls in classes.items():
        assert isinstance(cls, type) and issubclass(cls, RiskmineError)
        if cls not in (RiskmineError, ApiError):  # the base; ApiError is given its code per instance
            assert cls.code != RiskmineError.code, f"{name} has no code of its own"
        assert 400 <= cls.status < 600, name


def test_bad_input_errors_are_still_value_errors() -> None:
    from riskmine.feeds.values import FieldValueError
    from riskmine.review.errors import ReviewError
    from riskmine.text.tsv import LexiconError

    for cls in (FieldValueError, ReviewError, LexiconError):
        assert issubclass(cls, ValueError)
