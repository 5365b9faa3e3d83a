"""The import contracts (.importlinter): kept by the code, and broken by a backward import.

Each failing case copies coop/ and devtools/ to a temporary directory, adds one
import that goes the wrong way, and runs lint-imports with the real contract file
on the copy: the contract must catch it, by name.
"""

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """lint-imports with the real contracts on the code under `tree`."""
    # One line per finding (rich wraps at the terminal width otherwise), no colour codes.
    environment = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run(  # noqa: S603  (our own tool, fixed arguments)
        [str(LINT_IMPORTS), str(CONTRACTS), "--no-cache"],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONTRACTS)
    return parser


def listed(option: str) -> set[str]:
    return {
        name.strip()
        for line in option.splitlines()
        for name in line.replace("|", ":").split(":")
        if name.strip()
    }


@pytest.fixture
def copy(tmp_path) -> Path:
    for package in ("coop", "devtools"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_code_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_top_level_module_of_coop_sits_in_a_layer():
    layers = listed(contracts()["importlinter:contract:layers"]["layers"])
    top_level = {
        f"coop.{path.stem}"
        for path in (ROOT / "coop").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    # A package layered by its slices (coop.orders): each slice is a layer, and nothing but
    # its __init__ sits beside them.
    for name in sorted(top_level - layers):
        package = ROOT / "coop" / name.split(".")[1]
        slices = {f"{name}.{p.name}" for p in package.iterdir() if (p / "__init__.py").exists()}
        loose = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
        if slices and slices <= layers and not loose:
            top_level.discard(name)
    assert top_level - layers == set()


def test_every_views_module_is_protected():
    protected = listed(contracts()["importlinter:contract:views"]["protected_modules"])
    views = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "coop").rglob("*views.py")
    }
    assert views - protected == set()


def test_a_lower_layer_importing_a_higher_one_breaks_the_layers(copy):
    append(copy / "coop" / "accounts" / "models.py", "import coop.payments.ledger  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "Domains depend downward only BROKEN" in result.stdout
    assert "coop.accounts is not allowed to import coop.payments:" in result.stdout
    assert "- coop.accounts.models -> coop.payments.ledger" in result.stdout


def test_invoicing_importing_payments_breaks_the_layers(copy):
    append(copy / "coop" / "invoicing" / "issuing.py", "from coop.payments import ledger  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "Domains depend downward only BROKEN" in result.stdout
    assert "- coop.invoicing.issuing -> coop.payments.ledger" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The reasons the orders slices were cut: each of these pointed the wrong way.
        (
            "orders/pooling/pool_run.py",
            "from coop.orders.purchasing.ordering import commit_run  # noqa",
            "coop.orders.pooling is not allowed to import coop.orders.purchasing:",
        ),
        (
            "orders/purchasing/ordering.py",
            "from coop.orders.costs import splitting  # noqa",
            "coop.orders.purchasing is not allowed to import coop.orders.costs:",
        ),
        (
            "orders/costs/charging.py",
            "from coop.invoicing.models import Invoice  # noqa",
            "coop.orders.costs is not allowed to import coop.invoicing:",
        ),
        (
            "orders/campaigns/models.py",
            "from coop.orders.purchasing.models import Allocation  # noqa",
            "coop.orders.campaigns is not allowed to import coop.orders.purchasing:",
        ),
    ],
)
def test_an_orders_slice_importing_a_later_one_breaks_the_layers(copy, module, line, broken):
    append(copy / "coop" / module, line)
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "Domains depend downward only BROKEN" in result.stdout
    assert broken in result.stdout


def test_a_service_importing_a_view_breaks_the_views_contract(copy):
    append(copy / "coop" / "payments" / "ledger.py", "from coop.invoicing import views  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "Views are imported by nothing but the app factory BROKEN" in result.stdout


def test_calling_another_modules_private_function_breaks_the_private_names_contract(copy):
    refunds = copy / "coop" / "payments" / "refunds.py"
    text = refunds.read_text(encoding="utf-8")
    refunds.write_text(
        text.replace("ledger.lock_member_ledger(member)", "ledger._succeeded_payments(member)"),
        encoding="utf-8",
    )
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "No module uses another's _private name BROKEN" in result.stdout
    assert "uses coop.payments.ledger._succeeded_payments, a private name" in result.stdout


def test_importing_another_modules_private_name_breaks_the_private_names_contract(copy):
    append(copy / "coop" / "home.py", "from coop.pages import _as_id  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "coop.home:" in result.stdout
    assert "uses coop.pages._as_id, a private name" in result.stdout


def test_the_app_importing_the_devtools_breaks_the_devtools_contract(copy):
    append(copy / "coop" / "payments" / "stripe_client.py", "import devtools.stripe_fake  # noqa")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "The app never imports the development tools BROKEN" in result.stdout
