"""Property tests: random conversations (long and short messages, parallel calls, huge tool outputs) run
through the agent with context management; every request the model receives must fit the budget, keep
each call with all of its results, and hold the system prompt and the task."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import ContextOverflowError, ModelRequest, ToolMessage
from agentkit.context import ContextConfig, EstimateCounter
from agentkit.testing import ScriptedBackend
from tests.memory_helpers import Plan, agent_for, check_request, is_summary_request, plans, player, text

WINDOW, RESERVE = 6_000, 500
BUDGET = WINDOW - RESERVE


def estimated(request: ModelRequest) -> int:
    """An independent recount of a request with a fresh counter of the kind the agent used."""
    counter = EstimateCounter()
    return sum(counter.count_message(m) for m in request.messages) + counter.count_tools(request.tools) + 8


def run_plan(plan: Plan, config: ContextConfig) -> tuple[Any, ScriptedBackend, Any]:
    backend = ScriptedBackend(player(plan))
    agent = agent_for(plan, backend, config)
    try:
        return agent.run(plan.task), backend, agent
    except ContextOverflowError as exc:
        return exc, backend, agent


@settings(max_examples=50)
@given(plan=plans(), summarize=st.booleans())
def test_every_request_fits_keeps_pairs_system_and_task(plan: Plan, summarize: bool) -> None:
    config = ContextConfig(
        context_window=WINDOW, reserve_tokens=RESERVE, summarize=summarize, summary_tokens=200
    )
    outcome, backend, agent = run_plan(plan, config)
    for request in backend.requests:
        assert estimated(request) <= (WINDOW - 200 if is_summary_request(request) else BUDGET)
        if not is_summary_request(request):
            check_request(request, agent, plan.task)
    if isinstance(outcome, ContextOverflowError):
        assert outcome.needed > outcome.budget == BUDGET
        return
    assert outcome.output == plan.final
    # The full history stays in the result: every tool output whole, however much requests cut it.
    results = {m.tool_call_id: m for m in outcome.messages if isinstance(m, ToolMessage)}
    assert len(results) == len(plan.calls)
    for call in plan.calls:
        assert results[call.id].content == text(call.arguments["n"], call.arguments["seed"])


@settings(max_examples=25)
@given(plan=plans(max_steps=40))
def test_long_runs_evict_but_never_overflow_with_small_outputs(plan: Plan) -> None:
    """Outputs cut to a tenth of the budget: a run of any length must complete, never raising."""
    config = ContextConfig(context_window=WINDOW, reserve_tokens=RESERVE, tool_result_tokens=400)
    for step in plan.steps:
        step.outputs = step.outputs[:2]
    plan.system, plan.task = plan.system[:200], plan.task[:200]
    outcome, backend, agent = run_plan(plan, config)
    assert not isinstance(outcome, Exception), outcome
    assert len(backend.requests) == len(plan.steps) + 1
    for request in backend.requests:
        assert estimated(request) <= BUDGET
        check_request(request, agent, plan.task)
