"""The hub's view of the agency directory: who is served where, by which installation, still deliverable.

The hub reads its copy of the national directory (directory.py), seeded from the topology; `TopologyRecipients` is
the topology alone, for tests and while directory.py is not installed. Split from hub.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from services.common.db import Database
from services.common.settings import CommonSettings
from services.interconnect import broker
from services.interconnect.topology import Topology

log = logging.getLogger("congvan.hub")


class RecipientDirectory(Protocol):
    def serving_hub(self, organ_id: str) -> str | None: ...
    def installation_of(self, organ_id: str) -> str: ...
    def hosts(self, installation: str, organ_id: str) -> bool: ...
    def is_deliverable(self, organ_id: str) -> tuple[bool, str]: ...
    def current_id(self, organ_id: str) -> str: ...
    def predecessors(self, organ_id: str) -> list[str]: ...


class TopologyRecipients:
    """Connected agencies as the topology file lists them: used only while directory.py is not installed."""

    def __init__(self, topology: Topology) -> None:
        self.hubs = {a.organ_id: a.hub for a in topology.agencies}
        self.installations = {a.organ_id: a.installation_id for a in topology.agencies}

    def serving_hub(self, organ_id: str) -> str | None:
        return self.hubs.get(organ_id)

    def installation_of(self, organ_id: str) -> str:
        return self.installations.get(organ_id, organ_id)

    def hosts(self, installation: str, organ_id: str) -> bool:
        return self.installations.get(organ_id) == installation

    def is_deliverable(self, organ_id: str) -> tuple[bool, str]:
        return (True, "") if organ_id in self.hubs else (False, f"{organ_id} không có trong danh bạ")

    def current_id(self, organ_id: str) -> str:
        return organ_id

    def predecessors(self, organ_id: str) -> list[str]:
        return []


def open_directory(topology: Topology, code: str, settings: CommonSettings) -> RecipientDirectory:
    """The hub's copy of the agency directory (services/interconnect/directory.py). An empty one is seeded from
    the topology: `extra.directory_file` (JSON/CSV, e.g. infra/demo/agencies.json), else `extra.directory`
    records, else the topology's own agencies."""
    try:
        from services.interconnect.directory import Directory, read_file
    except ModuleNotFoundError as exc:
        if exc.name != "services.interconnect.directory":
            raise
        log.warning("services.interconnect.directory is not available: routing on the topology's agencies")
        return TopologyRecipients(topology)
    from services.interconnect.models import DirectoryBase

    database = Database("directory", f"{broker.namespace(topology)}hub.{code}", DirectoryBase.metadata, settings)
    database.create_all()
    directory = Directory(database)
    if directory.count() == 0:
        if topology.extra.get("directory_file"):
            records = read_file(Path(topology.extra["directory_file"]))
        else:
            records = topology.extra.get("directory") or [
                {"organ_id": a.organ_id, "name": a.name, "hub": a.hub, "parent": a.parent}
                for a in topology.agencies]
        directory.import_records(records)
    _record_installations(directory, topology)
    return directory


def _record_installations(directory, topology: Topology) -> None:
    """The topology's hosted agencies, as their installation: written into the directory at every start, so a
    directory seeded from a national file (which knows no installations) still routes and authenticates them."""
    hosted = [a for a in topology.agencies if a.installation]
    missing = []
    for agency in hosted:
        record = directory.get(agency.organ_id)
        if record is None:
            missing.append({"organ_id": agency.organ_id, "name": agency.name, "hub": agency.hub,
                            "parent": agency.parent, "installation": agency.installation})
        elif record.installation != agency.installation:
            missing.append({**record.to_dict(), "installation": agency.installation})
    if missing:
        directory.import_records(missing)
