"""The vectorised form decoder against the standard library."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from gpserver.api.params import parse_form, unquote_plus


@settings(max_examples=25)
@given(st.text(min_size=0, max_size=600))
def test_unquote_matches_stdlib(text: str) -> None:
    encoded = quote_plus(text).encode()
    assert unquote_plus(encoded) == text


@settings(max_examples=25)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=400), max_size=6))
def test_parse_form_matches_parse_qsl(data: dict[str, str]) -> None:
    body = urlencode(data).encode()
    assert parse_form(body) == dict(parse_qsl(body.decode(), keep_blank_values=True))


def test_long_values_with_escapes_and_plus() -> None:
    value = '{"a": "x+y %41 100%"}' * 50  # '+' and a literal '%' that is not an escape
    assert unquote_plus(quote_plus(value).encode()) == value
    assert unquote_plus(b"%zz" * 100 + b"%41") == "%zz" * 100 + "A"


def test_repeated_keys_become_lists() -> None:
    assert parse_form(b"p=a&p=b&q=1&&r=") == {"p": ["a", "b"], "q": "1", "r": ""}
