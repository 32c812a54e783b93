"""The one outbound HTTP client: inputs given by URL are fetched here, and only here.

Protections against server-side request forgery (each request, each redirect hop):

* only ``http`` and ``https``;
* the host is resolved once and every address checked: private, loopback, link-local (cloud
  metadata ``169.254.169.254``), CGNAT, multicast, unspecified and other non-public addresses are
  refused unless the host or address is listed in ``GPSERVER_INPUT_URL_ALLOWLIST``;
* the connection goes to the checked address (pinned: the URL's host becomes the IP, the ``Host``
  header and TLS SNI/certificate check keep the name), so DNS rebinding cannot swap it;
* redirects are followed by hand (at most 5), each target checked like the first URL;
* time (``GPSERVER_FETCH_TIMEOUT``) and size (``GPSERVER_FETCH_MAX_BYTES``) are capped;
* tokens are sent but never logged or put in messages (:func:`redact`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from gpserver.settings import FetchSettings

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A URL could not be read; the message is safe to show (no token in it)."""


def redact(url: str | httpx.URL) -> str:
    """The URL without its ``token`` query parameter (any case), for messages and logs."""
    parsed = httpx.URL(str(url))
    kept = [(k, v) for k, v in parsed.params.multi_items() if k.lower() != "token"]
    return str(parsed.copy_with(params=kept)) if kept else str(parsed.copy_with(query=None))


def is_public(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (an IPv4-mapped IPv6 address counts as its IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks exempted from the block on non-public addresses."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """From ``GPSERVER_INPUT_URL_ALLOWLIST`` entries: host names, IP addresses or CIDRs."""
        hosts, networks = set(), []
        for entry in entries:
            text = entry.strip().strip("[]").lower()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text)
        return cls(frozenset(hosts), tuple(networks))

    def exempts(self, host: str, ip: IPAddress) -> bool:
        """True when the host name or the address is listed."""
        if host.lower() in self.hosts:
            return True
        plain = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
        return any(plain in net or ip in net for net in self.networks)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of a host (an IP literal is its own address); resolution happens once here."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"the host '{host}' cannot be resolved") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


@dataclass(frozen=True)
class Guard:
    """Checks a URL and names the one address to connect to."""

    allow: AllowList = field(default_factory=AllowList)

    def check(self, url: httpx.URL) -> IPAddress:
        """The address to pin, or FetchError when the scheme or any address is not allowed."""
        if url.scheme not in ("http", "https"):
            raise FetchError(f"only http and https URLs are allowed, not '{url.scheme}'")
        host = url.host
        if not host:
            raise FetchError("the URL has no host")
        addresses = resolve(host, url.port or (443 if url.scheme == "https" else 80))
        if not addresses:
            raise FetchError(f"the host '{host}' has no address")
        for ip in addresses:
            if not is_public(ip) and not self.allow.exempts(host, ip):
                raise FetchError(
                    f"the host '{host}' resolves to a non-public address ({ip}); "
                    "list it in GPSERVER_INPUT_URL_ALLOWLIST to allow it"
                )
        return addresses[0]


class PinnedTransport(httpx.BaseTransport):
    """Checks every request with the guard and connects to the checked address."""

    def __init__(self, guard: Guard, inner: httpx.BaseTransport) -> None:
        self.guard = guard
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Rewrite the URL's host to the pinned IP; ``Host`` and SNI keep the name."""
        ip = self.guard.check(request.url)
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions["sni_hostname"] = request.url.host
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=str(ip)),
            headers=request.headers,  # carries Host: <name> from the original URL
            stream=request.stream,
            extensions=extensions,
        )
        return self.inner.handle_request(pinned)

    def close(self) -> None:
        """Close the pooled connections."""
        self.inner.close()


def make_client(settings: FetchSettings) -> httpx.Client:
    """The outbound client: pinned, guarded, no proxies from the environment, no auto-redirects."""
    guard = Guard(AllowList.parse(settings.input_url_allowlist))
    return httpx.Client(
        transport=PinnedTransport(guard, httpx.HTTPTransport(retries=0)),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(settings.fetch_timeout),
        headers={"User-Agent": "gpserver", "Accept": "application/json, */*"},
    )


@dataclass
class Budget:
    """Bytes still allowed for one input (shared by its pages)."""

    remaining: int


