"""Development-only secrets, generated once per machine.

In development the site must start with no configuration at all, yet the
repository must hold no secret. So the first start writes random keys to a
git-ignored file in the data folder and later starts reuse them (the
encrypted RRNs in the development database stay readable). Production never
calls this: there every key must come from the environment.
"""

import base64
import json
import os
import secrets
from pathlib import Path

_NAMES = ("DJANGO_SECRET_KEY", "CERTBANK_FIELD_KEY", "CERTBANK_INDEX_KEY", "CERTBANK_CA_PASSPHRASE")


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def load_or_create(data_dir: Path) -> dict[str, str]:
    path = data_dir / "dev-secrets.json"
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        stored = {}
    missing = [name for name in _NAMES if name not in stored]
    if missing:
        stored.update({name: _new_key() for name in missing})
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
    return stored
