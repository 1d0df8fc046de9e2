"""Failure drills on the cluster of `make run-cluster` (three KRaft brokers with RF 3 and min ISR 2,
PostgreSQL, two replicas of every web process behind HAProxy and of every worker), each under a
steady open-model load of commands to all three services through HAProxy:

1. the leader of the busiest partition SIGKILLed, started again after a while;
2. the active KRaft controller SIGKILLed, started again after a while;
3. one web replica of each service SIGKILLed (HAProxy sends the requests to the other);
4. the worker holding intake's relay lock SIGKILLed (the other worker takes the relay over), and a
   progress worker SIGKILLed (its consumer group gives its partitions to the other);
5. PostgreSQL restarted (the services reconnect by themselves; commands caught by it answer 503
   problem+json, and none is half-stored).

Each ends with the checker: every acknowledged command's entry on the timeline exactly once (lost 0,
duplicated 0), and prints how long each service went without an acknowledged command.
`make test` runs short versions of drills 1 and 4; `make faults` (FAULTS_SCALE) runs all five.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from waypoint_devkit.cluster import Cluster, running_cluster
from waypoint_devkit.drills import Commands, OpenLoad, check, seed_clients, timeline
from waypoint_devkit.faults import Tally, poll_until, scale
from waypoint_devkit.launcher import SERVICES
from waypoint_shared.messaging.relay import LEASE

FULL = "FAULTS_SCALE" in os.environ  # `make faults`: all five drills, the longer outages
DOWN_SECONDS = 30 if FULL else 10  # how long a killed broker or replica stays down
STEADY_SECONDS = 5 * scale() if FULL else 3  # of load before the fault and after the recovery
RATE = 2.0  # commands per second to each service
only_in_make_faults = pytest.mark.make_faults  # deselected without FAULTS_SCALE (conftest.py)
pytestmark = [
    pytest.mark.kafka,
    pytest.mark.postgres,
    pytest.mark.e2e,
    pytest.mark.timeout(600 + 300 * (5 if FULL else 2)),
]
Fault = Callable[[Cluster, OpenLoad, Tally], dict[str, object]]


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """One cluster for the module's drills; a var dir of its own that no other test session's
    clean-up of old temporary folders removes while it runs (PostgreSQL's socket lives there).
    When a drill failed, the processes' logs are kept in var/drills/ to say why."""
    var_dir = Path(tempfile.mkdtemp(prefix="waypoint-drills-"))
    failed_before = request.session.testsfailed
    try:
        with running_cluster(var_dir, {"WAYPOINT_RATE_LIMIT": "10000"}) as running:
            yield running
            running.kill_all()
    finally:
        if request.session.testsfailed > failed_before:
            keep_logs(var_dir)
        shutil.rmtree(var_dir, ignore_errors=True)


def keep_logs(var_dir: Path) -> None:
    """Copy the cluster's logs (processes, brokers, PostgreSQL) out of its var dir."""
    kept = Path("var") / "drills" / time.strftime("%Y%m%d-%H%M%S")
    logs = [*var_dir.glob("logs/*.log"), *var_dir.rglob("postgres.log")]
    logs += [*var_dir.rglob("server.log"), *var_dir.rglob("kafka.out")]
    for log in logs:
        target = kept / log.relative_to(var_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log, target)
    print(f"\nthe drills' logs are kept in {kept.resolve()}", flush=True)


@pytest.fixture
def whole(cluster: Cluster) -> Cluster:
    """Each drill starts on a whole cluster: every broker up and in sync, every replica ready."""
    cluster.wait_whole()
    return cluster


def drill(cluster: Cluster, name: str, fault: Fault, seconds: float) -> tuple[Tally, OpenLoad]:
    """Refer a pool of clients, run the load, inject the fault, check, and report."""
    commands = Commands(cluster)
    pool = seed_clients(cluster, commands, int(RATE * (seconds + 2 * STEADY_SECONDS)) + 20)
    tally = Tally(name)
    with OpenLoad(commands, pool, RATE) as load:
        time.sleep(STEADY_SECONDS)
        figures = fault(cluster, load, tally)
        time.sleep(STEADY_SECONDS)
    check(cluster, load, tally)
    load_average = f"{os.getloadavg()[0]:.1f}"  # the machine's, over the drill's last minute
    tally.report(**figures, **degradation(load), load_avg_1m=load_average)
    tally.assert_sound(at_least=1)
    return tally, load


def degradation(load: OpenLoad) -> dict[str, object]:
    """Each service's longest time without an acknowledged command, and its failed commands."""
    figures: dict[str, object] = {}
    for service, gap in load.gaps().items():
        failed = sorted(load.failures()[service].items())
        figures[f"{service}_gap_s"] = f"{gap:.1f}"
        figures[f"{service}_failed"] = ",".join(f"{n}x{s}" for s, n in failed) or "0"
    return figures


def busy(cluster: Cluster, load: OpenLoad) -> bool:
    """Work is in flight: commands awaiting their answer or answered in the last second, or
    events awaiting their relay."""
    answered = max((a.answered for a in load.answers), default=0.0)
    flowing = time.monotonic() - answered < 1.0
    return flowing or load.in_flight > 0 or any(cluster.relay_backlog(s) > 0 for s in SERVICES)


def since(started: float) -> str:
    return f"{time.monotonic() - started:.1f}"


def leader_killed(cluster: Cluster, load: OpenLoad, tally: Tally) -> dict[str, object]:
    busiest = cluster.busiest_partition()
    node = cluster.kafka_node(busiest.leader)
    tally.fault(in_flight=busy(cluster, load))
    node.kill()
    time.sleep(DOWN_SECONDS)
    started = time.monotonic()
    node.start()
    poll_until(lambda: cluster.under_replicated() == 0, timeout=120, interval=1)
    return {
        "killed": f"node-{busiest.leader}",
        "partition": f"{busiest.topic}-{busiest.partition}",
        "down_s": DOWN_SECONDS,
        "back_in_sync_s": since(started),
    }


def controller_killed(cluster: Cluster, load: OpenLoad, tally: Tally) -> dict[str, object]:
    controller = cluster.active_controller()
    tally.fault(in_flight=busy(cluster, load))
    killed = time.monotonic()
    cluster.kafka_node(controller).kill()
    elected = poll_until(lambda: _controller(cluster) not in (None, controller), 60, 0.5)
    elected_s = since(killed)
    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - killed)))
    cluster.kafka_node(controller).start()
    poll_until(lambda: cluster.under_replicated() == 0, timeout=120, interval=1)
    return {"killed": f"node-{controller}", "new_controller_s": elected_s if elected else "none"}


