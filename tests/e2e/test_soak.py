"""Soak: 20,000 messages published and consumed through ~10 % injected faults of every kind.

Checks that every published message is consumed at least once (none lost), that every message is
handled before it is acknowledged, and reports the duplicates (publishes retried after the server
stored them: ``reset-after`` and ``delay`` faults) and the faults injected by kind. The figures are
printed (``pytest -s tests/e2e/test_soak.py``) and written to ``soak-figures.json`` in the test's
temporary directory.

Duplicates are deduplicated the way the docs recommend: by an attribute (``key``) that the
publisher sets to a unique value per logical message.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

import pytest

from pymod import AmsMessage, AmsPublishException, ArgoMessagingService, RetryPolicy
from pymod.consumer import Consumer
from pymod.emulator import Emulator, FaultConfig

TOTAL = 20_000
BATCH = 25
FAULT_RATE = 0.10
SEED = 20261121


@pytest.mark.emulator_only("fault injection, in its own emulator")
def test_soak_through_faults(tmp_path: Path) -> None:
    faults = FaultConfig(rate=FAULT_RATE, seed=SEED, delay=1.5)
    with Emulator() as emu:
        setup = ArgoMessagingService(emu.endpoint, token=emu.admin_token, project=emu.project,
                                     verify=emu.ca_path)
        setup.create_topic("soak")
        setup.create_sub("soak-sub", "soak", ackdeadline=60)
        emu.set_faults(faults)
        sleeps: List[float] = []
        ams = ArgoMessagingService(
            emu.endpoint, token=emu.admin_token, project=emu.project, verify=emu.ca_path,
            timeout=(5.0, 1.0),  # the "delay" faults outlast the read timeout
            retry_policy=RetryPolicy(jitter=0, sleep=sleeps.append),
        )
        started = time.monotonic()

        # ---- publish everything, resuming after partial failures ---------------------------
        pending = [AmsMessage(data=f"payload-{i}", attributes={"key": str(i)})
                   for i in range(TOTAL)]
        confirmed: Set[str] = set()
        publish_calls = 0
        while pending:
            batch, pending = pending[:BATCH], pending[BATCH:]
            while batch:
                publish_calls += 1
                try:
                    ams.publish("soak", batch, retry=6, retrysleep=0.01)
                    confirmed.update(m.get_attr("key") for m in batch)  # type: ignore[misc]
                    batch = []
                except AmsPublishException as exc:  # pragma: no cover - chunking off here
                    batch = batch[len(exc.published_ids):]
                except Exception:  # noqa: BLE001 - out of retries: publish the batch again
                    continue
        published_seconds = time.monotonic() - started

        # ---- consume with the consumer loop through the same faults ------------------------
        handled: Counter[str] = Counter()
        handled_offsets: Set[int] = set()
        violations: List[str] = []
        checkpoints: List[int] = []
        start_offset = 0

        def handle(msg: AmsMessage) -> None:
            handled[str(msg.get_attr("key"))] += 1
            handled_offsets.add(int(msg.get_msgid()))

        def checkpoint(committed: int) -> None:
            checkpoints.append(committed)
            missing = set(range(start_offset, committed)) - handled_offsets
            if missing:
                violations.append(f"acked up to {committed} before handling {sorted(missing)[:5]}")

        consume_started = time.monotonic()
        runs = 0
        while set(handled) != confirmed and runs < 50:
            runs += 1
            Consumer(ams, "soak-sub", handle, batch_size=100, stop_when_empty=True,
                     checkpoint=checkpoint, max_errors=20, backoff=0.01, max_seconds=120,
                     install_signal_handlers=False).run()
        consumed_seconds = time.monotonic() - consume_started
        counts = emu.fault_counts()
        emu.clear_faults()
        stored = setup.getoffsets_sub("soak-sub", "max")
        setup.close()
        ams.close()

    lost = confirmed - set(handled)
    figures: Dict[str, object] = {
        "published_unique": len(confirmed),
        "stored_messages": stored,
        "publish_duplicates": int(stored) - TOTAL,  # type: ignore[call-overload]
        "consumed_unique": len(handled),
        "handled_total": sum(handled.values()),
        "handled_more_than_once": sum(1 for n in handled.values() if n > 1),
        "lost": len(lost),
        "faults_by_kind": counts,
        "faults_total": sum(counts.values()),
        "retry_sleeps": len(sleeps),
        "publish_calls": publish_calls,
        "consumer_runs": runs,
        "publish_seconds": round(published_seconds, 2),
        "consume_seconds": round(consumed_seconds, 2),
    }
    (tmp_path / "soak-figures.json").write_text(json.dumps(figures, indent=2))
    print("\nsoak figures:", json.dumps(figures, indent=2))

    assert len(confirmed) == TOTAL
    assert lost == set()
    assert violations == []
    assert checkpoints and checkpoints[-1] == stored
    assert sum(counts.values()) > 0 and len([k for k, v in counts.items() if v]) >= 6
