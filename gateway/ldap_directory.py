"""Sign-in against the province's directory (LDAP), for installations that have one.

Đà Nẵng, QĐ 8849/QĐ-UBND Đ3.1: staff sign in with the user name and password of their e-government mail account.
The directory checks the password (a bind as the person); its groups give the person's roles here. Local accounts
(gateway/auth.py) stay for installations without a directory and for the ones the directory does not know.

The adapter answers with a `DirectoryPerson` or the reason for a refusal; it never raises for a wrong password, and
raises `DirectoryUnavailable` only when the directory cannot be asked at all (so no failed attempt is counted).
"""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from gateway.accounts import check_roles, unit_code
from services.common.errors import CongVanError

log = logging.getLogger(__name__)

# Directory user names (uid, sAMAccountName, the local part or whole address of a mail account). Anything else is
# refused before the directory is asked: nothing a person types reaches a DN or a filter unescaped anyway.
DIRECTORY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
INVALID_CREDENTIALS = 49


class DirectoryUnavailable(CongVanError):
    code = "directory_unavailable"
    http_status = 503


class LdapConfig(BaseModel):
    """One directory per installation (environment variables LDAP_*; docs/deployment.md "Sign-in with LDAP")."""

    url: str = Field(description="ldap://host:389 or ldaps://host:636")
    agency_id: str = Field(description="The organ id the directory's staff belong to")
    bind_dn_template: str = Field("", description="Direct bind: 'uid={username},ou=people,dc=...'")
    search_base: str = Field("", description="Search then bind: where people are looked up")
    search_filter: str = "(uid={username})"
    service_dn: str = Field("", description="Account that may search people and groups (search mode)")
    service_password: str = ""
    group_base: str = ""
    group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    role_map: dict[str, list[str]] = Field(default_factory=dict, description="Group DN -> roles here")
    active_filter: str = Field("", description="A filter the person's entry must match to sign in, e.g. "
                                                "'(!(zimbraAccountStatus=locked))'")
    name_attribute: str = "cn"
    email_attribute: str = "mail"
    unit_attribute: str = ""
    start_tls: bool = False
    ca_file: Path | None = None
    timeout: float = 5.0

    @field_validator("role_map")
    @classmethod
    def _roles_known(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for group, roles in value.items():
            if reason := check_roles(roles):
                raise ValueError(f"{group}: {reason}")
        return {normalize_dn(group): roles for group, roles in value.items()}

    @model_validator(mode="after")
    def _one_way_to_find_people(self) -> LdapConfig:
        if bool(self.bind_dn_template) == bool(self.search_base):
            raise ValueError("set exactly one of LDAP_BIND_DN_TEMPLATE and LDAP_SEARCH_BASE")
        if not self.role_map:
            raise ValueError("LDAP_ROLE_MAP is empty: nobody could sign in")
        return self


@dataclass(frozen=True)
class DirectoryPerson:
    dn: str
    username: str
    full_name: str
    email: str
    unit: str | None
    roles: list[str]


def normalize_dn(dn: str) -> str:
    """Compare DNs the way directories do for the usual cases: case and spaces around separators do not count."""
    return re.sub(r"\s*([,=+])\s*", r"\1", dn.strip()).lower()


def roles_for(group_dns: list[str], role_map: dict[str, list[str]]) -> list[str]:
    """The roles of a person in these groups (a person in no mapped group has none)."""
    roles: set[str] = set()
    for group in group_dns:
        roles.update(role_map.get(normalize_dn(group), []))
    return sorted(roles)


class LdapDirectory:
    def __init__(self, config: LdapConfig) -> None:
        from ldap3 import Server, Tls

        self.config = config
        tls = None
        if config.url.lower().startswith("ldaps://") or config.start_tls:
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(config.ca_file) if config.ca_file else None)
        self._server = Server(config.url, connect_timeout=config.timeout, tls=tls, get_info=None)

    @property
    def agency_id(self) -> str:
        return self.config.agency_id

    def authenticate(self, username: str, password: str) -> DirectoryPerson | str:
        """The person, or the refusal's reason: bad_password, unknown_user, directory_locked, no_role."""
        from ldap3.core.exceptions import LDAPException

        if not DIRECTORY_NAME_RE.fullmatch(username):
            return "unknown_user"
        if not password:
            # An empty password would make an "unauthenticated bind", which directories answer with success.
            return "bad_password"
        try:
            return self._authenticate(username, password)
        except LDAPException as exc:
            log.warning("directory %s unreachable or refused the search: %r", self.config.url, exc)
            raise DirectoryUnavailable("Không kết nối được hệ thống thư mục (LDAP) để đăng nhập; vui lòng thử lại "
                                       "sau hoặc báo quản trị viên.", error=type(exc).__name__) from exc

    def _authenticate(self, username: str, password: str) -> DirectoryPerson | str:
        from ldap3.utils.conv import escape_filter_chars
        from ldap3.utils.dn import escape_rdn

        cfg = self.config
        service = self._connect(cfg.service_dn, cfg.service_password) if cfg.service_dn else None
        try:
            if cfg.bind_dn_template:
                dn = cfg.bind_dn_template.format(username=escape_rdn(username))
            else:
                if service is None:
                    service = self._connect("", "")  # an anonymous search, where the directory allows it
                query = cfg.search_filter.format(username=escape_filter_chars(username))
                service.search(cfg.search_base, query, attributes=[], size_limit=2)
                if len(service.entries) != 1:
                    return "unknown_user"
                dn = service.entries[0].entry_dn
            person = self._connect(dn, password, must_bind=False)
            try:
                if not person.bound:
                    # 49 is a wrong password, an unknown DN or (with ppolicy) a locked account: one answer for all.
                    code = person.result.get("result")
                    if code != INVALID_CREDENTIALS:
                        log.warning("directory bind for %s refused: %s", dn, person.result.get("description"))
                    return "bad_password"
                reader = service or person
                attributes = [a for a in (cfg.name_attribute, cfg.email_attribute, cfg.unit_attribute) if a]
                query = f"(&(objectClass=*){cfg.active_filter})" if cfg.active_filter else "(objectClass=*)"
                reader.search(dn, query, search_scope="BASE", attributes=attributes)
                if not reader.entries:
                    return "directory_locked" if cfg.active_filter else "unknown_user"
                entry = reader.entries[0]
                groups = self._groups(reader, dn, username) if cfg.group_base else []
                roles = roles_for(groups, cfg.role_map)
                if not roles:
                    return "no_role"
                unit = unit_code(_first(entry, cfg.unit_attribute))[:32] if cfg.unit_attribute else ""
                full_name = _first(entry, cfg.name_attribute) or username
                return DirectoryPerson(dn=dn, username=username, full_name=full_name,
                                       email=_first(entry, cfg.email_attribute), unit=unit or None, roles=roles)
            finally:
                person.unbind()
        finally:
            if service is not None:
                service.unbind()

    def _groups(self, reader, dn: str, username: str) -> list[str]:
        from ldap3.utils.conv import escape_filter_chars

        query = self.config.group_filter.format(dn=escape_filter_chars(dn), username=escape_filter_chars(username))
        reader.search(self.config.group_base, query, attributes=[])
        return [e.entry_dn for e in reader.entries]

    def _connect(self, dn: str, password: str, must_bind: bool = True):
        from ldap3 import Connection
        from ldap3.core.exceptions import LDAPBindError

        conn = Connection(self._server, user=dn or None, password=password or None, read_only=True,
                          receive_timeout=max(1, round(self.config.timeout)), raise_exceptions=False)
        conn.open()
        if self.config.start_tls:
            conn.start_tls()
        conn.bind()
        if must_bind and not conn.bound:
            conn.unbind()
            raise LDAPBindError(f"service bind as {dn or 'anonymous'} refused: {conn.result.get('description')}")
        return conn


def _first(entry, attribute: str) -> str:
    if not attribute or attribute not in entry:
        return ""
    values = entry[attribute].values
    return str(values[0]).strip()[:100] if values else ""