def _controller(cluster: Cluster) -> int | None:
    """The active controller, or None while the admin client cannot learn it (a node is down)."""
    try:
        return cluster.active_controller()
    except Exception:
        return None


def web_replicas_killed(cluster: Cluster, load: OpenLoad, tally: Tally) -> dict[str, object]:
    tally.fault(in_flight=busy(cluster, load))
    for service in SERVICES:
        cluster.kill(f"{service}-web-1")
    time.sleep(DOWN_SECONDS)
    cluster.restart(*(f"{service}-web-1" for service in SERVICES))
    return {"killed": "intake-web-1,goals-web-1,progress-web-1", "down_s": DOWN_SECONDS}


def workers_killed(cluster: Cluster, load: OpenLoad, tally: Tally) -> dict[str, object]:
    """The relay lock's holder and a progress worker SIGKILLed: the other intake worker takes
    the relay over within the lease time; progress's groups drop the killed consumer (after
    their session timeout) and the survivor consumes every partition, while it is down."""
    relay = cluster.relay_holder("intake")
    consumer = next(
        f"progress-worker-{r}"
        for r in (1, 2)
        if f"progress-worker-{r}" != cluster.relay_holder("progress")
    )
    # The groups the killed worker belongs to: the webhook delivery worker, a process of its
    # own, keeps its group's members.
    groups = {
        group: cluster.group_members(group)
        for group in cluster.consumed("progress")
        if not group.endswith("-webhooks")
    }
    tally.fault(in_flight=busy(cluster, load))
    killed = time.monotonic()
    cluster.kill(relay)
    cluster.kill(consumer)
    took_over = poll_until(lambda: _holder(cluster, "intake") not in (None, relay), 30, 0.2)
    taken_s = time.monotonic() - killed
    rebalanced = poll_until(
        lambda: all(cluster.group_members(g) < n for g, n in groups.items()), 60, 0.5
    )
    rebalanced_s = since(killed)
    ends = ends_of(cluster, "progress")
    caught_up = poll_until(lambda: consumed_up_to(cluster, "progress", ends), 60, 0.5)
    caught_up_s = since(killed)
    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - killed)))
    cluster.restart(relay, consumer)
    assert took_over and taken_s <= LEASE.total_seconds(), f"relay taken over in {taken_s:.1f}s"
    assert groups and rebalanced, f"the killed consumer is still in progress's groups {groups}"
    assert caught_up, "progress's surviving worker did not consume every partition"
    return {
        "killed": f"{relay},{consumer}",
        "relay_taken_over_s": f"{taken_s:.1f}",
        "rebalanced_s": rebalanced_s,
        "caught_up_s": caught_up_s,
    }


