"""Tables of the interconnect: the agency directory, the hubs' relay log, the edge's inbox/outbox.

Each process creates only the tables it uses (hub: directory + relay log; edge: its own), so the
components keep separate MetaData objects below.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class DirectoryBase(DeclarativeBase):
    metadata = MetaData()


class HubBase(DeclarativeBase):
    metadata = MetaData()


class EdgeBase(DeclarativeBase):
    metadata = MetaData()


# --- agency directory (DirectoryBase) ------------------------------------------------------------


# --- hub relay log (HubBase) ----------------------------------------------------------------------


# --- agency edge: inbox, outbox, per-recipient status view (EdgeBase) -----------------------------
