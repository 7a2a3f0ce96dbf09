"""PACS URLs and credentials: ``dicomweb+https://host/dicom-web`` and ``dimse://AET@host:port``.

A URL names a PACS and nothing secret: credentials in a URL would end up in shell history, job
parameters and logs, so they are refused. DICOMweb credentials come, in this order, from
``<PREFIX>_TOKEN`` (a bearer token), ``<PREFIX>_USER`` + ``<PREFIX>_PASSWORD`` (HTTP basic), or a
netrc-style file (``[pacs] netrc``, else ``$NETRC``, else ``~/.netrc``) by host; ``PREFIX`` is
``[pacs] credentials_env`` (default ``RADCURATE_PACS``). DIMSE has no passwords: a PACS trusts
an AE title at a host, which is what hospital IT registers.
"""

from __future__ import annotations

import netrc
import os
import urllib.parse
from pathlib import Path

from radcurate.engine.contracts.pacs import PacsAddress, PacsCredentials
from radcurate.engine.errors import InputError

DIMSE_DEFAULT_PORT = 104
SCHEMES = ("dicomweb+http", "dicomweb+https", "dimse")


def is_pacs_url(text: str) -> bool:
    """True for ``dicomweb+http(s)://`` and ``dimse://`` (what ``radcurate import`` routes to a PACS)."""
    return str(text).split("://", 1)[0].lower() in SCHEMES and "://" in str(text)


def _aet(value: str, url: str, what: str) -> str:
    if not value or len(value) > 16 or not all(32 <= ord(c) < 127 and c != "\\" for c in value) or value.isspace():
        raise InputError(f"{what} {value!r} is not a DICOM AE title (1-16 printable ASCII characters)", field=url)
    return value


def parse(url: str) -> PacsAddress:
    """Parse a PACS URL; raises InputError naming the URL when it is not one radcurate can use."""
    text = str(url).strip()
    parts = urllib.parse.urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InputError(
            "not a PACS URL; expected dicomweb+https://host/dicom-web, dicomweb+http://host:port/dicom-web "
            "or dimse://AET@host:port",
            field=text,
        )
    if parts.password is not None or (scheme != "dimse" and parts.username):
        raise InputError(
            "credentials do not belong in the URL (it is shown in logs and job records); set "
            "RADCURATE_PACS_USER and RADCURATE_PACS_PASSWORD (or RADCURATE_PACS_TOKEN) or use a netrc file",
            field="URL",
        )
    host = parts.hostname or ""
    if not host:
        raise InputError("the PACS URL names no host", field=text)
    try:
        port = parts.port
    except ValueError:
        raise InputError("the port is not a number between 0 and 65535", field=text) from None
    if scheme == "dimse":
        called = urllib.parse.unquote(parts.username or "")
        if not called:
            raise InputError("a DIMSE URL names the PACS' AE title: dimse://AET@host:port", field=text)
        query = dict(urllib.parse.parse_qsl(parts.query))
        calling = query.get("calling")
        port = port or DIMSE_DEFAULT_PORT
        shown = f"dimse://{called}@{host}:{port}"
        return PacsAddress(
            protocol="dimse",
            url=shown,
            host=host,
            port=port,
            called_aet=_aet(called, text, "called AE title"),
            calling_aet=_aet(calling, text, "calling AE title") if calling else None,
        )
    http = scheme.split("+", 1)[1]
    port = port or (443 if http == "https" else 80)
    netloc = host if ":" not in host else f"[{host}]"
    netloc += f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    base = urllib.parse.urlunsplit((http, netloc, path, parts.query, ""))
    return PacsAddress(protocol="dicomweb", url=f"{scheme}://{netloc}{path}", host=host, port=port, base_url=base)


def credentials(address: PacsAddress, *, env_prefix: str = "RADCURATE_PACS", netrc_file: str = "") -> PacsCredentials:
    """DICOMweb credentials for ``address`` from the environment or a netrc file (none is fine)."""
    if address.protocol != "dicomweb":
        return PacsCredentials()
    token = os.environ.get(f"{env_prefix}_TOKEN")
    if token:
        return PacsCredentials(token=token, source=f"environment ({env_prefix}_TOKEN)")
    user, password = os.environ.get(f"{env_prefix}_USER"), os.environ.get(f"{env_prefix}_PASSWORD")
    if user:
        if password is None:
            raise InputError(
                f"{env_prefix}_USER is set but {env_prefix}_PASSWORD is not", field=f"{env_prefix}_PASSWORD"
            )
        return PacsCredentials(user=user, password=password, source=f"environment ({env_prefix}_USER)")
    candidates = [netrc_file] if netrc_file else [os.environ.get("NETRC", ""), str(Path.home() / ".netrc")]
    for candidate in candidates:
        if not candidate:
            continue
        file = Path(candidate).expanduser()
        if not file.is_file():
            if netrc_file:
                raise InputError("the netrc file named in [pacs] netrc does not exist", path=file, field="pacs.netrc")
            continue
        try:
            entry = netrc.netrc(str(file)).authenticators(address.host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise InputError(f"cannot read the netrc file ({exc})", path=file, field="pacs.netrc") from None
        if entry:
            login, _account, secret = entry
            return PacsCredentials(user=login or None, password=secret, source=f"netrc {file}")
    return PacsCredentials()
