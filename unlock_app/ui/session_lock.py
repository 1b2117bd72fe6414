"""Noticing that the desktop session locked (the screen saver came on)."""

from __future__ import annotations

from PySide6.QtCore import SLOT, QObject, Signal, Slot
from PySide6.QtDBus import QDBusConnection

# Desktops announce their screen locker on the session bus under one of these names.
_SCREEN_SAVERS = (
    ("/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver"),
    ("/ScreenSaver", "org.freedesktop.ScreenSaver"),
    ("/org/gnome/ScreenSaver", "org.gnome.ScreenSaver"),
)


class SessionLockWatcher(QObject):
    """Emits ``session_locked`` when the screen saver or lock screen comes on.

    Listens on ``bus`` (the session bus by default); where there is no bus (Windows,
    macOS, a bare X server) it simply never fires, and ``listening`` is False.
    """

    session_locked = Signal()

    def __init__(self, bus: QDBusConnection | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus if bus is not None else QDBusConnection.sessionBus()
        self.listening = False
        if self.bus.isConnected():
            for path, interface in _SCREEN_SAVERS:
                self.listening |= self.bus.connect(
                    "", path, interface, "ActiveChanged", self, SLOT("_on_active_changed(bool)")
                )

    @Slot(bool)
    def _on_active_changed(self, active: bool) -> None:
        if active:
            self.session_locked.emit()
