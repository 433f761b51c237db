"""The registry service really serves the dossier, archive and search RPCs (they live in a mixin)."""

from nameko.rpc import Rpc

from services.registry.dossier_service import DossierEntrypoints
from services.registry.service import RegistryService


def rpc_names(cls) -> set[str]:
    return {name for name in dir(cls)
            if any(isinstance(ext, Rpc) for ext in getattr(getattr(cls, name, None), "nameko_entrypoints", ()))}


def test_every_dossier_rpc_is_an_entrypoint_of_the_registry_service():
    dossier_rpcs = rpc_names(DossierEntrypoints)
    assert {"create_file_plan", "open_dossier", "close_dossier", "submit_dossier", "search_documents",
            "export_dossier"} <= dossier_rpcs
    served = rpc_names(RegistryService)
    assert dossier_rpcs <= served
    assert {"receive_package", "issue_outgoing", "get_document"} <= served
