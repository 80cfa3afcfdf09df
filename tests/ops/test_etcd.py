"""etcd list: K3s's snapshots in the stack's bucket, read with moto; names parsed as K3s writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dhakacart_infra.names import StackOutput
from dhakacart_infra.ops.errors import RefusedError
from dhakacart_infra.ops.etcd import choose_snapshot, list_etcd_snapshots, parse_snapshot

from .conftest import REGION, StackWorld

ETCD_BUCKET = "dhakacart-dev-etcd-abc123"
FOLDER = "etcd-snapshots"
T0 = 1_795_000_000  # 2026-11-18T...Z
NOW = datetime.fromtimestamp(T0 + 86_400, UTC)


def put(world: StackWorld, key: str, size: int = 10) -> None:
    world.s3.put_object(Bucket=ETCD_BUCKET, Key=key, Body=b"x" * size)


@pytest.fixture
def etcd_world(world: StackWorld) -> StackWorld:
    world.s3.create_bucket(Bucket=ETCD_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    world.extra_outputs.update(
        {StackOutput.ETCD_SNAPSHOT_BUCKET: ETCD_BUCKET, StackOutput.ETCD_SNAPSHOT_FOLDER: FOLDER}
    )
    return world


def test_names_are_parsed_as_k3s_writes_them() -> None:
    modified = datetime(2030, 1, 1, tzinfo=UTC)
    scheduled = parse_snapshot(f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0}", 5, modified)
    assert (scheduled.kind, scheduled.node, scheduled.taken) == (
        "scheduled",
        "ip-10-20-0-5",
        datetime.fromtimestamp(T0, UTC),
    )
    on_demand = parse_snapshot(f"{FOLDER}/on-demand-ip-10-20-1-7-{T0}.zip", 5, modified)
    assert (on_demand.kind, on_demand.node, on_demand.compressed) == ("on-demand", "ip-10-20-1-7", True)
    odd = parse_snapshot(f"{FOLDER}/copied-by-hand", 5, modified)
    assert (odd.kind, odd.node, odd.taken) == ("unknown", "?", modified)


def test_list_shows_newest_first_with_kind_node_time_and_size(etcd_world: StackWorld) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0}", 2048)
    put(etcd_world, f"{FOLDER}/on-demand-ip-10-20-1-7-{T0 + 3600}", 4096)
    put(etcd_world, f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0 - 21_600}", 1024)
    put(etcd_world, f"{FOLDER}/.metadata/etcd-snapshot-ip-10-20-0-5-{T0}")  # K3s's metadata, not a snapshot
    put(etcd_world, f"other/etcd-snapshot-elsewhere-{T0 + 7200}")  # another folder: not this cluster's
    result = etcd_world.invoke("etcd", "list", "--stack", "dev", now=NOW)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"3 etcd snapshots in s3://{ETCD_BUCKET}/{FOLDER}/"
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == [
        f"on-demand-ip-10-20-1-7-{T0 + 3600}",
        f"etcd-snapshot-ip-10-20-0-5-{T0}",
        f"etcd-snapshot-ip-10-20-0-5-{T0 - 21_600}",
    ]
    assert [r[2] for r in rows] == ["on-demand", "scheduled", "scheduled"]
    assert rows[0][1] == "ip-10-20-1-7" and rows[0][-2:] == ["4.0", "KiB"]
    assert rows[1][3:5] == datetime.fromtimestamp(T0, UTC).strftime("%Y-%m-%d %H:%M").split()
    assert rows[1][5] == "1d00h"


def test_list_as_json(etcd_world: StackWorld) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0}", 2048)
    result = etcd_world.invoke("etcd", "list", "--json", now=NOW)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["key"] == f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0}"
    assert row["kind"] == "scheduled" and row["size_bytes"] == 2048 and row["age_seconds"] == 86_400


def test_an_empty_folder_is_an_error_that_says_how_to_take_one(etcd_world: StackWorld) -> None:
    put(etcd_world, f"{FOLDER}/.metadata/something")
    result = etcd_world.invoke("etcd", "list")
    assert result.exit_code == 1
    assert f"no etcd snapshots in s3://{ETCD_BUCKET}/{FOLDER}/" in result.output
    assert "k3s etcd-snapshot save" in result.output


def test_a_missing_bucket_output_names_the_output_and_the_flag(world: StackWorld) -> None:
    result = world.invoke("etcd", "list")
    assert result.exit_code == 1
    assert (
        f"no output '{StackOutput.ETCD_SNAPSHOT_BUCKET}'" in result.output
        and "--etcd-bucket" in result.output
    )


def test_an_empty_bucket_output_counts_as_missing(etcd_world: StackWorld) -> None:
    etcd_world.extra_outputs[StackOutput.ETCD_SNAPSHOT_BUCKET] = ""
    result = etcd_world.invoke("etcd", "list")
    assert result.exit_code == 1 and "--etcd-bucket" in result.output


def test_a_bucket_that_does_not_exist_is_reported(etcd_world: StackWorld) -> None:
    result = etcd_world.invoke("etcd", "list", "--etcd-bucket", "no-such-bucket-here")
    assert result.exit_code == 1 and "'no-such-bucket-here' does not exist" in result.output


def test_choose_takes_the_newest_or_one_of_this_folder_only(etcd_world: StackWorld) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0 + 60}")
    put(etcd_world, f"other/etcd-snapshot-a-{T0 + 120}")
    snapshots = list_etcd_snapshots(etcd_world.s3, ETCD_BUCKET, FOLDER)
    assert choose_snapshot(snapshots, ETCD_BUCKET, FOLDER, None).name == f"etcd-snapshot-a-{T0 + 60}"
    named = choose_snapshot(
        snapshots, ETCD_BUCKET, FOLDER, f"s3://{ETCD_BUCKET}/{FOLDER}/etcd-snapshot-a-{T0}"
    )
    assert named.key == f"{FOLDER}/etcd-snapshot-a-{T0}"
    with pytest.raises(RefusedError, match="not one of this stack's etcd snapshots"):
        choose_snapshot(snapshots, ETCD_BUCKET, FOLDER, f"other/etcd-snapshot-a-{T0 + 120}")
