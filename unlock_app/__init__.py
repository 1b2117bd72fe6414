"""unlock-app: unlock a protected panel with what you show your webcam."""

__version__ = "0.1.0"
