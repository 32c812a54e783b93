"""Test-only tools for the job life cycle, loaded through the services file's ``toolboxes:`` list."""

from __future__ import annotations

import time
from typing import Annotated

from gpserver.errors import ToolExecutionError
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext


class SquareInputs(GPInputs):
    x: Annotated[int, Input("X")]


class SquareOutputs(GPOutputs):
    square: Annotated[int, Output("Square")]


class Square(Tool[SquareInputs, SquareOutputs]):
    """Squares a number (a trivial tool)."""

    name = "Square"

    def run(self, inputs: SquareInputs, ctx: ToolContext) -> SquareOutputs:
        return SquareOutputs(square=inputs.x * inputs.x)


class SleepInputs(GPInputs):
    seconds: Annotated[float, Input("Seconds")]


class SleepOutputs(GPOutputs):
    slept: Annotated[float, Output("Slept")]


class Sleep(Tool[SleepInputs, SleepOutputs]):
    """Sleeps in small steps, reporting progress and checking for cancellation (cooperative)."""

    name = "Sleep"

    def run(self, inputs: SleepInputs, ctx: ToolContext) -> SleepOutputs:
        start = time.monotonic()
        ctx.message(f"Sleeping {inputs.seconds:g} seconds")
        while (done := time.monotonic() - start) < inputs.seconds:
            ctx.check_cancelled()
            ctx.progress(100 * done / inputs.seconds, "Sleeping")
            time.sleep(0.02)
        return SleepOutputs(slept=time.monotonic() - start)


class Block(Tool[SleepInputs, SleepOutputs]):
    """Blocks in one call that never checks for cancellation (non-cooperative)."""

    name = "Block"

    def run(self, inputs: SleepInputs, ctx: ToolContext) -> SleepOutputs:
        ctx.message("Blocking")
        time.sleep(inputs.seconds)
        return SleepOutputs(slept=inputs.seconds)


class FailInputs(GPInputs):
    reason: Annotated[str, Input("Reason")] = "on purpose"


class Fail(Tool[FailInputs, SquareOutputs]):
    """Fails after a warning."""

    name = "Fail"

    def run(self, inputs: FailInputs, ctx: ToolContext) -> SquareOutputs:
        ctx.warning("About to fail")
        if inputs.reason == "crash":
            raise RuntimeError("an unexpected bug")
        raise ToolExecutionError("The tool failed", details=[f"failed {inputs.reason}"])


TOOLS = [Square, Sleep, Block, Fail]
