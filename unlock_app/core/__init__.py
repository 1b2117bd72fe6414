"""The Qt-free core: camera sources, preprocessing, the model, matching, the unlock
decision, settings.  Nothing here imports PySide6 and nothing heavy runs at import."""
