"""Reading a person's kubeconfig file: lightkube's ``KubeConfig``, or one located
refusal instead of a traceback.

The checks are kubectl's own (``clientcmd``'s ``validateClusterInfo`` and context
checks: a current context that names a cluster and user the file holds). A YAML
error is reported by line and column only: PyYAML's own text quotes the offending
line, and a kubeconfig's lines hold tokens and keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strata.errors import StrataError

__all__ = ["KUBECONFIG_HINT", "KubeconfigRefused", "load_kubeconfig"]

KUBECONFIG_HINT = "pass --kubeconfig FILE, or set KUBECONFIG as for kubectl"


class KubeconfigRefused(StrataError):
    """A kubeconfig that cannot be read or used: the file and what is wrong with it,
    never what it holds."""

    kind = "kubeconfig"
    exit_code = 2

    def __init__(self, message: str, hint: str | None = KUBECONFIG_HINT) -> None:
        super().__init__(message)
        self.hint = hint


def load_kubeconfig(kubeconfig: Path) -> Any:
    """lightkube's ``KubeConfig`` for the file, its current context resolved; raises
    ``KubeconfigRefused`` naming what is wrong (unreadable, not YAML with its line and
    column, no clusters, no current context, a context naming a cluster or user it
    lacks, a field of the wrong shape)."""
    import yaml
    from lightkube import KubeConfig
    from lightkube.core.exceptions import ConfigError

    try:
        data = yaml.safe_load(kubeconfig.read_text())
    except OSError as err:
        raise KubeconfigRefused(f"{kubeconfig}: cannot read it: {err.strerror}") from None
    except UnicodeDecodeError:
        raise KubeconfigRefused(f"{kubeconfig}: not a kubeconfig (not text)") from None
    except yaml.YAMLError as err:
        raise KubeconfigRefused(f"{kubeconfig}: not a kubeconfig ({_yaml_fault(err)})") from None
    problem = _problem(data)
    if problem is not None:
        raise KubeconfigRefused(f"{kubeconfig}: not a usable kubeconfig: {problem}")
    try:
        config = KubeConfig.from_dict(data, fname=kubeconfig)
        config.get()  # the current context, its cluster and user resolved
    except (ConfigError, KeyError, ValueError) as err:
        raise KubeconfigRefused(f"{kubeconfig}: cannot use this kubeconfig: {err}") from None
    except (TypeError, AttributeError):
        raise KubeconfigRefused(
            f"{kubeconfig}: not a usable kubeconfig: a field has the wrong shape"
        ) from None
    return config


def _yaml_fault(err: Exception) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or "it is not YAML"
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"not YAML{at}: {problem}"


def _problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "it is not a mapping"
    for key in ("clusters", "contexts"):
        if not isinstance(data.get(key), list) or not data[key]:
            return f"it has no {key}"
    current = data.get("current-context")
    if not current:
        return "it sets no current-context"
    contexts = {
        c.get("name"): c.get("context") or {} for c in data["contexts"] if isinstance(c, dict)
    }
    if current not in contexts:
        return f"its current-context {current} is not among its contexts"
    clusters = {c.get("name") for c in data["clusters"] if isinstance(c, dict)}
    if contexts[current].get("cluster") not in clusters:
        return f"context {current} names cluster {contexts[current].get('cluster')}, which it lacks"
    return _user_problem(data, contexts[current].get("user"))


def _user_problem(data: dict[str, Any], name: Any) -> str | None:
    """A client certificate needs its key and a key its certificate (a file cut short
    while it was written has the one without the other)."""
    users: list[Any] = data["users"] if isinstance(data.get("users"), list) else []
    named = [u for u in users if isinstance(u, dict) and u.get("name") == name]
    if name is not None and not named:
        return f"its current context names user {name}, which it lacks"
    user: Any = named[0].get("user") if named else {}
    if not isinstance(user, dict):
        return f"user {name} is not a mapping"
    cert = user.get("client-certificate-data") or user.get("client-certificate")
    key = user.get("client-key-data") or user.get("client-key")
    if bool(cert) != bool(key):
        has, lacks = ("a client certificate", "key") if cert else ("a client key", "certificate")
        return f"user {name} has {has} but no client {lacks}"
    return None
