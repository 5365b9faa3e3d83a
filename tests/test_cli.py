from sqlalchemy import func, select

from coop.accounts.models import Member, Role, User
from coop.extensions import db
from coop.invoicing.models import Invoice
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder
from coop.payments.models import BankLine, Payment
from coop.purchases.models import SupplierInvoice, SupplierPayment


def test_user_create_reads_the_password_from_stdin(runner, make):
    shop = make.member(code="VELO01")
    result = runner.invoke(
        args=[
            "user",
            "create",
            "shop@example.org",
            "--role",
            "member",
            "--member",
            "velo01",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "shop@example.org"))
    assert user.member is shop
    assert user.roles == {Role.MEMBER}
    assert "Created member account shop@example.org." in result.output


def test_user_create_takes_the_role_option_once_per_job(runner):
    result = runner.invoke(
        args="user create bureau@example.org --role manager --role treasurer "
        "--password-stdin".split(),
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created manager+treasurer account bureau@example.org." in result.output
    user = db.session.scalar(select(User).where(User.email == "bureau@example.org"))
    assert user.roles == {Role.MANAGER, Role.TREASURER}
    assert user.member is None


def test_user_create_refuses_a_shops_account_with_a_staff_role(runner, make):
    make.member(code="VELO01")
    result = runner.invoke(
        args="user create x@example.org --role member --role manager --member VELO01 "
        "--password-stdin".split(),
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "Un compte adhérent n'a que ce rôle" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_user_create_refuses_bad_input_with_one_line_and_writes_nothing(runner):
    result = runner.invoke(
        args=["user", "create", "x@example.org", "--role", "member", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "rattaché à un atelier" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_import_members_reports_every_error_on_stderr_and_exits_1(runner, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(b"code;name;siret\nA;Shop;123\nB;;\n")
    result = runner.invoke(args=["import", "members", str(path)])
    assert result.exit_code == 1
    assert "line 2, column siret: le SIRET compte 14 chiffres, pas 3" in result.stderr
    assert "line 3, column name: valeur obligatoire manquante" in result.stderr
    assert "nothing was imported" in result.stderr
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_import_members_succeeds_and_is_idempotent(runner, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("code,name,city\nA1,Shop A,Lyon\nB1,Shop B,Bron\n", encoding="utf-8")
    first = runner.invoke(args=["import", "members", str(path)])
    assert first.exit_code == 0
    assert "members: 2 created, 0 updated." in first.output
    second = runner.invoke(args=["import", "members", str(path)])
    assert "members: 0 created, 2 updated." in second.output
    assert db.session.scalar(select(func.count()).select_from(Member)) == 2


def test_import_of_an_unknown_kind_is_refused(runner, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    result = runner.invoke(args=["import", "spaceships", str(path)])
    assert result.exit_code == 2
    assert "unknown kind 'spaceships'" in result.output


def test_seed_demo_creates_forty_valid_shops_and_logins_once(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "40 member shops" in result.output
    assert "gerance@coop-velo-lyon.example" in result.output
    # The past year's eight campaigns, received (the relocation board's history); two months
    # ago: received and invoiced; last month's campaign is pooled, with one order sent;
    # this month's is open.
    statuses = db.session.scalars(select(Campaign.status).order_by(Campaign.order_date)).all()
    assert statuses == [CampaignStatus.RECEIVED] * 8 + [
        CampaignStatus.INVOICED,
        CampaignStatus.ORDERED,
        CampaignStatus.OPEN,
    ]
    orders = db.session.scalars(select(PurchaseOrder.status)).all()
    assert orders.count(OrderStatus.SENT) == 1 and orders.count(OrderStatus.DRAFT) >= 3
    assert orders.count(OrderStatus.RECEIVED) >= 3
    # Its invoices are issued, their PDFs left to `coop invoices render`; some are paid, a
    # bank statement waits.
    invoices = db.session.scalars(select(Invoice)).all()
    assert len(invoices) == 12 and all(i.document is None for i in invoices)
    assert "coop invoices render" in result.output
    rendered = runner.invoke(args=["invoices", "render"])
    assert rendered.exit_code == 0, rendered.output
    assert "12 PDFs rendered." in rendered.output
    assert all(i.document.pdf.startswith(b"%PDF") for i in invoices)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 3
    queue = db.session.scalars(select(BankLine.status)).all()
    assert sorted(queue) == ["ignored", "matched", "unmatched", "unmatched", "unmatched"]
    # Three of its suppliers billed it: two invoices booked, one paid from the statement,
    # one waiting for the manager with a price above its order.
    billed = db.session.scalars(select(SupplierInvoice).order_by(SupplierInvoice.id)).all()
    assert [i.status for i in billed] == ["booked", "booked", "to_check"]
    assert [d["code"] for d in billed[2].differences] == ["price_above_order"]
    paid = db.session.scalars(select(SupplierPayment)).one()
    assert [a.invoice for a in paid.allocations] == [billed[0]]
    from coop import identifiers

    sirets = db.session.scalars(select(Member.siret).where(Member.siret.is_not(None))).all()
    assert len(sirets) == 39
    assert all(identifiers.siret(s) == s for s in sirets)
    vats = db.session.scalars(select(Member.vat_number).where(Member.vat_number.is_not(None)))
    assert all(identifiers.vat_number(v) == v for v in vats)
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0
    assert "already has data" in again.output
    assert db.session.scalar(select(func.count()).select_from(Member)) == 40
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code == 1


def test_a_price_list_is_imported_from_the_command_line(runner, tmp_path):
    for kind, content in (
        ("suppliers", "code;name;country;local\nLYONPNEU;Lyon Pneu;FR;oui\n"),
        ("parts", "sku;name\nTYR-28;Pneu 28\n"),
        ("offers", "supplier_code;sku;min_qty;unit_price_eur\nLYONPNEU;TYR-28;1;24,00\n"),
    ):
        path = tmp_path / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        result = runner.invoke(args=["import", kind, str(path)])
        assert result.exit_code == 0, result.output
        assert f"{kind}: 1 created, 0 updated." in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("supplier_code;sku;min_qty;unit_price_eur\nLYONPNEU;NOPE;1;1\n")
    result = runner.invoke(args=["import", "offers", str(bad)])
    assert result.exit_code == 1
    assert "line 2, column sku: pièce NOPE inconnue du catalogue" in result.stderr
