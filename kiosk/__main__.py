"""`python -m kiosk` is the same as the `ss-kiosk` command."""

from kiosk.cli import main

raise SystemExit(main())
