"""Application core of the social security self-service kiosk: no Qt, no devices."""

__version__ = "0.1.0"
