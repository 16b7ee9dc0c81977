from __future__ import annotations

import jinja2
import pytest

from agentkit import Agent
from agentkit.templates import environment, render
from agentkit.testing import ScriptedBackend


def test_missing_variables_are_errors_not_empty_text() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("system.jinja")  # instructions, tool_names, output_schema are required


def test_templates_load_from_the_installed_package() -> None:
    source, _, _ = environment().loader.get_source(environment(), "system.jinja")  # type: ignore[union-attr]
    assert "output_schema" in source
    with pytest.raises(jinja2.TemplateNotFound):
        environment().get_template("no_such_template.jinja")


def test_default_system_prompt_comes_from_the_template() -> None:
    def lookup(term: str) -> str:
        """Look a term up."""
        return term

    agent = Agent(model=ScriptedBackend([]), tools=[lookup])
    assert agent.system_prompt == render(
        "system.jinja", instructions=None, tool_names=["lookup"], output_schema=None
    )
    assert "lookup" in agent.system_prompt
