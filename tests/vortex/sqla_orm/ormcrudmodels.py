"""Declarative tuples the ORM CRUD tests store: the manual's StringIntTuple and Setting tables."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from vortex.Tuple import Tuple, addTupleType

SCHEMA = "pl_ormcrud"


class OrmCrudTestBase(DeclarativeBase):
    """Declarative base of the test tables, all in the plugin-style schema ``pl_ormcrud``."""

    metadata = MetaData(schema=SCHEMA)


@addTupleType
class StringIntTuple(Tuple, OrmCrudTestBase):
    """The manual's StringInt table; ``string1`` is unique so a test can violate it."""

    __tupleType__ = "tests.ormcrud.StringIntTuple"
    __tablename__ = "StringIntTuple"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    string1: Mapped[str | None] = mapped_column(String(50), unique=True)
    int1: Mapped[int | None] = mapped_column(Integer)


class Setting(OrmCrudTestBase):
    """A named group of settings (the manual's noop plugin Setting table)."""

    __tablename__ = "Setting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    propertyObjects: Mapped[list[SettingProperty]] = relationship(
        back_populates="setting", order_by="SettingProperty.id"
    )


@addTupleType
class SettingProperty(Tuple, OrmCrudTestBase):
    """One key/value of a Setting; the tuple the manual's SettingPropertyHandler edits."""

    __tupleType__ = "tests.ormcrud.SettingProperty"
    __tablename__ = "SettingProperty"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    settingId: Mapped[int] = mapped_column(Integer, ForeignKey(Setting.id), nullable=False)
    key: Mapped[str] = mapped_column(String(50))
    type: Mapped[str] = mapped_column(String(16))
    int_value: Mapped[int | None] = mapped_column(Integer)
    char_value: Mapped[str | None] = mapped_column(String(50))
    boolean_value: Mapped[bool | None] = mapped_column(Boolean)
    setting: Mapped[Setting] = relationship(back_populates="propertyObjects")


GLOBAL_SETTING_NAME = "Global"


def globalSetting(session: Session) -> Setting:
    """The global Setting row, created (not committed) when missing."""
    setting = session.scalars(select(Setting).where(Setting.name == GLOBAL_SETTING_NAME)).first()
    if setting is None:
        setting = Setting(name=GLOBAL_SETTING_NAME)
        session.add(setting)
    return setting
