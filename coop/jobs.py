"""Work that may outlast a request: run in a background thread of the web process.

Tests and the CLI run jobs inline (COOP_JOBS_INLINE) so that they share the
caller's transaction handling and see its data.
"""

import threading
from collections.abc import Callable

from flask import current_app


def run_in_background(job: Callable[..., object], *args) -> threading.Thread | None:
    """Start `job(*args)` in its own thread with an app context; None when run inline."""
    app = current_app._get_current_object()
    if app.config["COOP_JOBS_INLINE"]:
        job(*args)
        return None

    def target() -> None:
        with app.app_context():
            job(*args)

    thread = threading.Thread(target=target, name=f"coop-job-{job.__name__}", daemon=True)
    thread.start()
    return thread
