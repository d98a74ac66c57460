"""Officials' names are personal data: outputs can carry stable pseudonyms instead.

A pseudonym is a keyed hash (HMAC-SHA256) of the NFC name, so the same person gets the same
pseudonym everywhere within one key, and a name cannot be recovered by hashing a list of
common names without the key. The key comes from COMPLIANCE_REDACT_KEY (keep it secret and
the same across runs whose outputs must match), or is drawn at random for one run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from typing import Any

from .visit import Visit

KEY_ENV = "COMPLIANCE_REDACT_KEY"
PREFIX = "NV-"


def redaction_key(explicit: str | None = None) -> str:
    """The key to use: given, from the environment, or a fresh random one."""
    return explicit or os.environ.get(KEY_ENV) or secrets.token_hex(32)


class Redactor:
    """Replaces names with pseudonyms; immutable and thread-safe."""

    def __init__(self, key: str):
        self._key = key.encode("utf-8")

    def pseudonym(self, name: str) -> str:
        digest = hmac.new(self._key, unicodedata.normalize("NFC", name.strip()).encode("utf-8"), hashlib.sha256)
        return PREFIX + digest.hexdigest()[:12]

    def visit(self, visit: Visit) -> Visit:
        """The visit with every official's name replaced (nothing else changes)."""
        if not any(o.name for o in visit.personnel):
            return visit
        personnel = [o.model_copy(update={"name": self.pseudonym(o.name)}) if o.name else o for o in visit.personnel]
        return visit.model_copy(update={"personnel": personnel})

    def result_dict(self, data: dict[str, Any]) -> dict[str, Any]:
        """A stored result (contract shape) with the names in its findings replaced, for
        outputs made from results evaluated without redaction."""
        for finding in data.get("findings") or ():
            evidence = finding.get("evidence") or {}
            name = evidence.get("official_name")
            if isinstance(name, str) and name and not name.startswith(PREFIX):
                alias = self.pseudonym(name)
                evidence["official_name"] = alias
                message = finding.get("message") or {}
                for lang, text in list(message.items()):
                    if isinstance(text, str):
                        message[lang] = text.replace(name, alias)
        return data
