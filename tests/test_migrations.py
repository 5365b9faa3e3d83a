"""The migrations build exactly the models' schema, and undo it."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from coop import create_app
from coop.extensions import db
from tests.conftest import app_config, fresh_database


def test_upgrade_to_head_matches_the_models_and_downgrade_empties(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = create_app(app_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "render_as_batch": True}
                )
                assert compare_metadata(context, db.metadata) == []
                tables = set(sa.inspect(connection).get_table_names())
            assert {"members", "users", "login_throttles", "alembic_version"} <= tables

            flask_migrate.downgrade(revision="base")
            with db.engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}
            db.engine.dispose()
