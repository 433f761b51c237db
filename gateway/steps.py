"""Form posts that pass one free-text field to one routing method and redirect back with a notice: most steps of
handling an incoming document and of a draft's review are this shape, so they are declared in a table each."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Form
from fastapi.responses import RedirectResponse

from gateway.app import Gateway, Viewer, csrf_checked, gw
from services.common.errors import ValidationFailed


@dataclass(frozen=True)
class TextStep:
    path: str          # the segment after the item: /xu-ly/{id}/<path>
    field: str         # the form field carried to routing (note, reason, text, comment)
    method: str        # routing's RPC, called as method(item_id, text)
    notice: str        # the notice key of the page redirected to
    late_entry: bool = False  # routing's method takes the real time of a step entered after an outage


def install_text_steps(app: FastAPI, prefix: str, id_type: type, steps: list[TextStep],
                       back: Callable[[Any, str], RedirectResponse]) -> None:
    for step in steps:
        _install(app, prefix, id_type, step, back)


def _install(app: FastAPI, prefix: str, id_type: type, step: TextStep,
             back: Callable[[Any, str], RedirectResponse]) -> None:
    def post(item_id: id_type, text: str = Form("", alias=step.field),  # type: ignore[valid-type]
             late_entry_at: str = Form(""), v: Viewer = Depends(csrf_checked),
             g: Gateway = Depends(gw)) -> RedirectResponse:
        # a step entered after an outage carries its real time (only the forms that offer it send one)
        late = {"happened_at": late_entry_at.strip()} if late_entry_at.strip() else {}
        if late and not step.late_entry:
            raise ValidationFailed("Bước này không nhập muộn được: bỏ trống 'Thời điểm thực tế'.",
                                   field="late_entry_at", value=late_entry_at)
        g.backends.call(v.actor, "routing", step.method, item_id, text, **late)
        return back(item_id, step.notice)

    post.__name__ = step.method  # distinct operation ids in the app's route table
    app.post(f"{prefix}/{{item_id}}/{step.path}", include_in_schema=False)(post)
