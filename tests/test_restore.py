"""A backup restores: the demo, dumped by `pg_dump -Fc` and restored by `pg_restore` into a
new database, gives back the same FEC, the same invoice PDFs and the same shops' accounts.

The backups the README describes are PostgreSQL's own dumps: this test runs only when
COOP_TEST_DATABASE_URL names a PostgreSQL server (CI sets it), with the pg_dump and
pg_restore of that server's version or newer (Debian's postgresql-client).
"""

import hashlib
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from coop import create_app, demo
from coop.accounting import exports
from coop.accounts.models import Member
from coop.clock import today
from coop.extensions import db
from coop.invoicing.documents import render_pending_documents
from coop.invoicing.models import Invoice, InvoiceDocument
from coop.payments import listing
from tests.conftest import app_config, fresh_database

SERVER = os.environ.get("COOP_TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not SERVER.startswith("postgresql"),
    reason="restoring a pg_dump needs PostgreSQL: set COOP_TEST_DATABASE_URL "
    "(CI's .ci/run does, so the restore is checked on every run)",
)


def server_major() -> int:
    engine = sa.create_engine(SERVER)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SHOW server_version_num").scalar()) // 10000
    finally:
        engine.dispose()


def pg_tool(name: str, major: int) -> str:
    """Debian's `name` for the server's version, else the one on PATH if not older."""
    for path in (f"/usr/lib/postgresql/{major}/bin/{name}", shutil.which(name)):
        if path and Path(path).is_file():
            version = subprocess.run(  # noqa: S603 (a PostgreSQL tool, fixed arguments)
                [path, "--version"], capture_output=True, text=True, check=True
            ).stdout
            if int(re.search(r"\) (\d+)", version).group(1)) >= major:
                return path
    pytest.fail(f"no {name} for PostgreSQL {major}: apt-get install postgresql-client")


def libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def snapshot(date_from, date_to) -> dict:
    """What a restore must give back: the FEC's bytes, each PDF's hash, each shop's account."""
    _, fec = exports.fec(date_from, date_to)
    db.session.commit()  # the FEC stores its entries when first exported
    pdfs = {}
    for number, pdf, sha256 in db.session.execute(
        select(Invoice.number, InvoiceDocument.pdf, InvoiceDocument.sha256).join(
            InvoiceDocument, InvoiceDocument.invoice_id == Invoice.id
        )
    ):
        assert hashlib.sha256(pdf).hexdigest() == sha256
        pdfs[number] = sha256
    accounts = {}
    for member in db.session.scalars(select(Member).order_by(Member.code)):
        account = listing.account(member)
        accounts[member.code] = (
            account.invoiced,
            account.paid,
            account.credited,
            account.due,
            account.credit,
            len(account.payments),
        )
    head = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    return {"fec": fec, "pdfs": pdfs, "accounts": accounts, "head": head}


def test_a_dump_of_the_demo_restores_the_same_fec_pdfs_and_accounts(tmp_path):
    major = server_major()
    pg_dump, pg_restore = pg_tool("pg_dump", major), pg_tool("pg_restore", major)
    period = (today() - timedelta(days=100), today())
    dump = tmp_path / "coop.dump"
    with (
        fresh_database("postgresql", tmp_path) as source,
        fresh_database("postgresql", tmp_path) as copy,
    ):
        app = create_app(app_config(source))
        with app.app_context():
            flask_migrate.upgrade()
            demo.seed()
            db.session.commit()
            assert render_pending_documents() == 12
            before = snapshot(*period)
            db.session.remove()
            db.engine.dispose()
        # What the nightly backup runs, then what the README's restore runs.
        subprocess.run(  # noqa: S603 (PostgreSQL's tools, fixed arguments)
            [pg_dump, "--format=custom", f"--file={dump}", f"--dbname={libpq(source)}"],
            check=True,
        )
        subprocess.run(  # noqa: S603
            [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={libpq(copy)}", str(dump)],
            check=True,
        )
        restored = create_app(app_config(copy))
        with restored.app_context():
            after = snapshot(*period)
            # The database's own guards come back too: a stored PDF still cannot change.
            with pytest.raises(sa.exc.DBAPIError, match="an issued invoice is never changed"):
                db.session.execute(sa.update(InvoiceDocument).values(pdf=b"%PDF forged"))
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    assert len(before["pdfs"]) == 12
    assert sum(a[1] > 0 for a in before["accounts"].values()) >= 3  # shops that paid
    assert before["fec"].count(b"\r\n") > 40
    assert after == before
