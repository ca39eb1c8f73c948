"""One module per citizen screen; each a Page rebuilt from the session's View."""
