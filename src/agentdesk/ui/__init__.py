"""PySide6 widgets and windows: the only package that imports Qt widgets (with app.py)."""
