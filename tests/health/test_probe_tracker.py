from __future__ import annotations

from wezparallel.health.probes import Health, ProbeResult, ProbeState, Verdict, overall
from wezparallel.spec.model import HealthProbe

OK = ProbeResult(True)
FAIL = ProbeResult(False, "connection refused")


def probe(**kw: object) -> HealthProbe:
    base: dict[str, object] = {"kind": "tcp", "port": 80, "interval": 10.0, "retries": 3}
    base.update(kw)
    return HealthProbe(**base)  # type: ignore[arg-type]


def test_first_check_is_due_at_start_then_every_interval_after_a_check_ends() -> None:
    st = ProbeState.begin(probe(), started_at=100.0)
    assert st.due(100.0) and not st.due(99.9)
    st, _ = st.record(OK, 101.5)
    assert not st.due(111.4) and st.due(111.5)


def test_unhealthy_after_retries_failures_in_a_row_with_the_action_once() -> None:
    st = ProbeState.begin(probe(action="restart"), 0.0)
    verdicts = []
    for now in (1.0, 11.0, 21.0, 31.0):
        st, v = st.record(FAIL, now)
        verdicts.append(v)
    assert verdicts == [
        Verdict(Health.UNKNOWN, None, "connection refused"),
        Verdict(Health.UNKNOWN, None, "connection refused"),
        Verdict(Health.UNHEALTHY, "restart", "connection refused"),
        Verdict(Health.UNHEALTHY, None, "connection refused"),
    ]
    assert (st.failures, st.last_failure) == (4, "connection refused")


def test_a_success_resets_the_count_and_makes_it_healthy() -> None:
    st = ProbeState.begin(probe(retries=2), 0.0)
    st, _ = st.record(FAIL, 1.0)
    st, v = st.record(OK, 11.0)
    assert (v.health, st.failures) == (Health.HEALTHY, 0)
    st, v = st.record(FAIL, 21.0)
    assert v.health == Health.HEALTHY  # one failure out of two allowed
    st, v = st.record(FAIL, 31.0)
    assert (v.health, v.action) == (Health.UNHEALTHY, "mark")
    st, v = st.record(OK, 41.0)
    assert v == Verdict(Health.HEALTHY)
    assert st.last_failure == "connection refused"  # kept for `status`


def test_failures_in_the_start_period_do_not_count() -> None:
    st = ProbeState.begin(probe(retries=1, start_period=30.0), 0.0)
    for now in (0.0, 10.0, 20.0):
        st, v = st.record(FAIL, now)
        assert (v.health, v.action) == (Health.UNKNOWN, None)
    assert st.failures == 0
    st, v = st.record(FAIL, 30.0)
    assert (v.health, v.action) == (Health.UNHEALTHY, "mark")


def test_a_success_ends_the_start_period_early() -> None:
    st = ProbeState.begin(probe(retries=1, start_period=300.0), 0.0)
    st, _ = st.record(OK, 5.0)
    st, v = st.record(FAIL, 15.0)
    assert v.health == Health.UNHEALTHY


def test_an_output_match_is_decisive_whatever_the_retries() -> None:
    st = ProbeState.begin(probe(kind="output", pattern="Traceback", retries=5,
                                action="restart"), 0.0)
    _, v = st.record(ProbeResult(False, "output matched"), 1.0)
    assert (v.health, v.action) == (Health.UNHEALTHY, "restart")


def test_retries_zero_means_one_failure() -> None:
    _, v = ProbeState.begin(probe(retries=0), 0.0).record(FAIL, 1.0)
    assert v.health == Health.UNHEALTHY


def test_overall_health() -> None:
    good, _ = ProbeState.begin(probe(), 0.0).record(OK, 1.0)
    bad, _ = ProbeState.begin(probe(kind="http", retries=1), 0.0).record(FAIL, 1.0)
    fresh = ProbeState.begin(probe(), 0.0)
    assert overall([]) == (Health.UNKNOWN, None)
    assert overall([good, fresh]) == (Health.UNKNOWN, None)
    assert overall([good, good]) == (Health.HEALTHY, None)
    assert overall([good, bad, fresh]) == (Health.UNHEALTHY, "http: connection refused")
