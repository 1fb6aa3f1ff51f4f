"""CLI commands: every module here with add_parser(subparsers) becomes a `python -m engine` command."""
import importlib
import pkgutil

COMMANDS = [
    module
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if hasattr(module := importlib.import_module(f"{__name__}.{info.name}"), "add_parser")
]
