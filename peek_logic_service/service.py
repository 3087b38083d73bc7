"""The logic service's composition: its platform hook and extensions (``peek.services``)."""

from __future__ import annotations

from peek_logic_service.admin.devices_pages import DevicesAdmin
from peek_logic_service.admin.diagnostics_pages import DiagnosticsAdmin
from peek_logic_service.admin.extension import AdminSiteExtension, OverviewFigures
from peek_logic_service.admin.plugin_upload import PluginUploadExtension
from peek_logic_service.admin.plugins_pages import PluginsAdmin
from peek_logic_service.admin.users_pages import IdentityAdmin
from peek_logic_service.celery.extension import LogicCeleryExtension
from peek_logic_service.operations import PlatformCommandsExtension
from peek_logic_service.platform_hook import LogicPlatformHook
from peek_logic_service.status import PlatformStatusExtension
from peek_platform.bulk.logic import BulkIndexExtension
from peek_platform.identity.device_extension import DeviceServiceExtension
from peek_platform.identity.extension import IdentityServiceExtension
from peek_platform.metrics import MetricsExtension
from peek_platform.process import ServiceComposition, ServiceContext, SiteTrees
from peek_platform.services import ServiceSpec
from peek_platform.storage.extension import StorageServiceExtension
from peek_platform.vortex import DataExchangeServerExtension


def tasksFinished(celery: LogicCeleryExtension) -> int:
    """Celery tasks logic submitted that have finished, for the Overview's task rate."""
    submitter = celery.submitter
    return 0 if submitter is None else submitter.succeededCount + submitter.failedCount


def compose(spec: ServiceSpec, sites: SiteTrees) -> ServiceComposition:
    """Data exchange server, storage, identity, devices, Celery submitter, platform status,
    platform commands, plugin upload setting, admin, metrics (``/metrics`` on the admin site)."""
    vortex = DataExchangeServerExtension()
    celery = LogicCeleryExtension()
    # status.view is the live platform view (subscribe/snapshot) the admin site shows.
    status = PlatformStatusExtension(vortex)
    operations = PlatformCommandsExtension(vortex, status)
    storage = StorageServiceExtension()
    upload = PluginUploadExtension()
    identity = IdentityServiceExtension(storage, vortexFactory=lambda: vortex.factory)
    devices = DeviceServiceExtension(storage, vortexFactory=lambda: vortex.factory)
    bulk = BulkIndexExtension(
        storage,
        submit=lambda: None if celery.submitter is None else celery.submitter.submit,
        vortexFactory=lambda: vortex.factory,
    )
    admin = AdminSiteExtension(
        sites["admin"],
        check=identity.check,
        revalidate=identity.revalidate,
        vortexFactory=lambda: vortex.factory,
        statusView=status.view,
        storage=storage,
        identityAdmin=lambda: IdentityAdmin(
            identity.store, inThread=storage.inThread, permissions=identity.permissions
        ),
        devicesAdmin=lambda: DevicesAdmin(devices),
        pluginsAdmin=lambda: PluginsAdmin(lambda: operations.commands, upload),
        diagnosticsAdmin=lambda: DiagnosticsAdmin(lambda: operations.commands),
        overviewFigures=OverviewFigures(
            devicesOnline=lambda: len(devices.registry.onlineDeviceIds()),
            tasksFinished=lambda: tasksFinished(celery),
        ),
    )

    metrics = MetricsExtension(
        vortexFactory=lambda: vortex.factory,
        sites=[admin],
        celery=lambda: celery.submitter,
    )

    def platformHook(ctx: ServiceContext, pluginName: str) -> LogicPlatformHook:
        """Each plugin's hook; all share this process's admin and logic site trees."""
        assert ctx.loader is not None
        return LogicPlatformHook(
            ctx.home,
            ctx.config,
            pluginName,
            ctx.loader,
            adminSite=sites["admin"],
            logicSite=sites["logic"],
            celery=celery,
            deviceStatus=devices.registry,
            bulk=bulk,
        )

    return ServiceComposition(
        platformHook=platformHook,
        extensions=[
            vortex,
            storage,
            identity,
            devices,
            celery,
            bulk,
            status,
            operations,
            upload,
            admin,
            metrics,
        ],
    )
