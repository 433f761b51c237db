"""The agencies an installation hosts, and onboarding without restarts (issue 16, item 3).

An installation serves any number of agencies with one set of processes: the agency of a unit of work comes from
its acting user, so a new agency needs no process, no restart and no configuration file. Adding one is an
operator action (the screen /van-hanh/co-quan, `POST /api/v1/agencies`, `congvan agency add`) that, idempotently:

- records the agency in `hosted_agencies` (which installation's services serve it);
- creates its registers for the year (registry `create_register`, one per direction) and its profile;
- creates its administrator's account (a password generated now and shown once);
- writes its record into the agency directories of this installation: the gateway's (recipient picker) and the
  hubs' listed in HUB_DIRECTORIES, which the hubs read for every package.

Disabling keeps every row and file of the agency: its people can no longer sign in (sessions and tokens stop at
once) and its directory record is locked, so a hub answers a package addressed to it with status 02 ("đang bị
khóa trên trục liên thông").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from gateway.accounts import STAFF_ROLES, account_name, temporary_password, unit_code
from gateway.models import HostedAgency, User, WebSession
from services.common import clock
from services.common.actor import Actor, Role
from services.common.errors import Conflict, CongVanError, NotFound, ValidationFailed
from services.common.textfold import fold

log = logging.getLogger(__name__)

ONBOARDING_ACTOR = "system:onboarding"
AGENCY_WORKERS = 8   # agencies asked side by side by the province operator's screens

Row = TypeVar("Row")


def onboarding_actor(organ_id: str) -> Actor:
    """The actor of the calls onboarding makes in a new agency (its registers, profile, staff directory)."""
    return Actor(user_id=ONBOARDING_ACTOR, username="onboarding", agency_id=organ_id,
                 roles=frozenset({Role.ADMIN, Role.SYSTEM}), full_name="Khởi tạo cơ quan")


def each_agency(agencies: Sequence[HostedAgency], call: Callable[[HostedAgency], Row],
                failed: Callable[[HostedAgency, CongVanError], Row], workers: int = AGENCY_WORKERS) -> list[Row]:
    """`call(agency)` for each hosted agency, at most `workers` at a time, the rows in the agencies' order. An
    agency whose call raises CongVanError (its services not answering, a refusal) gets `failed(agency, error)`
    instead: one agency failing leaves the others done."""
    def one(agency: HostedAgency) -> Row:
        try:
            return call(agency)
        except CongVanError as exc:
            return failed(agency, exc)

    if not agencies:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(agencies)))) as pool:
        return list(pool.map(one, agencies))


@dataclass
class AgencyForm:
    organ_id: str
    name: str
    installation: str = ""
    parent_name: str = ""
    place: str = ""
    abbreviation: str = ""
    hub: str = ""
    admin_full_name: str = ""
    admin_unit: str = ""

    def checked(self) -> AgencyForm:
        from services.interconnect import identifiers

        try:
            organ_id = identifiers.validate(self.organ_id.strip())
        except identifiers.InvalidOrganId as exc:
            raise ValidationFailed(exc.message_vi, field="organ_id", value=self.organ_id) from None
        name = " ".join(self.name.split())
        if not name:
            raise ValidationFailed("Thiếu tên cơ quan.", field="name")
        if len(name) > 300:
            raise ValidationFailed("Tên cơ quan dài quá 300 ký tự.", field="name")
        admin_name = " ".join(self.admin_full_name.split()) or f"Quản trị {name}"[:100]
        unit = unit_code(self.admin_unit or self.abbreviation or "qt")[:32] or "qt"
        return AgencyForm(organ_id=organ_id, name=name, installation=self.installation.strip(),
                          parent_name=" ".join(self.parent_name.split())[:300], place=self.place.strip()[:100],
                          abbreviation=self.abbreviation.strip()[:32], hub=self.hub.strip().upper()[:32],
                          admin_full_name=admin_name, admin_unit=unit)


@dataclass
class Onboarded:
    agency: dict[str, Any]
    created: bool                               # False: it was there already (the call changed nothing of it)
    admin: dict[str, str] | None = None         # username and password, only when the account was made now
    warnings: list[str] = field(default_factory=list)


def agency_view(row: HostedAgency) -> dict[str, Any]:
    return {"organ_id": row.organ_id, "name": row.name, "parent_name": row.parent_name, "place": row.place,
            "abbreviation": row.abbreviation, "installation": row.installation, "hub": row.hub,
            "disabled": bool(row.disabled), "created_at": row.created_at.isoformat() if row.created_at else None,
            "disabled_at": row.disabled_at.isoformat() if row.disabled_at else None}


class Platform:
    """Hosted agencies over the gateway's database; services reached through `backends`; directories through
    `directories()` (the gateway's and the hubs' copies this installation writes)."""

    def __init__(self, db, accounts, backends, directories: Callable[[], list[Any]]) -> None:
        self.db = db
        self.accounts = accounts
        self.backends = backends
        self.directories = directories

    # -- records ------------------------------------------------------------------------------------------

    def sync(self, agencies: dict[str, dict[str, Any]]) -> None:
        """Record the agencies of AGENCIES_FILE (each with the installation its entry names, else its own) that
        are not recorded yet. Several
        gateway workers starting together may race: the loser finds them recorded."""
        try:
            self._record_configured(agencies)
        except IntegrityError:
            log.info("hosted agencies recorded by another gateway worker")

    def _record_configured(self, agencies: dict[str, dict[str, Any]]) -> None:
        with self.db.session() as s:
            known = set(s.scalars(select(HostedAgency.organ_id)))
            for organ_id, info in agencies.items():
                if organ_id not in known:
                    s.add(HostedAgency(organ_id=organ_id, name=info.get("name") or organ_id,
                                       parent_name=info.get("parent_name", ""), place=info.get("place", ""),
                                       abbreviation=info.get("abbreviation", ""),
                                       installation=info.get("installation") or organ_id,
                                       hub=info.get("hub", ""), created_at=clock.now_utc()))

    def agencies(self) -> list[HostedAgency]:
        with self.db.session() as s:
            return list(s.scalars(select(HostedAgency).order_by(HostedAgency.organ_id)))

    def get(self, organ_id: str) -> HostedAgency:
        with self.db.session() as s:
            row = s.get(HostedAgency, organ_id)
        if row is None:
            raise NotFound("Không tìm thấy cơ quan trên nền tảng.", organ_id=organ_id)
        return row

    def info(self, organ_id: str) -> dict[str, Any] | None:
        """How the gateway reaches an agency's services: its installation's entry of AGENCIES_FILE, with the
        agency's own name and place (gateway/backends.py asks for an agency it was not started with)."""
        with self.db.session() as s:
            row = s.get(HostedAgency, organ_id)
        if row is None:
            return None
        base = self.backends.configured.get(row.installation) or self.backends.configured.get(organ_id)
        if base is None:
            return None
        return {**base, "name": row.name, "place": row.place, "parent_name": row.parent_name,
                "abbreviation": row.abbreviation, "installation": row.installation}

    def installations(self) -> list[str]:
        """The installations a new agency may join: the entries of AGENCIES_FILE that are installations (an
        agency hosted by another names it in `installation`)."""
        return sorted(organ_id for organ_id, info in self.backends.configured.items()
                      if (info.get("installation") or organ_id) == organ_id)

    def installation_of(self, organ_id: str) -> str:
        """The installation serving an agency, for the operator's default: a province's operator onboards into
        their own province's installation (a gateway may front several: the demo's fronts two provinces and
        Văn phòng Chính phủ, whose identifier sorts first)."""
        info = self.info(organ_id) or self.backends.configured.get(organ_id) or {}
        hosted = info.get("installation") or organ_id
        known = self.installations()
        return hosted if hosted in known else (known[0] if known else "")

    # -- onboarding ---------------------------------------------------------------------------------------

    def add(self, form: AgencyForm, by: User | None = None) -> Onboarded:
        form = form.checked()
        installation = form.installation or self.installation_of(by.agency_id if by else "")
        if not installation:
            raise ValidationFailed("Cổng này chưa có cụm máy chủ nào phục vụ cơ quan (AGENCIES_FILE trống hoặc chưa "
                                   "đặt): chưa thêm được cơ quan.", field="installation")
        if installation not in self.backends.configured:
            raise ValidationFailed(f"Không có cụm máy chủ “{installation}” trên cổng này; các cụm máy chủ: "
                                   f"{', '.join(self.installations())}.", field="installation", value=installation,
                                   known=self.installations())
        # An agency that is itself hosted names the installation hosting it: that one has the inbox and identity.
        installation = self.backends.configured[installation].get("installation") or installation
        with self.db.session() as s:
            row = s.get(HostedAgency, form.organ_id)
            created = row is None
            if created:
                row = HostedAgency(organ_id=form.organ_id, name=form.name, parent_name=form.parent_name,
                                   place=form.place, abbreviation=form.abbreviation, installation=installation,
                                   hub=self._hub_of(installation) or form.hub, created_at=clock.now_utc())
                s.add(row)
            elif row.disabled:
                raise Conflict("Cơ quan này đang bị ngừng sử dụng; hãy dùng “Cho hoạt động lại”.",
                               code="agency_disabled", organ_id=form.organ_id)
        self.backends.forget(form.organ_id)
        result = Onboarded(agency=agency_view(self.get(form.organ_id)), created=created)
        result.admin = self._admin(form, by)
        result.warnings += self._same_name(form) if created else []
        result.warnings += self._services(form)
        result.warnings += self._write_directories(form.organ_id)
        if by is not None and created:
            self.accounts.record_admin_event(by, None, "agency_add", organ_id=form.organ_id, name=form.name,
                                             installation=installation)
        log.info("agency %s onboarded (created=%s) on installation %s", form.organ_id, created, installation)
        return result

    def _same_name(self, form: AgencyForm) -> list[str]:
        """Agencies of one name (and parent) are told apart by their identifiers alone: in pickers, lists and the
        directory a clerk would choose between two identical names. Allowed (an identifier typed wrong is the
        likelier cause, but a merger can leave two for a while), and said."""
        wanted = (fold(form.name), fold(form.parent_name))
        with self.db.session() as s:
            twins = [r for r in s.scalars(select(HostedAgency).where(HostedAgency.organ_id != form.organ_id))
                     if (fold(r.name), fold(r.parent_name)) == wanted]
        return [f"Lưu ý: cơ quan có mã định danh {r.organ_id} cũng mang tên “{r.name}”; hai cơ quan trùng tên chỉ "
                "phân biệt được bằng mã định danh. Hãy kiểm tra lại mã định danh vừa nhập nếu đây là nhầm lẫn."
                for r in sorted(twins, key=lambda r: r.organ_id)]

    def _hub_of(self, installation: str) -> str:
        for directory in self.directories():
            record = directory.get(installation)
            if record is not None:
                return record.hub
        return ""

    def _admin(self, form: AgencyForm, by: User | None) -> dict[str, str] | None:
        """The agency's first administrator, once: a second `add` finds the account and makes none."""
        row = self.get(form.organ_id)
        if row.admin_user_id and self.accounts.get(row.admin_user_id) is not None:
            return None
        user, password = self.create_admin(form.organ_id, form.admin_full_name, form.admin_unit, by)
        with self.db.session() as s:
            s.get(HostedAgency, form.organ_id).admin_user_id = user.id
        return {"username": user.username, "password": password, "full_name": user.full_name}

    def create_admin(self, organ_id: str, full_name: str, unit: str, by: User | None = None) -> tuple[User, str]:
        """An administrator account of a hosted agency; its password is returned once and must be changed."""
        self.get(organ_id)
        full_name = " ".join((full_name or "").split())
        try:
            wanted = account_name(full_name, unit_code(unit or "qt"))
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="admin_full_name") from None
        from gateway.accounts import next_free_name

        username = next_free_name(wanted, self.accounts.usernames())
        password = temporary_password()
        user = self.accounts.create_user(username=username, full_name=full_name, agency_id=organ_id,
                                         roles=[Role.ADMIN.value], password=password,
                                         unit=unit_code(unit or "qt").upper(), position="Quản trị hệ thống",
                                         must_change_password=True)
        if by is not None:
            self.accounts.record_admin_event(by, user.id, "create", agency_id=organ_id, by_province=True,
                                             by_name=by.full_name, username=user.username, roles=user.roles,
                                             organ_id=organ_id)
        self._sync_staff(user)
        return user, password

    def _sync_staff(self, user: User) -> None:
        """The person into routing's staff directory of their agency; routing away: logged, the agency's
        administrator syncs again later (Đồng bộ on their users page)."""
        try:
            from gateway.admin import staff_entry

            self.backends.call(onboarding_actor(user.agency_id), "routing", "sync_staff", [staff_entry(user)])
        except CongVanError as exc:
            log.warning("account %s of %s not yet in routing: %s", user.username, user.agency_id, exc)

    def _services(self, form: AgencyForm) -> list[str]:
        """Profile and this year's registers in the agency's own tables (made on first use by the services)."""
        from services.registry.domain import Direction

        actor = onboarding_actor(form.organ_id)
        try:
            self._profile(form.organ_id, form.name, form.abbreviation, form.place)
            year = clock.now_vn().year
            for direction in Direction.ALL:
                # No request key needed: the business operation (agency, direction, scope "all", year) is the
                # register table's unique key (uq_register), so a retried onboarding hears 409 and never opens a
                # second register of the year (tests/e2e/test_platform_onboarding.py adds it again, counts them).
                try:
                    self.backends.call(actor, "registry", "create_register", direction, year)
                except Conflict:
                    continue
        except CongVanError as exc:
            log.warning("registers of %s not created: %s", form.organ_id, exc)
            return [f"Chưa tạo được sổ văn bản năm {clock.now_vn().year}: {exc.message_vi} Thêm lại cơ quan sau ít "
                    "phút (thao tác lặp lại không tạo trùng)."]
        return []

    def _profile(self, organ_id: str, name: str, abbreviation: str, place: str) -> None:
        """The agency's name where its services write it: the registry's profile (the sender of its edXML packages,
        its registers' headings) and routing's (its forms)."""
        actor = onboarding_actor(organ_id)
        self.backends.call(actor, "registry", "set_agency_profile", name, abbreviation, place)
        self.backends.call(actor, "routing", "configure", agency_name=name)

    # -- directories -----------------------------------------------------------------------------------------

    def _write_directories(self, organ_id: str) -> list[str]:
        row = self.get(organ_id)
        # The installation hosting it: its hub routes its packages to that installation's inbox and accepts
        # what that installation's broker identity submits in its name, from the next package on.
        hosted_by = row.installation if row.installation and row.installation != row.organ_id else None
        record = {"organ_id": row.organ_id, "name": row.name, "hub": row.hub, "locked": bool(row.disabled),
                  "installation": hosted_by}
        warnings = []
        for directory in self.directories():
            try:
                known = directory.get(organ_id)
                if known is not None:  # keep what the directory knows (parent, validity, successor)
                    record = {**known.to_dict(), "name": row.name, "locked": bool(row.disabled),
                              "hub": row.hub or known.hub, "installation": hosted_by}
                directory.import_records([record])
            except Exception as exc:  # one unreachable copy must not undo the others
                log.exception("directory %s not updated for %s", getattr(directory, "database", None), organ_id)
                warnings.append(f"Chưa cập nhật được danh bạ liên thông ({exc}): các trục liên thông chưa biết "
                                "thay đổi này. Khi danh bạ sẵn sàng, bấm “Lưu hồ sơ” của cơ quan (hoặc làm lại thao "
                                "tác) để ghi lại.")
        return warnings

    # -- disabling ------------------------------------------------------------------------------------------

    def set_disabled(self, organ_id: str, disabled: bool, by: User | None = None) -> dict[str, Any]:
        """Idempotent. Disabling ends the agency's sessions at once; nothing of its data is deleted."""
        if by is not None and disabled and by.agency_id == organ_id:
            raise ValidationFailed("Không thể ngừng cơ quan của chính người vận hành.", field="organ_id")
        with self.db.session() as s:
            row = s.get(HostedAgency, organ_id)
            if row is None:
                raise NotFound("Không tìm thấy cơ quan trên nền tảng.", organ_id=organ_id)
            changed = bool(row.disabled) != disabled
            row.disabled = disabled
            row.disabled_at = clock.now_utc() if disabled and changed else (row.disabled_at if disabled else None)
            if disabled:
                people = select(User.id).where(User.agency_id == organ_id)
                s.execute(update(WebSession).where(WebSession.user_id.in_(people)).values(revoked=True))
        warnings = self._write_directories(organ_id)
        if by is not None and changed:
            self.accounts.record_admin_event(by, None, "agency_disable" if disabled else "agency_enable",
                                             organ_id=organ_id)
        return {**agency_view(self.get(organ_id)), "changed": changed, "warnings": warnings}

    def update_record(self, organ_id: str, name: str, parent_name: str, place: str,
                      by: User | None = None) -> dict[str, Any]:
        """The record, then each copy of it: the gateway's and the hubs' directories and the agency's services (a
        renamed agency sends under its new name). What could not be written is said in `warnings`; saving again
        writes everything again."""
        name = " ".join(name.split())
        if not name:
            raise ValidationFailed("Thiếu tên cơ quan.", field="name")
        with self.db.session() as s:
            row = s.get(HostedAgency, organ_id)
            if row is None:
                raise NotFound("Không tìm thấy cơ quan trên nền tảng.", organ_id=organ_id)
            before = {"name": row.name, "parent_name": row.parent_name, "place": row.place}
            row.name, row.parent_name, row.place = name[:300], " ".join(parent_name.split())[:300], place.strip()[:100]
            after = {"name": row.name, "parent_name": row.parent_name, "place": row.place}
            abbreviation = row.abbreviation or ""
        self.backends.forget(organ_id)
        warnings = self._write_directories(organ_id)
        try:
            self._profile(organ_id, after["name"], abbreviation, after["place"])
        except CongVanError as exc:
            log.warning("profile of %s not updated: %s", organ_id, exc)
            warnings.append(f"Chưa cập nhật được tên cơ quan trong sổ văn bản và gói tin liên thông của cơ quan: "
                            f"{exc.message_vi} Bấm “Lưu hồ sơ” lại sau ít phút.")
        if by is not None and before != after:
            self.accounts.record_admin_event(by, None, "agency_update", organ_id=organ_id, before=before,
                                             after=after)
        return {**agency_view(self.get(organ_id)), "warnings": warnings}

    def disabled_agencies(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(HostedAgency.organ_id).where(HostedAgency.disabled.is_(True))))

    def admins(self, organ_id: str) -> list[User]:
        return [u for u in self.accounts.list_users(organ_id) if Role.ADMIN.value in (u.roles or [])]

    # -- roles only the province operator grants -------------------------------------------------------------

    def hub_operators(self, organ_id: str) -> list[User]:
        return [u for u in self.accounts.list_users(organ_id) if Role.HUB_OPERATOR.value in (u.roles or [])]

    def set_hub_operator(self, organ_id: str, user_id: str, granted: bool, by: User) -> User:
        """Grant or remove `hub_operator` for a person of a hosted agency. The role shows the hub's traffic, queues
        and dead letters of every agency it serves, so the province operator gives it, never the agency's
        administrator (gateway/people.py refuses it to them). An admin event in the person's agency history, as
        the operator's locks are; asked again, nothing changes and nothing more is recorded."""
        self.get(organ_id)
        person = self.accounts.get(user_id)
        if person is None or person.agency_id != organ_id:
            raise NotFound("Không tìm thấy tài khoản trong cơ quan này.", user_id=user_id, organ_id=organ_id)
        role = Role.HUB_OPERATOR.value
        held = list(person.roles or [])
        if (role in held) == granted:
            return person
        roles = [r for r in STAFF_ROLES if r in held and r != role] + ([role] if granted else [])
        if not roles:
            raise ValidationFailed(f"{person.full_name} không có vai trò nào khác; hãy khóa tài khoản nếu người này "
                                   "thôi công việc, hoặc đề nghị quản trị của cơ quan giao vai trò khác trước khi "
                                   "thu hồi.", field="user_id", user_id=user_id)
        user = self.accounts.update_user(organ_id, person.id, full_name=person.full_name, unit=person.unit,
                                         position=person.position or "", roles=roles, email=person.email or "")
        self.accounts.record_admin_event(by, user.id, "grant_hub_operator" if granted else "remove_hub_operator",
                                         agency_id=organ_id, by_province=True, by_name=by.full_name,
                                         roles=user.roles, organ_id=organ_id)
        self._sync_staff(user)
        return user
