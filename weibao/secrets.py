"""Secret references: the inventory never holds a secret, only where to find it.

``env:NAME`` reads an environment variable, ``file:/path`` reads a file (trailing
newline stripped). Resolution happens at inspection time and raises SecretMissing
naming the reference, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIXES = ("env:", "file:")


@dataclass(frozen=True)
class SecretRef:
    kind: str  # "env" or "file"
    target: str

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """Raise ValueError for anything that is not ``env:NAME`` or ``file:/abs/path``."""
        if not isinstance(text, str):
            raise ValueError("a secret must be a reference: env:NAME or file:/path")
        if text.startswith("env:"):
            name = text[4:]
            if not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
                raise ValueError(f"env:{name} is not a valid environment variable name")
            return cls("env", name)
        if text.startswith("file:"):
            path = text[5:]
            if not path.startswith("/"):
                raise ValueError(f"file:{path} must be an absolute path, e.g. file:/etc/weibao/x")
            return cls("file", path)
        raise ValueError(
            "literal secrets are not allowed in the inventory (it gets copied, mailed and "
            "committed): write env:NAME or file:/path instead"
        )

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    def missing_reason(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Why this reference cannot be resolved now, or None when it can."""
        env = os.environ if environ is None else environ
        if self.kind == "env":
            return None if self.target in env else f"environment variable {self.target} is not set"
        path = Path(self.target)
        if not path.is_file():
            return f"file {self.target} does not exist"
        if not os.access(path, os.R_OK):
            return f"file {self.target} is not readable by this user"
        return None

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        from weibao.errors import SecretMissing

        reason = self.missing_reason(environ)
        if reason:
            raise SecretMissing(f"secret {self} cannot be read: {reason}")
        if self.kind == "env":
            env = os.environ if environ is None else environ
            return env[self.target]
        return Path(self.target).read_text(encoding="utf-8").rstrip("\r\n")
