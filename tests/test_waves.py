"""Which deliveries are sent together (monitor.core.decide.waves)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.decide.waves import next_wave


@dataclass(frozen=True)
class Job:
    id: int
    channel: str


def test_a_wave_takes_jobs_in_order_up_to_its_size():
    jobs = [Job(i, "mail") for i in range(6)]
    wave, rest = next_wave(jobs, 4, lambda channel: False)
    assert [j.id for j in wave] == [0, 1, 2, 3] and [j.id for j in rest] == [4, 5]


def test_a_throttled_channel_gets_one_job_per_wave_and_others_fill_in():
    jobs = [Job(0, "chat"), Job(1, "chat"), Job(2, "mail"), Job(3, "chat"), Job(4, "mail")]
    wave, rest = next_wave(jobs, 3, lambda channel: channel == "chat")
    assert [j.id for j in wave] == [0, 2, 4] and [j.id for j in rest] == [1, 3]
    wave, rest = next_wave(rest, 3, lambda channel: channel == "chat")
    assert [j.id for j in wave] == [1] and [j.id for j in rest] == [3]
