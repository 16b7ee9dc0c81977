"""Jinja2 prompt templates, installed as ``agentkit.prompts`` and read with importlib.resources."""
