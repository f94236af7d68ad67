"""gunicorn settings for the torture run (passed with --config).

Each worker names its database connections after its process id
(application_name=torture-w<pid>), so the fault injector can find a worker
that is inside a request, in pg_stat_activity, and SIGKILL exactly that one.
"""

import os


def post_fork(server, worker):
    # Runs in the new worker before it loads the Django application (no preload),
    # so the settings it reads next see this DATABASE_URL.
    url = os.environ["DATABASE_URL"]
    separator = "&" if "?" in url else "?"
    os.environ["DATABASE_URL"] = f"{url}{separator}application_name=torture-w{os.getpid()}"
