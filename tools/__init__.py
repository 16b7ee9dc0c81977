"""Built-in tools, installed as ``agentkit.tools``. Each lives in its own module."""
