"""Gateway settings (environment variables; docs/configuration.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    agencies_file: Path | None = Field(None, description="JSON: organ id -> {name, amqp_uri, ...}, one per agency")
    directory_file: Path | None = Field(None, description="Agency directory (JSON/CSV) for picking recipients")
    hub_directories: str = Field("", description="Comma-separated keys of the hubs' directory databases this "
                                                 "installation writes when an agency is added or disabled (the "
                                                 "hubs' `hub.<code>`, with the broker namespace if any), on the "
                                                 "same DATA_DIR or DATABASE_URL as the hubs")
    cookie_secure: bool = Field(False, description="Mark cookies Secure always (they are Secure anyway on a request "
                                                  "that came over HTTPS)")
    trusted_proxies: str = Field("", description="Comma-separated addresses (or CIDR ranges) of the reverse proxies "
                                                 "whose X-Forwarded-Proto and X-Forwarded-For are believed")
    gateway_workers: int = Field(0, description="Worker processes of `python -m gateway` (0: as many as the cores "
                                                "the process may run on; gateway/__main__.py)")
    gateway_access_log: bool = Field(True, description="One log line per request (uvicorn's access log)")
    session_idle_minutes: int = 120
    max_upload_mb: int = 50
    lockout_failures: int = 5
    lockout_minutes: int = 15
    rpc_timeout: float = 30.0
    gateway_write_slots: int = Field(1, description="Registrations and issues each gateway worker lets run at once; "
                                                    "the others wait their turn (gateway/backends.py HEAVY_WRITES). "
                                                    "0: no bound")
    hub_reports_file: Path | None = Field(
        None, description="JSON: hub code -> {name, parent, url (the hub's GET /report), token, agencies: [organ ids]}"
                          " for the hub operators' screen; written at provisioning (secret: tokens)")
    hub_report_timeout: float = 15.0
    prometheus_url: str | None = Field(None, description="Prometheus that scrapes the hubs and edges, for the "
                                                         "operators' queue page (gateway/monitoring.py)")
    prometheus_timeout: float = 10.0
    # Sign-in with the province's directory (gateway/ldap_directory.py; docs/deployment.md). Unset LDAP_URL: local
    # accounts only.
    signing_server_held_keys: bool = Field(
        True, description="Same variable as the signing service's: true on a TEST installation whose keys the server "
        "holds; every page then says so, and the PIN at signing is optional")
    ldap_url: str = Field("", description="ldap://host:389 or ldaps://host:636 of the directory; unset: none")
    ldap_agency_id: str = Field("", description="Organ id of the directory's staff")
    ldap_bind_dn_template: str = Field("", description="Direct bind, e.g. uid={username},ou=people,dc=...")
    ldap_search_base: str = Field("", description="Search then bind: where people are looked up")
    ldap_search_filter: str = "(uid={username})"
    ldap_service_dn: str = ""
    ldap_service_password: str = Field("", repr=False)
    ldap_group_base: str = ""
    ldap_group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    ldap_role_map: dict[str, list[str]] = Field(default_factory=dict, description="JSON: group DN -> roles")
    ldap_active_filter: str = ""
    ldap_name_attribute: str = "cn"
    ldap_email_attribute: str = "mail"
    ldap_unit_attribute: str = ""
    ldap_start_tls: bool = False
    ldap_ca_file: Path | None = None
    ldap_timeout: float = 5.0

    # Notifications to phones and browsers (Web Push; gateway/push.py, docs/deployment.md). Off unless enabled.
    push_enabled: bool = Field(False, description="Offer notifications through the browsers' push services")
    push_subject: str = Field("", description="Contact given to the push services (RFC 8292): mailto: or https: URL")
    push_vapid_key_file: Path | None = Field(None, description="The installation's VAPID key (PEM, P-256), made at "
                                                               "the first start; default DATA_DIR/gateway/vapid.pem")
    push_services: str = Field("fcm.googleapis.com,push.services.mozilla.com,push.apple.com,notify.windows.com",
                               description="Comma-separated host names (and their subdomains) of the push services "
                                           "the gateway may post to: no other address is ever contacted")
    push_allow_http: bool = Field(False, description="Accept http:// push endpoints (tests only)")
    push_timeout: float = 10.0

    # Self-service password reset (gateway/password_reset.py, docs/deployment.md "E-mail"): the same SMTP variables
    # as routing's notifications; without SMTP_HOST and PUBLIC_URL no reset e-mail is sent (the request is logged).
    public_url: str = Field("", description="The address people open the gateway at, e.g. https://qlvb.tuyenquang."
                                            "gov.vn: the base of the links in e-mail (never taken from a request's "
                                            "Host header, which anyone can set)")
    smtp_host: str = Field("", description="SMTP server for the gateway's e-mail; unset: none")
    smtp_port: int = 25
    smtp_from: str = "congvan@localhost"

    def ldap_config(self):
        """The directory's settings, checked (a wrong one stops the gateway at start), or None without LDAP_URL."""
        from gateway.ldap_directory import LdapConfig

        if not self.ldap_url:
            return None
        return LdapConfig(**{name[len("ldap_"):]: getattr(self, name)
                             for name in type(self).model_fields if name.startswith("ldap_")})


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()
