"""The ``NoopItem`` table: a name and a number, edited by admins, actions and worker tasks."""

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from peek_plugin_noop._private.PluginNames import noopTuplePrefix
from peek_plugin_noop._private.storage.DeclarativeBase import DeclarativeBase
from vortex.Tuple import Tuple, addTupleType


@addTupleType
class NoopItemTuple(Tuple, DeclarativeBase):
    """One item; both a table row and a vortex tuple (its columns are its fields on the wire).

    ``Mapped[...]`` gives each column its Python type; ``Optional`` makes it nullable.
    """

    __tupleType__ = noopTuplePrefix + "NoopItemTuple"
    __tablename__ = "NoopItem"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50))
    value: Mapped[int] = mapped_column(Integer, default=0)
    #: Who made the last change (a user name); None when a service made it. Added by the
    #: third migration.
    lastChangedBy: Mapped[str | None] = mapped_column(String(256))

    # Added by the second migration: names are unique, so worker tasks can use them as keys.
    __table_args__ = (Index("idx_NoopItem_name", "name", unique=True),)
