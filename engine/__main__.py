"""The CLI: `python -m engine COMMAND`; every failure is one line on stderr and a non-zero exit."""
import argparse
import sys

from .cli import COMMANDS
from .errors import EngineError


def main(argv=None):
    """Parse argv, run the chosen command, and turn engine errors into one stderr line with exit 1."""
    parser = argparse.ArgumentParser(prog="python -m engine", description="MNIST Explorer engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
