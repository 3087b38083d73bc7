"""The ``NoopItem`` table: a name and a number, edited by admins, actions and worker tasks."""

from sqlalchemy import Column, Index, Integer, String

from peek_plugin_noop._private.PluginNames import noopTuplePrefix
from peek_plugin_noop._private.storage.DeclarativeBase import DeclarativeBase
from vortex.Tuple import Tuple, addTupleType


@addTupleType
class NoopItemTuple(Tuple, DeclarativeBase):
    """One item; both a table row and a vortex tuple (its columns are its fields on the wire)."""

    __tupleType__ = noopTuplePrefix + "NoopItemTuple"
    __tablename__ = "NoopItem"

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(50), nullable=False)
    value = Column(Integer, nullable=False, default=0)

    # Added by the second migration: names are unique, so worker tasks can use them as keys.
    __table_args__ = (Index("idx_NoopItem_name", name, unique=True),)
