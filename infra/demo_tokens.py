"""The demo's signing keys on personal tokens (issue 20 item 1): each leader or delegate who holds a certificate of
the demo PKI, and each agency's seal, gets a SoftHSM2 token of their own with a PIN made now, and signing binds the
person (or the agency) to it. The demo then runs with SIGNING_SERVER_HELD_KEYS=false, as production does: the
leader types the PIN at "Duyệt và ký", the clerk the seal's PIN at "Ban hành"; the server holds no key it can use
alone.

A real person knows their token's PIN; the demo's people are made up, so the start-up text (and the demo's
accounts file, 0600, beside their passwords) tells them. Nothing of the product stores a PIN. A token made on an
earlier start is kept with its PIN: an existing label is not provisioned again.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from services.common.actor import Actor
from services.common.rpc_client import ServiceClient

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def _exists(module: str, label: str) -> bool:
    from services.common.errors import CongVanError
    from services.signing.pkcs11 import _token

    try:
        _token(module, label)
    except CongVanError:
        return False
    return True


def seed_tokens(client: ServiceClient, actor: Actor, organ_id: str, staff: list[dict[str, Any]], pki_dir: Path,
                module: str = SOFTHSM_MODULE) -> list[str]:
    """Provision and bind the tokens of one agency; returns a line per new token for the start-up text."""
    from services.signing import pki
    from services.signing.pkcs11 import provision_issued, token_label_of
    from services.signing.workflow import seal_holder

    made = pki.load_pki(pki_dir)
    entry = made.manifest.get("agencies", {}).get(organ_id)
    if entry is None:
        return []
    people = {p["full_name"]: p for p in staff}
    holders = [(seal_holder(organ_id), "seal", entry["seal"]["p12"], entry["name"], "con dấu của cơ quan")]
    for cert in pki.personal_certificates(made, organ_id):
        person = people.get(cert["name"])
        if person is not None:
            holders.append((person["user_id"], "personal", cert["p12"], cert["name"], person["username"]))
    lines = []
    for holder, kind, p12, name, who in holders:
        label = token_label_of(holder)
        if _exists(module, label):
            continue
        pin = f"{secrets.randbelow(10**6):06d}"
        ref = provision_issued(module, holder, pki.read_p12(made.dir / p12, made.password), pin, label=label)
        client.call("signing", "register_certificate", actor, holder, kind, ref, name)
        lines.append(f"    {who:<22} mã PIN thiết bị ký số: {pin}   ({name})")
    return lines
