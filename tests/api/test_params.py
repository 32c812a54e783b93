"""The vectorised form decoder against the standard library."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus, unquote_to_bytes, urlencode

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


# Values short and long (the C path, and the split and numpy paths it hands over to) built from the
# bytes that could confuse them: '%' and '=' (the quoted-printable sign), hex digits of both cases,
# CR/LF (soft line breaks to it), '+', NUL, UTF-8.
_TRICKY_PARTS = st.sampled_from(
    [
        b"%",
        b"=",
        b"%3D",
        b"%7b",
        b"%7B",
        b"%2",
        b"%zz",
        b"\r",
        b"\n",
        b"%0D%0A",
        b" ",
        b"\t",
        b"+",
        b"\0",
        b"a",
        b"F",
        b"%C3%A9",
        b"\xc3",
    ]
)
_CLEAN_PARTS = st.sampled_from(
    [b"%3D", b"%7b", b"%7B", b"=", b"+", b" ", b"\t", b"%0D%0A", b"a", b"F", b"%C3%A9", b"%00"]
)
_VALUES = (
    st.lists(_TRICKY_PARTS, min_size=1, max_size=60)
    | st.lists(_CLEAN_PARTS, min_size=1, max_size=60)
    | st.lists(_TRICKY_PARTS, min_size=700, max_size=1500)
    | st.lists(_CLEAN_PARTS, min_size=700, max_size=1500)
)


@settings(max_examples=40)
@given(_VALUES)
def test_values_match_stdlib_on_tricky_bytes(parts: list[bytes]) -> None:
    raw = b"".join(parts)
    assert unquote_plus(raw) == unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def test_long_values_on_each_path() -> None:
    """A clean value (C decoder), then values it hands to numpy: an invalid escape, a line break."""
    value = '{"x": 1.5, "s": "a=b é"}' * 200
    for encoded in (quote_plus(value), quote_plus(value) + "%", quote_plus(value) + "%%41", quote_plus(value) + "\n"):
        raw = encoded.encode()
        assert unquote_plus(raw) == unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def test_repeated_keys_become_lists() -> None:
    assert parse_form(b"p=a&p=b&q=1&&r=") == {"p": ["a", "b"], "q": "1", "r": ""}