class Fetcher:
    """Reads URLs for inputs: one response, JSON, a download, or a paged feature query."""

    def __init__(self, settings: FetchSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)

    def close(self) -> None:
        """Release connections."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, params: dict[str, str] | None = None, *, budget: Budget | None = None) -> bytes:
        """The body of a GET, redirects followed and re-checked; capped in time and size."""
        budget = budget or Budget(self.settings.fetch_max_bytes)
        target = httpx.URL(url, params=params) if params else httpx.URL(url)
        deadline = time.monotonic() + self.settings.fetch_timeout
        for _ in range(MAX_REDIRECTS + 1):
            log.info("fetching %s", redact(target))
            try:
                with self.client.stream("GET", target) as resp:
                    if resp.status_code in _REDIRECTS and "location" in resp.headers:
                        target = target.join(resp.headers["location"])
                        continue
                    if resp.status_code >= 400:
                        raise FetchError(f"the server answered HTTP {resp.status_code} {resp.reason_phrase}".rstrip())
                    return self._read(resp, budget, deadline)
            except httpx.TimeoutException:
                raise FetchError(f"no answer within {self.settings.fetch_timeout:g} seconds") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"the request failed ({type(exc).__name__})") from None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _read(self, resp: httpx.Response, budget: Budget, deadline: float) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > budget.remaining:
            raise FetchError(f"the response is larger than the limit of {self.settings.fetch_max_bytes} bytes")
        chunks = []
        for chunk in resp.iter_bytes():
            budget.remaining -= len(chunk)
            if budget.remaining < 0:
                raise FetchError(f"the response is larger than the limit of {self.settings.fetch_max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"the download took longer than {self.settings.fetch_timeout:g} seconds")
            chunks.append(chunk)
        return b"".join(chunks)

    def get_json(self, url: str, params: dict[str, str] | None = None, *, budget: Budget | None = None) -> Any:
        """A JSON body; an ArcGIS error body (``{"error": ...}``) becomes a FetchError."""
        body = self.get(url, params, budget=budget)
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchError("the response is not JSON") from None
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            raise FetchError(_remote_error(value["error"]))
        return value

    def download(self, url: str, dest: Path) -> Path:
        """Save a file (size-capped) and return its path."""
        dest.write_bytes(self.get(url))
        return dest

    def feature_set(
        self, url: str, *, where: str | None = None, time_extent: str | None = None, token: str | None = None
    ) -> Any:
        """A feature set from a layer URL, a ``query`` URL (paged while ``exceededTransferLimit``) or a JSON file."""
        parsed = httpx.URL(url)
        params = {k: v for k, v in parsed.params.items()}
        url_token = next((params.pop(k) for k in list(params) if k.lower() == "token"), None)
        token = token or url_token
        base = str(parsed.copy_with(query=None))
        path = parsed.path.rstrip("/")
        if re.search(r"/(FeatureServer|MapServer)/\d+$", path, re.IGNORECASE):
            base = str(parsed.copy_with(path=path + "/query", query=None))
            params = {"where": where or "1=1", "outFields": "*", "returnGeometry": "true"}
        elif not path.lower().endswith("/query"):
            if token:
                params["token"] = token
            return self.get_json(base, params or None)
        elif where:
            params["where"] = f"({params['where']}) AND ({where})" if params.get("where") else where
        params["f"] = "json"
        if time_extent:
            params["time"] = time_extent
        if token:
            params["token"] = token
        return self._pages(base, params)

    def _pages(self, base: str, params: dict[str, str]) -> Any:
        budget = Budget(self.settings.fetch_max_bytes)
        start = int(params.get("resultOffset", "0") or 0)
        first: dict[str, Any] | None = None
        features: list[Any] = []
        for _ in range(self.settings.fetch_max_pages):
            page = self.get_json(base, params, budget=budget)
            if not isinstance(page, dict) or not isinstance(page.get("features"), list):
                raise FetchError("the response is not a feature set (no 'features' array)")
            first = first or page
            features.extend(page["features"])
            if not page.get("exceededTransferLimit") or not page["features"]:
                first = {**first, "features": features}
                first.pop("exceededTransferLimit", None)
                return first
            params = {**params, "resultOffset": str(start + len(features))}
            params.setdefault("resultRecordCount", str(len(page["features"])))
        raise FetchError(f"the query needs more than {self.settings.fetch_max_pages} pages (GPSERVER_FETCH_MAX_PAGES)")


def _remote_error(error: dict[str, Any]) -> str:
    code = error.get("code")
    message = str(error.get("message") or "")[:200]
    if code == 498:
        return "the service refused the token (498 Invalid Token)"
    if code == 499:
        return "the service requires a token (499 Token Required)"
    if code == 403:
        return "the service denied access (403)"
    return f"the service answered with error {code}: {message}".rstrip(": ")
