"""The manual's module path ``OormCrudHandler`` and its tutorial admin_backend code, run as is."""

from __future__ import annotations

import threading

import sqlalchemy as sa
import tutorialadminbackend
from linkedvortexes import LOGIC
from ormcrudclient import CrudClient
from ormcrudmodels import Setting, SettingProperty, StringIntTuple

from vortex.sqla_orm import OormCrudHandler as aliasModule
from vortex.sqla_orm import OrmCrudHandler as realModule
from vortex.TupleSelector import TupleSelector


def test_misspelt_module_exports_the_same_classes():
    """The manual's OormCrudHandler names are the OrmCrudHandler classes themselves."""
    assert aliasModule.OormCrudHandlerExtension is realModule.OrmCrudHandlerExtension
    assert aliasModule.OrmCrudHandlerExtension is realModule.OrmCrudHandlerExtension
    assert aliasModule.OormCrudHandler is realModule.OrmCrudHandler


def insertSettings(db) -> None:
    """A Global setting with two properties and another setting with one."""
    settings = Setting.__table__
    properties = SettingProperty.__table__
    with db.dbEngine.begin() as conn:
        conn.execute(sa.insert(settings), [{"name": "Global"}, {"name": "Other"}])
        ids = dict(conn.execute(sa.select(settings.c.name, settings.c.id)).all())
        empty = {"int_value": None, "char_value": None, "boolean_value": None}
        conn.execute(
            sa.insert(properties),
            [
                {
                    **empty,
                    "settingId": ids["Global"],
                    "key": "p1",
                    "type": "char",
                    "char_value": "one",
                },
                {**empty, "settingId": ids["Global"], "key": "p2", "type": "int", "int_value": 2},
                {**empty, "settingId": ids["Other"], "key": "p3", "type": "int", "int_value": 3},
            ],
        )


def test_tutorial_setting_property_handler_loads_and_saves_global_settings(db, logicAgent, rows):
    """The manual's SettingPropertyHandler serves the Global properties and saves edits."""
    logic, agent = logicAgent
    logic.makeDefault()
    insertSettings(db)
    handler = tutorialadminbackend.makeSettingPropertyHandler(db.ormSessionCreator)
    client = CrudClient(agent, LOGIC, tutorialadminbackend.settingFiltKey)

    loaded = client.call("retrieve").tuples
    assert [(p.key, p.char_value, p.int_value) for p in loaded] == [
        ("p1", "one", None),
        ("p2", None, 2),
    ]
    loaded[0].char_value = "edited"
    saved = client.call("save", loaded)
    assert saved.error is None
    stored = {row[2]: row[5] for row in rows(db, "SettingProperty")}
    assert stored == {"p1": "edited", "p2": None, "p3": None}
    client.shutdown()
    handler.shutdown()


class RecordingObservable:
    """Stands in for a TupleDataObservableHandler: records notified selectors and threads."""

    def __init__(self) -> None:
        self.notified: list[tuple[TupleSelector, bool]] = []

    def notifyOfTupleUpdate(self, tupleSelector: TupleSelector) -> None:
        self.notified.append((tupleSelector, threading.current_thread() is threading.main_thread()))


def test_tutorial_update_observable_extension_is_told_of_saves_and_deletes(db, logicAgent):
    """The manual's __ExtUpdateObservable hears afterUpdateCommit and afterDeleteCommit."""
    logic, agent = logicAgent
    logic.makeDefault()
    observable = RecordingObservable()
    handler = tutorialadminbackend.makeStringIntTableHandler(observable, db.ormSessionCreator)
    client = CrudClient(agent, LOGIC, tutorialadminbackend.stringIntFiltKey)

    saved = client.call("save", [StringIntTuple(string1="a", int1=1)]).tuples
    assert len(observable.notified) == 1
    client.call("delete", saved)
    expected = TupleSelector(StringIntTuple.tupleName(), {})
    assert [s.toJsonStr() for s, _ in observable.notified] == [expected.toJsonStr()] * 2
    assert not any(onReactor for _, onReactor in observable.notified)
    client.shutdown()
    handler.shutdown()
