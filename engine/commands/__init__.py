"""CLI commands: each module has add_parser(subparsers) that sets args.run."""
from . import data_cmds, evaluate

COMMANDS = [evaluate, data_cmds]
