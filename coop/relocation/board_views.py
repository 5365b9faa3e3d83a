"""The relocation board's page and its spreadsheet (the manager's; the treasurer reads)."""

from flask import Blueprint, render_template, request

from coop import clock
from coop.accounts.access import roles_required
from coop.accounts.models import PURCHASING_ROLES, TREASURY_ROLES
from coop.pages import csv_download, paginate_list, search_arg
from coop.relocation import board as board_service
from coop.relocation.board_forms import PeriodForm
from coop.relocation.trends import campaign_trends
from coop.suppliers.catalogue import CATEGORIES
from coop.suppliers.origin import ORIGINS_NEAR_FIRST

bp = Blueprint("relocation_board", __name__, url_prefix="/relocalisation/tableau")


@bp.route("")
@roles_required(*PURCHASING_ROLES, readers=TREASURY_ROLES)
def show():
    form = PeriodForm(request.args)
    if not form.validate():
        return _page_with_errors(form)
    board = board_service.build_board(form.period(), clock.today())
    table = _table_args()
    return render_template(
        "relocation/board/board.html",
        form=form,
        board=board,
        page=paginate_list(_lines(board, table)),
        trends=campaign_trends(board.purchases),
        agreements=board_service.agreements_progress(),
        categories=CATEGORIES,
        origins=ORIGINS_NEAR_FIRST,
        **table,
    )


@bp.route("/export.csv")
@roles_required(*PURCHASING_ROLES, readers=TREASURY_ROLES)
def export_csv():
    """The board's table as a spreadsheet, with the page's period, search and filters."""
    form = PeriodForm(request.args)
    if not form.validate():
        return _page_with_errors(form)
    period = form.period()
    board = board_service.build_board(period, clock.today())
    return csv_download(
        f"relocalisation-{period.start:%Y-%m-%d}-{period.end:%Y-%m-%d}.csv",
        board_service.csv_rows(_lines(board, _table_args())),
    )


def _page_with_errors(form: PeriodForm):
    return render_template("relocation/board/board.html", form=form, board=None), 422


def _lines(board: board_service.Board, table: dict) -> list[board_service.PartLine]:
    filtered = board_service.filtered_lines(board.parts, table["q"], table["family"], table["asia"])
    return board_service.sorted_lines(filtered, table["sort"], table["order"] == "desc")


def _table_args() -> dict:
    """The table's search, family, Asia-only filter and sort, as the query string has them."""
    sort = request.args.get("sort", "spend")
    family = request.args.get("family", "")
    return {
        "q": search_arg(),
        "family": family if family in CATEGORIES else "",
        "asia": request.args.get("asia") == "1",
        "sort": sort if sort in board_service.SORTS else "spend",
        "order": "asc" if request.args.get("order") == "asc" else "desc",
    }
