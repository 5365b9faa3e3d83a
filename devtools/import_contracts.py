"""An import-linter contract type import-linter lacks: no module uses another's `_private` name.

A leading underscore says "this module's own business": `ledger._lock(member)` from
refunds.py ties refunds to a detail the ledger may change. The contract reads the
source of every module of the packages it checks and reports both shapes:

- `from coop.payments.ledger import _lock` (or a relative `from .ledger import _lock`);
- `ledger._lock(...)`, where `ledger` names a module of those packages, however it was
  imported (`import coop.payments.ledger as ledger`, `from coop.payments import ledger`,
  or the full `coop.payments.ledger._lock`).

Dunder names (`__version__`) are public. A module may use its own private names.
Configured in .importlinter with `contract_types = private_names: devtools.import_contracts.
PrivateNamesContract`; options: `source_packages` (the packages to read) and
`ignore_names` (`module:name` pairs allowed anyway, each with a comment saying why).
"""

import ast
import importlib.util
from dataclasses import dataclass

import grimp
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True)
class PrivateUse:
    importer: str  # the module using the name
    line: int
    owner: str  # the module the name belongs to
    name: str


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an `ImportFrom` names, relative ones included."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None when the chain does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def private_uses(module: str, source: str, is_package: bool, modules: set[str]) -> list[PrivateUse]:
    """Every private name of another module of `modules` that `module`'s source uses."""
    tree = ast.parse(source)
    found = []
    bound: dict[str, str] = {}  # a local name -> the module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules or alias.name.split(".")[0] in modules:
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            source_module = _resolve_from(module, is_package, node)
            for alias in node.names:
                full = f"{source_module}.{alias.name}"
                if full in modules:
                    bound[alias.asname or alias.name] = full
                elif (
                    source_module in modules and source_module != module and _is_private(alias.name)
                ):
                    found.append(PrivateUse(module, node.lineno, source_module, alias.name))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
            continue
        chain = _dotted(node.value)
        if not chain or chain[0] not in bound:
            continue
        owner = ".".join([bound[chain[0]], *chain[1:]])
        if owner in modules and owner != module:
            found.append(PrivateUse(module, node.lineno, owner, node.attr))
    return sorted(set(found), key=lambda u: (u.importer, u.line, u.name))


class PrivateNamesContract(Contract):
    type_name = "private_names"

    source_packages = fields.ListField(subfield=fields.StringField())
    ignore_names = fields.SetField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        packages = list(self.source_packages)  # type: ignore[arg-type]
        modules = {
            m for m in graph.modules if any(m == p or m.startswith(p + ".") for p in packages)
        }
        allowed = set(self.ignore_names or ())  # type: ignore[arg-type]
        uses = []
        for module in sorted(modules):
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.origin or not spec.origin.endswith(".py"):
                continue
            with open(spec.origin, encoding="utf-8") as file:
                source = file.read()
            is_package = spec.submodule_search_locations is not None
            for use in private_uses(module, source, is_package, modules):
                if f"{use.owner}:{use.name}" not in allowed:
                    uses.append(use)
        return ContractCheck(kept=not uses, metadata={"uses": uses})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for use in check.metadata["uses"]:
            output.print_error(
                f"{use.importer}:{use.line} uses {use.owner}.{use.name}, a private name",
                bold=False,
            )
            output.new_line()
