"""`python -m benchmarks.pages URL N [--no-metrics]`: N dashboard pages as WebSocket clients in
one process.

Each does what the page does when nobody touches it: holds its `/ws` (the snapshot, then every
event) and asks for `metrics_snapshot` every 5 s (not with `--no-metrics`: event streams only).
For every `state` event a page receives it prints `PAGE ID TO MONOTONIC` (CLOCK_MONOTONIC is one
clock for every process), so the benchmark can time a crash from its SIGKILL to each page. One
process, so ten readers' own CPU barely competes with the daemon whose cost is measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

METRICS_EVERY = 5.0  # seconds, as app.js


async def page(session: aiohttp.ClientSession, url: str, token: str, index: int,
               poll: bool) -> None:
    origin = url.replace("ws://", "http://", 1).rsplit("/ws", 1)[0]
    headers = {"Authorization": f"Bearer {token}", "Origin": origin}
    async with session.ws_connect(url, headers=headers) as ws:
        async def metrics() -> None:
            n = 0
            while True:
                n += 1
                await ws.send_json({"id": n, "method": "metrics_snapshot"})
                await asyncio.sleep(METRICS_EVERY)

        poller = asyncio.create_task(metrics() if poll else asyncio.sleep(0))
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data.get("type") != "events":
                    continue
                now = time.monotonic()
                for event in data["events"]:
                    if event.get("type") == "state":
                        print(index, event["id"], event["to"], f"{now:.6f}", flush=True)
        finally:
            poller.cancel()


async def main(url: str, count: int, poll: bool) -> int:
    base, _, token = url.partition("?token=")
    ws_url = base.replace("http://", "ws://") + "ws"
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(page(session, ws_url, token, i, poll) for i in range(count)))
    return 1  # the daemon went away


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), "--no-metrics" not in sys.argv)))
