"""``peek noop list-items``: print the noop items from logic's database."""

import argparse
import json

from peek_plugin_base.PluginCommandABC import PluginCommandABC, PluginCommandContextABC
from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple


class ListItemsCommand(PluginCommandABC):
    """Print every NoopItem of the logic service's database, one per line: id, name and
    value. The platform migrates the pl_noop schema and runs pending install hooks first, so
    a fresh database lists the seed items. Exit status 0."""

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        """``--json`` prints a JSON array instead of lines."""
        parser.add_argument(
            "--json", action="store_true", help="print a JSON array of {id, name, value}"
        )

    def run(self, args: argparse.Namespace, context: PluginCommandContextABC) -> int:
        """Query the items in id order and print them."""
        loadStorageTuples()
        with context.dbSessionCreator() as session:
            rows = session.query(NoopItemTuple).order_by(NoopItemTuple.id).all()
            items = [{"id": row.id, "name": row.name, "value": row.value} for row in rows]
        if args.json:
            print(json.dumps(items))
        else:
            for item in items:
                print(f"{item['id']}\t{item['name']}\t{item['value']}")
        return 0
