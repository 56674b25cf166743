"""Protocol versions: amendments after screening started are recorded and listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from screening_builders import PROTOCOL_YAML, count_rows, open_screening, small_project

from metareview.errors import ProtocolError
from metareview.screening.amendments import (
    amendments,
    protocol_versions,
    replace_protocol,
    sync_protocol,
)


def test_first_version_is_not_an_amendment(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        versions = protocol_versions(s.project)
        assert len(versions) == 1 and not versions[0].amendment
        # an edit before any decision is a new version, not an amendment
        path = s.project.protocol_path
        assert path is not None
        path.write_text(PROTOCOL_YAML.replace("level: 95", "level: 90"), encoding="utf-8")
        assert sync_protocol(s.project) is not None
        assert amendments(s.project) == []


def test_edit_after_screening_started_is_an_amendment(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="A")
        path = s.project.protocol_path
        assert path is not None
        path.write_text(PROTOCOL_YAML.replace("method: REML", "method: PM"), encoding="utf-8")
    # the next command that opens the project notices and records it
    with open_screening(folder, actor="lead") as s:
        [amended] = amendments(s.project)
        assert amended.seen_by == "lead"
        assert amended.changes == [{"field": "model.method", "old": "REML", "new": "PM"}]
        assert s.protocol is not None and s.protocol.model.method == "PM"
        assert [e.action for e in s.project.audit(action="protocol-amend")] == ["protocol-amend"]
        # opening again records nothing new
        assert sync_protocol(s.project) is None


def test_replace_protocol_validates_first(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="A")
    before = count_rows(folder, "protocol_versions")
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROTOCOL_YAML.replace("better: lower, primary", "better: less, primary"))
    with open_screening(folder) as s:
        with pytest.raises(ProtocolError, match=r"line \d+, field 'outcomes\[0\].better'"):
            replace_protocol(s.project, bad)
        assert s.project.protocol_path is not None
        assert s.project.protocol_path.read_text(encoding="utf-8") == PROTOCOL_YAML
    assert count_rows(folder, "protocol_versions") == before
    good = tmp_path / "good.yaml"
    good.write_text(PROTOCOL_YAML.replace("level: 95", "level: 99"))
    with open_screening(folder) as s:
        version = replace_protocol(s.project, good, note="journal asked for 99% intervals")
        assert version is not None and version.amendment
        assert version.note == "journal asked for 99% intervals"
        assert version.changes == [{"field": "model.level", "old": 95.0, "new": 99.0}]


def test_invalid_edited_protocol_stops_commands(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        path = s.project.protocol_path
        assert path is not None
        path.write_text(PROTOCOL_YAML.replace("  test: z\n", "  test: zz\n"), encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"protocol.yaml, line 29, field 'model.test'"):
        open_screening(folder)
