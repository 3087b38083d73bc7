"""Vortex names of the services and browser apps, modern and legacy (docs/dev/architecture.rst)."""

#: The logic service (central: storage, migrations, admin).
peekLogicName = "peek-logic-service"
#: The field service (serves the field app to devices).
peekFieldName = "peek-field-service"
#: The office service (serves the office app to desktops).
peekOfficeName = "peek-office-service"
#: The agent service (integrations with external systems).
peekAgentName = "peek-agent-service"
#: The worker service (Celery tasks).
peekWorkerName = "peek-worker-service"

#: Browser clients of the field site.
peekFieldAppName = "peek-field-app"
#: Browser clients of the office site.
peekOfficeAppName = "peek-office-app"
#: Browser clients of the admin site.
peekAdminAppName = "peek-admin-app"

#: Legacy name of the logic service, as used by the manual's tutorial.
peekServerName = peekLogicName
#: Legacy name of the client service; field carries the old client role.
peekClientName = peekFieldName
#: Legacy name of the mobile browser clients.
peekMobileName = peekFieldAppName
#: Legacy name of the desktop browser clients.
peekDesktopName = peekOfficeAppName
#: Legacy name of the admin browser client.
peekAdminName = peekAdminAppName
