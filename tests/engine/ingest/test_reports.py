"""Report import: CSV (RFC 4180), JSONL, .txt folders; bad rows quarantined, the rest goes on."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.ingest.reports import MAX_REPORT_BYTES, ReportFile
from radcurate.engine.project import Project


def _write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("study_id", "report_text")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_quoted_newlines_escaped_quotes_and_unicode_survive_exactly(project: Project, tmp_path: Path) -> None:
    tricky = 'FINDINGS:\r\nA "small" nodule — 4 mm, “spiculated”.\nIMPRESSION: Lung nodule; 37 °C, Müller.'
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"\xef\xbb\xbfstudy_id,report_text\r\n"  # BOM, CRLF rows
        + b'case_1,"'
        + tricky.replace('"', '""').encode()
        + b'"\r\n'
        + b"case_2,plain text\r\n"
    )
    summary = project.import_paths([], reports=[path])
    assert (summary.studies, summary.reports, summary.quarantined) == (2, 2, [])
    assert project.report("case_1").text == tricky
    assert project.report("case_2").text == "plain text"


def test_ctrate_real_csv_imports_600_reports_with_accessionno_column(project: Project, shared_data: Path) -> None:
    path = shared_data / "ctrate-gold-18" / "reports_labels.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        expected = {row["AccessionNo"]: row["report_text"] for row in csv.DictReader(fh)}
    summary = project.import_paths([], reports=[path])
    assert summary.reports == 600 and summary.studies == 600 and not summary.quarantined
    assert project.study_ids()[:2] == ["train_1", "train_3"]  # file order is import order
    with_quotes = next(k for k, v in expected.items() if '"' in v)
    assert project.report(with_quotes).text == expected[with_quotes]
    non_ascii = next(k for k, v in expected.items() if "•" in v or "ü" in v)
    assert project.report(non_ascii).text == expected[non_ascii]
    again = project.import_paths([], reports=[path])
    assert (again.reports, again.studies, again.unchanged) == (0, 0, 600)


def test_explicit_columns_and_missing_column_error_names_file_and_column(project: Project, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", [["a1", "x", "Effusion."]], header=("Accession", "other", "Findings"))
    with pytest.raises(InputError) as err:
        project.import_paths([], reports=[path])
    assert err.value.path == str(path) and "Accession" in err.value.reason  # lists the columns found
    with pytest.raises(InputError) as err:
        project.import_paths([], reports=[path], id_column="Accession", text_column="Impression")
    assert err.value.field == "Impression" and "--text-column" in err.value.reason
    assert project.status()["studies"] == 0  # a wrong command writes nothing
    summary = project.import_paths([], reports=[path], id_column="accession", text_column="FINDINGS")
    assert summary.reports == 1 and project.report("a1").text == "Effusion."


def test_empty_huge_duplicate_and_non_utf8_rows_are_quarantined_rest_goes_on(project: Project, tmp_path: Path) -> None:
    huge = "x" * (MAX_REPORT_BYTES + 1)
    path = tmp_path / "r.csv"
    lines = [
        b"study_id,report_text",
        b"ok_1,Normal chest.",
        b'empty_1,"   "',
        b"huge_1," + huge.encode(),
        b"ok_1,Second text for the same study.",
        b'latin_1,"Pleural effusion, r\xe9sum\xe9."',
        b"ok_2,Cardiomegaly.",
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = project.import_paths([], reports=[path])
    assert project.study_ids() == ["ok_1", "ok_2"]
    assert project.report("ok_1").text == "Normal chest."  # the first of a duplicated id wins
    reasons = {q.reason.split(":")[0]: q for q in summary.quarantined}
    assert set(reasons) == {"row 2 (line 3)", "row 3 (line 4)", "row 4 (line 5)", "row 5 (line 6)"}
    assert all(q.path == str(path) for q in summary.quarantined)
    assert "empty report" in reasons["row 2 (line 3)"].reason and reasons["row 2 (line 3)"].field == "report_text"
    assert "1.0 MB" in reasons["row 3 (line 4)"].reason
    assert "duplicate study id 'ok_1' (first at row 1 (line 2))" in reasons["row 4 (line 5)"].reason
    assert reasons["row 4 (line 5)"].field == "study_id"
    assert "not valid UTF-8 (byte 0xe9)" in reasons["row 5 (line 6)"].reason
    assert [q.stage for q in project.quarantine()] == ["reports"] * 4


def test_utf16_file_is_refused_as_a_whole_naming_the_file(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("study_id,report_text\na,b\n".encode("utf-16"))
    with pytest.raises(InputError) as err:
        project.import_paths([], reports=[path])
    assert err.value.path == str(path) and "UTF-16" in err.value.reason and "line 1" in err.value.reason


def test_jsonl_with_same_keys_bad_lines_quarantined(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": 101, "report": "Emphysema.\nNo effusion."}),
                "{not json",
                json.dumps({"id": 102}),
                json.dumps({"id": 103, "report": "Nodule “4 mm”."}, ensure_ascii=False),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    summary = project.import_paths([], reports=[path])
    assert project.study_ids() == ["101", "103"]
    assert project.report("101").text == "Emphysema.\nNo effusion."
    assert project.report("103").text == "Nodule “4 mm”."
    assert [(q.field, q.reason.split(":")[0]) for q in summary.quarantined] == [
        ("json", "line 2"),
        ("report", "line 3"),
    ]


def test_txt_folder_study_id_is_file_stem_and_bad_files_quarantined(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "case_0001.txt").write_text("Bilateral pleural effusion.\n", encoding="utf-8")
    (folder / "case_0002.txt").write_bytes(b"Line one.\nCardiom\xe9galie.\n")  # Latin-1
    (folder / "case_0003.txt").write_text("\n\n", encoding="utf-8")
    (folder / "notes.md").write_text("not a report", encoding="utf-8")
    summary = project.import_paths([], reports=[folder])
    assert project.study_ids() == ["case_0001"]
    assert project.report("case_0001").text == "Bilateral pleural effusion.\n"
    by_file = {Path(q.path).name: q for q in summary.quarantined}
    assert set(by_file) == {"case_0002.txt", "case_0003.txt"}
    assert by_file["case_0002.txt"].field == "encoding" and "line 2" in by_file["case_0002.txt"].reason
    assert "empty report" in by_file["case_0003.txt"].reason


def test_changed_text_replaces_and_same_text_is_unchanged(project: Project, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", [["s1", "Old text."]])
    project.import_paths([], reports=[path])
    _write_csv(path, [["s1", "New text."]])
    summary = project.import_paths([], reports=[path])
    assert (summary.reports, summary.studies, summary.unchanged) == (1, 0, 0)
    assert project.report("s1").text == "New text."
    assert project.import_paths([], reports=[path]).unchanged == 1


def test_report_file_reader_reports_row_and_line_for_multiline_records(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", [["a", "one\ntwo\nthree"], ["b", ""]])
    items = list(ReportFile(path).read())
    assert items[0].where == "row 1 (line 2)"
    assert items[1].reason.startswith("row 2 (line 5):")  # the 3-line record moved the line count on


def test_cli_reports_only_import_json_shape(tmp_path: Path) -> None:
    def radcurate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True)

    assert radcurate("init", str(tmp_path / "p"), "--preset", "demo").returncode == 0
    path = _write_csv(tmp_path / "r.csv", [["s1", "Effusion."], ["s2", ""]])
    out = radcurate("import", str(tmp_path / "p"), "--reports", str(path), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["imported"] == {"studies": 1, "series": 0, "reports": 1} and doc["unchanged"] == 0
    assert doc["quarantined"] == [
        {"path": str(path), "field": "report_text", "reason": "row 2 (line 3): empty report for study 's2'"}
    ]
    bad = radcurate("import", str(tmp_path / "p"), "--reports", str(path), "--text-column", "nope")
    assert bad.returncode == 1 and "nope" in bad.stderr and str(path) in bad.stderr
    listed = radcurate("quarantine", str(tmp_path / "p"), "--json")
    assert [set(r) >= {"path", "field", "reason", "stage", "time"} for r in json.loads(listed.stdout)] == [True]
