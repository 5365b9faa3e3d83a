"""A call's drawings and documents: checked by their content, kept under a safe name."""

from pathlib import PurePosixPath

from flask import current_app
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from coop.errors import DomainError
from coop.extensions import db
from coop.relocation.calls import lock_call
from coop.relocation.models import CallFile, CallStatus, ManufacturerCall

MAX_FILES = 20

# What a call's files may be: the kind is read from the content's first bytes, never from
# the name or the browser's word, and the file is served back as this type only.
FILE_KINDS = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".dxf": "image/vnd.dxf",
    ".step": "model/step",
    ".stp": "model/step",
}
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "model/step": (b"ISO-10303-21;",),
}


def file_kind(filename: str, content: bytes) -> str:
    """The file's type (FILE_KINDS), read from its name's ending and checked on its content."""
    suffix = PurePosixPath(filename.lower()).suffix
    kind = FILE_KINDS.get(suffix)
    if kind is None:
        raise DomainError(
            _("Fichier refusé : seuls les PDF, PNG, JPEG, DXF et STEP sont acceptés."),
            field="file",
        )
    if not (_is_dxf(content) if kind == "image/vnd.dxf" else content.startswith(SIGNATURES[kind])):
        raise DomainError(
            _(
                "Le contenu de « %(name)s » n'est pas celui d'un fichier %(kind)s.",
                name=filename,
                kind=suffix.lstrip(".").upper(),
            ),
            field="file",
        )
    return kind


def _is_dxf(content: bytes) -> bool:
    """A binary DXF's header, or a text DXF: no NUL byte, and a SECTION early on."""
    if content.startswith(b"AutoCAD Binary DXF"):
        return True
    head = content[:4096]
    return b"\x00" not in head and b"SECTION" in head


def safe_filename(filename: str) -> str:
    """The name a file is kept and served under: ASCII, no path, at most 200 characters."""
    name = secure_filename(filename or "")
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix.lower()
    if not stem:
        stem = "fichier"
    return stem[: 200 - len(suffix)] + suffix


def add_file(call: ManufacturerCall, filename: str, content: bytes) -> CallFile:
    """Attach a drawing or a document to a call that is not closed."""
    lock_call(call)
    if call.status is CallStatus.CLOSED:
        raise DomainError(_("L'appel %(code)s est clos.", code=call.code))
    if len(call.files) >= MAX_FILES:
        raise DomainError(_("%(max)d fichiers au plus par appel.", max=MAX_FILES), field="file")
    if not content:
        raise DomainError(_("Ce fichier est vide."), field="file")
    # COOP_MAX_UPLOAD_MB: the request is refused past it; a file given otherwise is held to it.
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and len(content) > limit:
        raise DomainError(
            _("Fichier trop gros : %(max)s Mo au plus.", max=limit // (1024 * 1024)),
            field="file",
        )
    name = safe_filename(filename)
    kind = file_kind(name, content)
    attached = CallFile(filename=name, content_type=kind, size=len(content), content=content)
    call.files.append(attached)
    db.session.flush()
    return attached


def remove_file(call: ManufacturerCall, attached: CallFile) -> None:
    lock_call(call)
    if call.status is CallStatus.CLOSED:
        raise DomainError(_("L'appel %(code)s est clos.", code=call.code))
    call.files.remove(attached)
    db.session.flush()