def ends_of(cluster: Cluster, service: str) -> dict[str, dict[tuple[str, int], int]]:
    """Per consumer group of the service, the end offset of now of every partition it reads."""
    return {
        group: cluster.end_offsets(sorted({topic for topic, _ in offsets}))
        for group, offsets in cluster.consumed(service).items()
    }


def consumed_up_to(
    cluster: Cluster, service: str, ends: dict[str, dict[tuple[str, int], int]]
) -> bool:
    """Each of the service's groups has consumed every partition up to those end offsets (a
    partition without a stored offset counts from 0)."""
    consumed = cluster.consumed(service)
    return all(
        consumed.get(group, {}).get(tp, 0) >= end
        for group, partitions in ends.items()
        for tp, end in partitions.items()
    )


def _holder(cluster: Cluster, service: str) -> str | None:
    try:
        return cluster.relay_holder(service)
    except Exception:  # no holder yet, or its socket not yet found
        return None


def postgres_restarted(cluster: Cluster, load: OpenLoad, tally: Tally) -> dict[str, object]:
    tally.fault(in_flight=busy(cluster, load))
    started = time.monotonic()
    cluster.restart_postgres(down_seconds=2)
    restarted_s = since(started)
    return {"restarted_in_s": restarted_s}


def test_1_leader_of_the_busiest_partition_killed(whole: Cluster) -> None:
    drill(whole, "drill 1: partition leader killed", leader_killed, DOWN_SECONDS + 30)


@only_in_make_faults
def test_2_active_controller_killed(whole: Cluster) -> None:
    drill(whole, "drill 2: active controller killed", controller_killed, DOWN_SECONDS + 30)


@only_in_make_faults
def test_3_one_web_replica_of_each_service_killed(whole: Cluster) -> None:
    _, load = drill(whole, "drill 3: web replicas killed", web_replicas_killed, DOWN_SECONDS + 40)
    unanswered = [a for a in load.answers if not a.acked and a.sent > load.started]
    assert len(unanswered) <= 3 * 2, f"HAProxy let {len(unanswered)} commands fail"


def test_4_relay_holder_and_a_progress_worker_killed(whole: Cluster) -> None:
    drill(whole, "drill 4: workers killed", workers_killed, DOWN_SECONDS + 40)


@only_in_make_faults
def test_5_postgres_restarted(whole: Cluster) -> None:
    _, load = drill(whole, "drill 5: postgres restarted", postgres_restarted, 60)
    failed = [a for a in load.answers if a.status >= 500]
    assert all(a.status == 503 and a.problem for a in failed), [
        (a.service, a.status, a.problem) for a in failed
    ]
    assert_nothing_half_stored(whole, load.commands.tenant)


def assert_nothing_half_stored(cluster: Cluster, tenant: str) -> None:
    """Every referral intake stored (answered or not) has its client's data key and reached the
    timeline once: no command left an event without its key, or a stored event unpublished."""
    stored = text(
        "SELECT e.client_id, k.client_id FROM events e LEFT JOIN data_keys k "
        "ON k.tenant_id = e.tenant_id AND k.client_id = e.client_id "
        "WHERE e.tenant_id = :t AND e.type LIKE '%client_referred%'"
    )
    with cluster.database("intake") as conn:
        rows: list[Any] = conn.execute(stored, {"t": tenant}).all()
    assert all(key is not None for _, key in rows), "a referral stored without its data key"
    referred = {f"client_referred/{client}" for client, _ in rows}
    on_timeline = timeline(cluster, tenant)
    assert referred == {k for k in on_timeline if k.startswith("client_referred/")}
