"""pymod.aio.serve against the emulator: blocks acknowledged only once every queue item is done,
save_cursor called with the committed offset, clean cancellation, resuming from a saved cursor."""

from __future__ import annotations

import asyncio
from typing import Dict, List

import pytest

from pymod import AmsMessage, ArgoMessagingService
from pymod.aio import serve


def _setup(ams: ArgoMessagingService, names: Dict[str, str], count: int) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    ams.publish(names["topic"], [AmsMessage(data=f"m{i}") for i in range(count)])


async def _worker(queue: asyncio.Queue, seen: List[int], delay: float = 0.0) -> None:
    while True:
        msg = await queue.get()
        try:
            if delay:
                await asyncio.sleep(delay)
            seen.append(int(msg.get_msgid()))
        finally:
            queue.task_done()


@pytest.mark.timeout(60)
def test_serve_acks_each_block_after_task_done_and_saves_the_cursor(
    ams: ArgoMessagingService, names: Dict[str, str]
) -> None:
    _setup(ams, names, 45)
    seen: List[int] = []
    saved: List[int] = []
    seen_at_save: List[int] = []

    async def save_cursor(offset: int) -> None:
        seen_at_save.append(len(seen))
        saved.append(offset)

    async def main() -> object:
        queue: asyncio.Queue = asyncio.Queue(maxsize=4)
        workers = [asyncio.create_task(_worker(queue, seen)) for _ in range(3)]
        try:
            return await serve(ams, names["sub"], queue, save_cursor, batch_size=10,
                               stop_when_empty=True)
        finally:
            for w in workers:
                w.cancel()

    result = asyncio.run(main())
    assert saved == [10, 20, 30, 40, 45]
    assert seen_at_save == saved  # every message of the block was done before its cursor
    assert sorted(seen) == list(range(45))
    assert result.acked == 45 and result.committed_offset == 45  # type: ignore[attr-defined]
    assert ams.getoffsets_sub(names["sub"], "current") == 45


@pytest.mark.timeout(60)
def test_serve_resumes_from_the_saved_cursor_after_cancellation(
    ams: ArgoMessagingService, names: Dict[str, str]
) -> None:
    _setup(ams, names, 60)
    saved: List[int] = []
    first: List[int] = []

    async def save_cursor(offset: int) -> None:
        saved.append(offset)

    async def run_until_cancelled() -> int:
        queue: asyncio.Queue = asyncio.Queue()
        worker = asyncio.create_task(_worker(queue, first, delay=0.01))
        task = asyncio.create_task(serve(ams, names["sub"], queue, save_cursor, batch_size=10))
        while not (saved and saved[-1] >= 30 and len(first) >= 33):  # inside the 4th block
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        left = queue.qsize()
        worker.cancel()
        return left

    assert asyncio.run(run_until_cancelled()) == 0  # the block's untaken messages were taken back
    assert saved == [10, 20, 30]  # the unfinished 4th block was not acknowledged
    assert ams.getoffsets_sub(names["sub"], "current") == 30

    ams.modifyoffset_sub(names["sub"], 0)  # whatever happened meanwhile, the cursor wins
    second: List[int] = []

    async def resume() -> object:
        queue: asyncio.Queue = asyncio.Queue()
        worker = asyncio.create_task(_worker(queue, second))
        try:
            return await serve(ams, names["sub"], queue, save_cursor, cursor=saved[-1],
                               batch_size=10, stop_when_empty=True)
        finally:
            worker.cancel()

    asyncio.run(resume())
    assert second == list(range(30, 60))  # from the saved offset, the 4th block again
    assert saved[-1] == 60
    assert set(first) | set(second) == set(range(60))


@pytest.mark.timeout(60)
def test_cancel_during_save_cursor_finishes_the_commit(
    ams: ArgoMessagingService, names: Dict[str, str]
) -> None:
    _setup(ams, names, 5)
    saved: List[int] = []

    async def main() -> None:
        entered, release = asyncio.Event(), asyncio.Event()

        async def save_cursor(offset: int) -> None:
            entered.set()
            await release.wait()
            saved.append(offset)

        queue: asyncio.Queue = asyncio.Queue()
        worker = asyncio.create_task(_worker(queue, []))
        task = asyncio.create_task(serve(ams, names["sub"], queue, save_cursor, batch_size=10))
        await entered.wait()
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # waits for the commit in progress
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        worker.cancel()

    asyncio.run(main())
    assert saved == [5] and ams.getoffsets_sub(names["sub"], "current") == 5
