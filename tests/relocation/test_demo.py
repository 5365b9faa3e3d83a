"""The demo's call to manufacturers: two local makers answered, one accepted, in force."""

from sqlalchemy import select

from coop.extensions import db
from coop.relocation.models import CallAcceptance, CallStatus, ManufacturerCall
from coop.suppliers.models import AgreementStatus, FrameworkAgreement, Supplier
from coop.suppliers.origin import Origin


def test_the_demo_has_a_call_answered_twice_and_an_agreement_in_force(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    call = db.session.scalar(select(ManufacturerCall))
    assert (call.status, call.part.sku, len(call.files)) == (CallStatus.OPEN, "CHN-12S-126", 1)
    assert [len(i.answers) for i in call.invitations] == [1, 1]
    assert [m.by_maker for m in call.invitations[0].messages if m.kind == "message"] == [
        False,
        True,
    ]
    acceptance = db.session.scalar(select(CallAcceptance))
    supplier = db.session.scalar(select(Supplier).where(Supplier.code == "CHAINGIER"))
    assert acceptance.supplier == supplier and supplier.is_local
    assert acceptance.offer.origin is Origin.LOCAL
    (agreement,) = db.session.scalars(select(FrameworkAgreement)).all()
    assert agreement.status is AgreementStatus.ACTIVE
    assert agreement.offer == acceptance.offer
    assert agreement.committed_qty == 2 * call.annual_volume
