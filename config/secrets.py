"""The secrets directory: where sessions and proxy credentials live instead of the config.

One place for its name and its rule, shared by the account pools (``crawlers.sessions``),
the proxy pool (``crawlers.proxies``) and ``vocwatch login``: the directory and every file
in it must be its owner's alone (no group or other permission bits, owned by the user
running vocwatch), because a session cookie is as good as a password.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SECRETS_DIR_ENV = "VOCWATCH_SECRETS_DIR"


def private_problem(path: Path) -> str | None:
    """What makes ``path`` not private (its mode lets group or others in, or another user
    owns it), with the command that fixes it; None when only its owner may read it."""
    st = path.stat()
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        want = "700" if stat.S_ISDIR(st.st_mode) else "600"
        return (f"holds secrets but its mode is {mode:04o}: group or others may read it; it must be "
                f"readable by its owner only (chmod {want} {path})")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"holds secrets but belongs to another user (uid {st.st_uid}), not the one running vocwatch"
    return None


def check_private(path: Path, key: str = "") -> None:
    """Raise ``ConfigError`` (file = ``path``) unless ``path`` is private (:func:`private_problem`);
    a missing path is reported as such."""
    from config.loader import ConfigError

    try:
        problem = private_problem(path)
    except FileNotFoundError:
        raise ConfigError(path, key, "does not exist") from None
    if problem:
        raise ConfigError(path, key, problem)
