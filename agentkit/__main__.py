"""``python -m agentkit``: the command line."""

import sys

from agentkit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
