"""Entry point of both frozen executables (AgentDesk and agentdesk-cli): the same command line as `agentdesk`."""

import sys

from agentdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
