"""Qt screens and theme of the kiosk."""
