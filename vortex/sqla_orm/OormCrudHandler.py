"""The manual's misspelt module path ``vortex.sqla_orm.OormCrudHandler``, kept so its code runs.

The tutorial (8.9.13, "Admin Update Notify") imports ``OormCrudHandlerExtension`` from here;
new code should import ``OrmCrudHandler`` and ``OrmCrudHandlerExtension`` from
``vortex.sqla_orm.OrmCrudHandler``.
"""

from vortex.sqla_orm.OrmCrudHandler import OrmCrudHandler, OrmCrudHandlerExtension

OormCrudHandler = OrmCrudHandler
OormCrudHandlerExtension = OrmCrudHandlerExtension

__all__ = [
    "OormCrudHandler",
    "OormCrudHandlerExtension",
    "OrmCrudHandler",
    "OrmCrudHandlerExtension",
]
