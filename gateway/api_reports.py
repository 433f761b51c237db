"""REST route of "In sổ" (gateway/reports.py): the incoming, outgoing and copies registers of the caller's agency
for a period, as the PDF to print or the XLSX, the same file as the screen's download. The reporting service
checks the role again and answers only for the caller's own agency (there is no agency or register id to give).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response, Security

from gateway.api import COMMON_ERRORS, bearer
from gateway.app import Gateway, Viewer, gw, viewer
from gateway.reports import register_download

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Security(bearer)])
FILE_TYPES = {"application/pdf": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}


@router.get("/register-prints", tags=["Sổ văn bản"], responses={200: {"content": FILE_TYPES}},
            response_class=Response,
            summary="In sổ: sổ đăng ký văn bản đến, văn bản đi hoặc sổ bản sao của một khoảng thời gian (PDF, XLSX)")
def register_print(register: Literal["incoming", "outgoing", "copies"] = Query(
                       description="`incoming` sổ văn bản đến (by arrival day), `outgoing` sổ văn bản đi (by document "
                                   "day), `copies` sổ bản sao (sao y, sao lục, trích sao; by the copy's day)"),
                   date_from: str | None = Query(None, max_length=10, description="YYYY-MM-DD (or dd/mm/yyyy), a "
                                                 "Vietnam day; default the first day of this month"),
                   date_to: str | None = Query(None, max_length=10, description="YYYY-MM-DD (or dd/mm/yyyy), "
                                               "included; default today"),
                   format: Literal["pdf", "xlsx"] = Query("pdf", description="`pdf` A4 landscape to print, sign "
                                                          "and bind; `xlsx` the same columns as a spreadsheet"),
                   v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> Response:
    return register_download(g, v, register, date_from, date_to, format)
