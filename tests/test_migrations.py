"""The migrations build exactly the models' schema, and undo it."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from coop import create_app
from coop.extensions import db
from coop.suppliers.models import Part, Supplier
from coop.suppliers.search import (
    part_search_text,
    parts_matching,
    supplier_search_text,
    suppliers_matching,
)
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


def test_upgrading_a_database_with_data_keeps_it(backend, tmp_path):
    """Upgrades rebuild tables on SQLite: shops' data and the rows pointing at it survive."""
    with fresh_database(backend, tmp_path) as url:
        app = create_app(app_config(url))
        with app.app_context():
            flask_migrate.upgrade(revision="a330f5d3a2ac")
            with db.engine.begin() as connection:
                connection.exec_driver_sql(
                    "INSERT INTO members (id, code, name, is_active, created_at, updated_at) "
                    "VALUES (1, 'VELO01', 'Atelier', true, '2026-11-01', '2026-11-01')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO parts (id, sku, name, unit, vat_rate, is_active, created_at, "
                    "updated_at) VALUES (1, 'P1', 'Pneu', 'piece', 0.2, true, '2026-11-01', "
                    "'2026-11-01')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO campaigns (id, code, title, status, order_date, delivery_mode, "
                    "fee_rate, penalty_local, penalty_france, penalty_europe, penalty_asia, "
                    "penalty_other, created_at) VALUES (1, 'C1', 'C', 'open', '2026-12-07', "
                    "'hub', 0, 0, 0, 0.03, 0.1, 0.1, '2026-11-01')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO needs (campaign_id, member_id, part_id, quantity, tolerance, "
                    "min_quantity, ref, created_at, updated_at) VALUES (1, 1, 1, 3, 0, 3, '1', "
                    "'2026-11-01', '2026-11-01')"
                )
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                row = connection.exec_driver_sql(
                    "SELECT c.shortage_rule, c.shipping_key, n.quantity FROM campaigns c "
                    "JOIN needs n ON n.campaign_id = c.id"
                ).one()
                assert tuple(row) == ("pro_rata", "value", 3)
                if backend == "sqlite":
                    fk = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
                    assert fk == 1  # back on for the app's connections
            db.engine.dispose()


def test_each_user_keeps_its_role_through_the_upgrade_and_back(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = create_app(app_config(url))
        with app.app_context():
            flask_migrate.upgrade(revision="352250eadcfb")
            with db.engine.begin() as connection:
                connection.exec_driver_sql(
                    "INSERT INTO members (id, code, name, is_active, created_at, updated_at) "
                    "VALUES (1, 'VELO01', 'Atelier', true, '2026-11-01', '2026-11-01')"
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO users (id, email, name, role, member_id, password_hash, "
                        "is_active, created_at) VALUES (:id, :email, 'U', :role, :member, 'x', "
                        "true, '2026-11-01')"
                    ),
                    [
                        {"id": 1, "email": "u1@example.org", "role": "member", "member": 1},
                        {"id": 2, "email": "u2@example.org", "role": "treasurer", "member": None},
                        {"id": 3, "email": "u3@example.org", "role": "admin", "member": None},
                    ],
                )
            flask_migrate.upgrade(revision="db3be280b0ae")
            with db.engine.begin() as connection:
                roles = connection.exec_driver_sql(
                    "SELECT user_id, role FROM user_roles ORDER BY user_id"
                ).all()
                assert [tuple(row) for row in roles] == [
                    (1, "member"),
                    (2, "treasurer"),
                    (3, "admin"),
                ]
                connection.exec_driver_sql("INSERT INTO user_roles VALUES (2, 'manager')")
                connection.exec_driver_sql("DELETE FROM user_roles WHERE user_id = 3")
            flask_migrate.downgrade(revision="-1")
            with db.engine.connect() as connection:
                users = connection.exec_driver_sql(
                    "SELECT id, role, is_active FROM users ORDER BY id"
                ).all()
            # One role each again, the widest kept; an account left without any is disabled.
            assert [tuple(row) for row in users] == [
                (1, "member", True),
                (2, "manager", True),
                (3, "manager", False),
            ]
            db.engine.dispose()


def test_the_search_texts_are_written_for_the_parts_and_suppliers_already_there(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = create_app(app_config(url))
        with app.app_context():
            flask_migrate.upgrade(revision="352250eadcfb")
            with db.engine.begin() as connection:
                connection.exec_driver_sql(
                    "INSERT INTO suppliers (id, code, name, country, city, is_local, "
                    "shipping_fee, is_active, created_at, updated_at) VALUES (1, 'FORGESTET', "
                    "'Forges et Cycles Stéphanois', 'FR', 'Saint-Étienne', true, 15, true, "
                    "'2026-11-01', '2026-11-01')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO parts (id, sku, name, unit, vat_rate, ean, is_active, created_at, "
                    "updated_at) VALUES (1, 'BRG-6902-2RS', 'Roulement à billes 6902-2RS', "
                    "'piece', 0.2, '8594229636642', true, '2026-11-01', '2026-11-01'), "
                    "(2, 'TOL-CLE', 'Clé à rayons', 'piece', 0.2, NULL, true, '2026-11-01', "
                    "'2026-11-01')"
                )
                connection.exec_driver_sql(
                    "INSERT INTO offers (id, supplier_id, part_id, supplier_ref, made_in, "
                    "pack_size, moq, created_at, updated_at) VALUES (1, 1, 1, 'FCS-69022RS', "
                    "'FR', 1, 0, '2026-11-01', '2026-11-01')"
                )
            flask_migrate.upgrade()

            def skus(query: str) -> list[str]:
                return db.session.scalars(parts_matching(query).with_only_columns(Part.sku)).all()

            assert (
                skus("roulement 6902")
                == skus("stephanois")
                == skus("fcs69022rs")
                == ["BRG-6902-2RS"]
            )
            assert skus("cle rayons") == ["TOL-CLE"]
            assert db.session.scalars(
                suppliers_matching("saint etienne").with_only_columns(Supplier.code)
            ).all() == ["FORGESTET"]
            # What the migration wrote is what the application would write.
            part, supplier = db.session.get(Part, 1), db.session.get(Supplier, 1)
            assert part.search_text == part_search_text(
                part.name, part.sku, part.ean, [(supplier.code, supplier.name, "FCS-69022RS")]
            )
            assert supplier.search_text == supplier_search_text(
                supplier.code, supplier.name, supplier.city
            )
            db.session.remove()
            db.engine.dispose()
