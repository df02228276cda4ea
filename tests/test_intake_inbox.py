"""Discovering submissions: a file that cannot be read is a finding, never a stopped run."""

from __future__ import annotations

import atlas.intake.inbox as inbox


def test_unreadable_file_is_left_out_with_a_finding(tmp_path, monkeypatch):
    delivery = tmp_path / "KHM" / "2026-03-01"
    delivery.mkdir(parents=True)
    (delivery / "KHM_GSAS_chapter.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (delivery / "KHM_country_profile.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    real = inbox.sha256_file

    def flaky(path, *args):
        if path.name.startswith("KHM_country_profile"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args)

    monkeypatch.setattr(inbox, "sha256_file", flaky)
    subs, findings = inbox.discover(tmp_path, {"KHM": "Cambodia"})
    assert [s.deliverable for s in subs] == ["book_chapter"]
    assert [f.check_id for f in findings] == ["inbox.unreadable_file"]
    assert "Permission denied" in findings[0].message
    # discovery's per-file hashes travel with the submission, so the ledger need not read the files again
    assert dict(subs[0].file_sha256) == {delivery / "KHM_GSAS_chapter.pdf": real(delivery / "KHM_GSAS_chapter.pdf")}
