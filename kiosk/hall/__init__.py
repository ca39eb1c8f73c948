"""The hall's side: API v1 for the kiosks and a live console for the hall's staff, on one server.

store.py keeps what reaches the hall (receipts, help requests, heartbeats, staff accounts) in SQLite or
PostgreSQL; api.py answers the kiosks; console.py is the staff's pages; server.py runs both on their own
ports with uvicorn. No personal data reaches the console: kiosks send only opaque subjects and screens.
"""
