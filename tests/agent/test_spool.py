"""The spool keeps batches across a desk outage, bounded, and gives them back in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from weibao.delivery.spool import Spool
from weibao.observation import Observation, Sample

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def make(i: int, padding: int = 0) -> Observation:
    return Observation(
        device="d",
        source="agent",
        time=START + timedelta(minutes=i),
        samples=[Sample(name="up", value=1)],
        meta={"pad": "x" * padding} if padding else {},
    )


def minutes(spool: Spool) -> list[int]:
    """The spool gives back the JSON-ready dicts; the desk's model reads them."""
    return [Observation.model_validate(batch[0]).time.minute for _, batch in spool.pending()]


def test_batches_come_back_oldest_first_and_survive_a_new_spool_object(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for i in range(3):
        spool.put([make(i)])
    reopened = Spool(tmp_path)
    assert minutes(reopened) == [0, 1, 2]
    assert reopened.batches == 3 and reopened.bytes == spool.bytes > 0
    assert not list(tmp_path.glob("*.tmp"))
    reopened.put([make(3)])
    assert minutes(reopened) == [0, 1, 2, 3]  # numbering goes on after the last file


def test_full_spool_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_batches=2)
    for i in range(5):
        spool.put([make(i)])
    assert spool.dropped == 3
    assert minutes(spool) == [3, 4]


def test_bounded_in_bytes_too(tmp_path: Path) -> None:
    one = len(make(0, padding=1000).model_dump_json())
    spool = Spool(tmp_path, max_bytes=one * 3 + 100)
    for i in range(6):
        spool.put([make(i, padding=1000)])
    assert spool.batches == 3 and spool.dropped == 3
    assert spool.bytes <= spool.max_bytes
    assert sum(p.stat().st_size for p in tmp_path.glob("*.json")) == spool.bytes
    assert minutes(spool) == [3, 4, 5]


def test_a_batch_larger_than_the_whole_spool_is_dropped_not_stored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    assert spool.put([make(0, padding=500)]) is None
    assert spool.dropped == 1 and spool.batches == 0


def test_done_removes_and_set_aside_keeps_the_batch_with_its_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first, second = spool.put([make(0)]), spool.put([make(1)])
    assert first is not None and second is not None
    spool.done(first)
    kept = spool.set_aside(second, "HTTP 422: samples.0.name")
    assert spool.batches == 0 and spool.bytes == 0 and spool.rejected == 1
    assert kept.parent == tmp_path / "rejected" and kept.exists()
    assert kept.with_suffix(".reason").read_text() == "HTTP 422: samples.0.name\n"
    assert Spool(tmp_path).batches == 0  # rejected/ is not replayed


def test_rejected_folder_is_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_rejected=2)
    for i in range(4):
        path = spool.put([make(i)])
        assert path is not None
        spool.set_aside(path, "bad")
    assert len(list((tmp_path / "rejected").glob("*.json"))) == 2
    assert len(list((tmp_path / "rejected").glob("*.reason"))) == 2
    assert spool.rejected == 4


def test_the_agents_dicts_and_pydantic_observations_are_spooled_alike(tmp_path: Path) -> None:
    observation = make(0)
    spool = Spool(tmp_path)
    as_model = spool.put([observation])
    as_dict = spool.put([observation.model_dump(mode="json")])
    assert as_model is not None and as_dict is not None
    assert as_model.read_bytes() == as_dict.read_bytes()
    [(_, first), (_, second)] = list(spool.pending())
    assert first == second == [observation.model_dump(mode="json")]


def test_an_unreadable_file_is_set_aside_and_the_rest_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.put([make(0)])
    broken = spool.put([make(1)])
    spool.put([make(2)])
    assert broken is not None
    broken.write_text('[{"not": "an observation"}]')
    truncated = spool.put([make(3)])
    assert truncated is not None
    truncated.write_text('[{"id": "a"')
    (tmp_path / "000000000099.tmp").write_text("half a wri")
    reopened = Spool(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))
    assert minutes(reopened) == [0, 2]
    assert reopened.rejected == 2
