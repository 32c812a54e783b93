"""Serialisation of answers (``gpserver.api.render``)."""

from __future__ import annotations

import numpy as np
import orjson

from gpserver.api.render import dumps


def test_dumps_writes_numpy_fragments_and_non_string_keys_as_json_would() -> None:
    plain = {"a": np.array([1.5, 2.0]), "b": orjson.Fragment(b'{"c":1}')}
    assert dumps(plain) == b'{"a":[1.5,2.0],"b":{"c":1}}'
    # A user tool's dict with integer keys: keys become strings (the strict first try fails).
    assert dumps({"v": {1: "x", 2: np.array([3])}}) == b'{"v":{"1":"x","2":[3]}}'
    assert orjson.loads(dumps({"v": {1: "x"}}, "pjson")) == {"v": {"1": "x"}}
    assert dumps({"v": {1: "x"}}, "pjson").count(b"\n") == 4
