"""PACS URLs, credentials and queries: parsed without a server, refused with the URL or field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.ingest.pacs.address import credentials, is_pacs_url, parse
from radcurate.engine.ingest.pacs.remote_import import parse_query


def test_dicomweb_and_dimse_urls() -> None:
    web = parse("dicomweb+https://pacs.example.org/dicom-web/")
    assert (web.protocol, web.base_url, web.port, web.url) == (
        "dicomweb",
        "https://pacs.example.org/dicom-web",
        443,
        "dicomweb+https://pacs.example.org/dicom-web",
    )
    assert parse("dicomweb+http://127.0.0.1:8042/dicom-web").base_url == "http://127.0.0.1:8042/dicom-web"
    dimse = parse("dimse://PACS@10.0.0.5?calling=CURATE")
    assert (dimse.protocol, dimse.called_aet, dimse.calling_aet, dimse.port) == ("dimse", "PACS", "CURATE", 104)
    assert is_pacs_url("dimse://A@h:11112") and not is_pacs_url("/data/dicom") and not is_pacs_url("https://x")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://pacs/dicom-web", "not a PACS URL"),
        ("dicomweb+https://user:secret@pacs/dicom-web", "credentials do not belong in the URL"),
        ("dimse://10.0.0.5:104", "names the PACS' AE title"),
        ("dimse://THIS_AE_TITLE_IS_TOO_LONG@host:104", "not a DICOM AE title"),
        ("dicomweb+https:///dicom-web", "names no host"),
    ],
)
def test_unusable_urls_are_refused_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as err:
        parse(url)
    assert "secret" not in str(err.value)


def test_credentials_from_the_environment_then_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = parse("dicomweb+https://pacs.example.org/dicom-web")
    for name in ("RADCURATE_PACS_TOKEN", "RADCURATE_PACS_USER", "RADCURATE_PACS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine pacs.example.org login svc password from-netrc\n")
    netrc.chmod(0o600)
    found = credentials(address, netrc_file=str(netrc))
    assert (found.user, found.password, found.source) == ("svc", "from-netrc", f"netrc {netrc}")
    assert "from-netrc" not in repr(found)  # never printed by accident
    monkeypatch.setenv("RADCURATE_PACS_USER", "alice")
    with pytest.raises(InputError, match="RADCURATE_PACS_PASSWORD is not"):
        credentials(address)
    monkeypatch.setenv("RADCURATE_PACS_PASSWORD", "pw")
    assert credentials(address).user == "alice"
    monkeypatch.setenv("RADCURATE_PACS_TOKEN", "tok")
    assert credentials(address).token == "tok"
    assert credentials(parse("dimse://PACS@h:104")).user is None  # DIMSE: AE titles, no passwords


def test_query_filters_are_dicom_keywords() -> None:
    assert parse_query("ModalitiesInStudy=CT&StudyDate=20240101-20240131") == (
        ("ModalitiesInStudy", "CT"),
        ("StudyDate", "20240101-20240131"),
    )
    with pytest.raises(InputError, match="not a DICOM keyword"):
        parse_query("Modality_In_Study=CT")
    with pytest.raises(InputError, match="KEYWORD=VALUE"):
        parse_query("StudyDate")
