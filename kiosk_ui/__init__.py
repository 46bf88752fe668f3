"""The PySide6 kiosk and counter app."""
