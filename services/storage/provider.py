"""The blob store of the worker's agency, as a nameko dependency (every hosted agency has its own store)."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from services.common.rpc import settings_from_config, worker_agency
from services.storage.blobs import BlobStore, BlobStores


class AgencyBlobStore(DependencyProvider):
    """The acting user's agency's blob store (local folder or S3). A worker without an acting user (a timer, an
    event handler) gets the `BlobStores` and names the agency: `self.blobs.for_agency(agency_id)`."""

    def __init__(self, settings_from: Any = settings_from_config) -> None:
        self.settings_from = settings_from
        self.stores: BlobStores | None = None

    def setup(self) -> None:
        self.stores = BlobStores(self.settings_from(self.container.config))

    def get_dependency(self, worker_ctx) -> BlobStore | BlobStores:
        assert self.stores is not None
        agency = worker_agency(worker_ctx)
        return self.stores.for_agency(agency) if agency else self.stores
