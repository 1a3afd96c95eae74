"""The read side of the REST API: the version, runs, one run, two runs compared (and the
images of the cells whose outputs differ)."""

from __future__ import annotations

import asyncio
import json
import os
import re

import tornado

from nbrepro._version import __version__
from nbrepro.errors import clipped_repr
from nbrepro.server.base import BadRequest, BaseHandler

MAX_PAGE = 500


class VersionHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        # The sidebar shows paths under the home folder as ~/... (whole on hover).
        self.finish({"version": __version__, "home": os.path.expanduser("~")})


class RunsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        from nbrepro.store.listing import list_runs

        try:
            size = int(self.argument("max_results") or "50")
        except ValueError:
            raise BadRequest("max_results must be a whole number") from None
        if not 1 <= size <= MAX_PAGE:
            raise BadRequest(f"max_results must be between 1 and {MAX_PAGE}")
        uri = await self.checked_tracking()
        # MLflow calls block: keep them off the server's event loop.
        page = await asyncio.to_thread(
            list_runs,
            uri,
            experiment=self.argument("experiment"),
            notebook=self.notebook_arg(),
            max_results=size,
            page_token=self.argument("page_token"),
        )
        self.finish({"runs": page.rows, "next_page_token": page.next_page_token})


class RunHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        from nbrepro.capture.delta.drift import table_drift
        from nbrepro.store.models import registered_from
        from nbrepro.store.runs import load_run

        uri = await self.checked_tracking()
        captured = await asyncio.to_thread(load_run, self.run_id_arg(run_id), uri)
        rec = captured.record
        drift, models = await asyncio.gather(
            asyncio.to_thread(table_drift, rec["data"]["reads"]),
            asyncio.to_thread(registered_from, captured.run_id, uri),
        )
        self.finish(
            {
                "run_id": captured.run_id,
                "status": captured.run.info.status,
                "tags": dict(captured.run.data.tags),
                "params": captured.params,
                "metrics": captured.metrics,
                "record": {
                    key: rec[key]
                    for key in ("run", "code", "data", "warnings", "mode", "created_at")
                },
                "environment": {
                    "hash": rec["environment"]["hash"],
                    "python": rec["environment"]["python"],
                    "packages": len(rec["environment"]["packages"]),
                    "os": rec["environment"].get("os"),
                    "hardware": rec["environment"].get("hardware"),
                    "git": rec["environment"].get("git"),
                },
                "drift": drift,
                **({} if models is None else {"models": models}),
            }
        )


class CompareHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        from nbrepro.reproduce.rerun import diff

        a = self.run_id_arg(self.argument("a") or "")
        b = self.run_id_arg(self.argument("b") or "")
        report = await asyncio.to_thread(diff, a, b, await self.checked_tracking())
        self.finish(json.dumps(report, default=str))


class CompareImagesHandler(BaseHandler):
    """The images of a report's cells, both runs side by side (``cells``: the report's
    ``OutputCellDiff.cell`` keys, comma-separated; ``a``: the report's original)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbrepro.reproduce.compare.images import MAX_CELLS, cell_images
        from nbrepro.store.runs import load_run

        a = self.run_id_arg(self.argument("a") or "")
        b = self.run_id_arg(self.argument("b") or "")
        cells = self.cells_arg(MAX_CELLS)
        uri = await self.checked_tracking()

        def images() -> dict[str, object]:
            return cell_images(load_run(a, uri), load_run(b, uri), cells)

        self.finish(await asyncio.to_thread(images))

    def cells_arg(self, most: int) -> list[int]:
        raw = self.argument("cells") or ""
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        # Not str.isdigit: it takes '²', which int() refuses.
        if not parts or not all(re.fullmatch(r"[0-9]{1,9}", p) for p in parts):
            raise BadRequest(
                "cells must be cell numbers of the report (OutputCellDiff.cell), "
                f"comma-separated, not {clipped_repr(raw)}"
            )
        if len(parts) > most:
            raise BadRequest(f"at most {most} cells at a time, not {len(parts)}")
        return [int(p) for p in parts]
