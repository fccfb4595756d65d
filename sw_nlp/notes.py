"""Case notes: one case per file (.txt, .md, .docx, .pdf), alone or in a folder.

A note that cannot be read still comes out as a row, with its error; a folder's links that
lead outside it are never followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sw_nlp.errors import InputError
from sw_nlp.readers import Chunk, Source
from sw_nlp.safe_read import MAX_DOCX_UNPACKED, check_unpacked_size
from sw_nlp.sniff import ARTICLED, detect_encoding, sniff_format

NOTE_SUFFIXES = {".txt", ".md", ".docx", ".pdf"}


def open_folder(path: Path, chunk_size: int, recursive: bool = False) -> Source:
    """One case per note file in the folder, and with ``recursive`` in its subfolders (without
    it, subfolders are named in a note). Hidden files and folders are left out.

    Broken links and unreadable entries are kept: they come out as rows with an error. Links
    that lead outside the folder, and linked folders, are skipped and named in the summary:
    classifying a folder must not read (and show the words of) a file from elsewhere.
    """
    from sw_nlp.pii import mask_pii

    def shown(names: list[str]) -> str:
        listed = ", ".join(" ".join(mask_pii(name).split()) for name in names[:20])
        return listed + (f" and {len(names) - 20} more" if len(names) > 20 else "")

    root = path.resolve()
    files: list[Path] = []
    subfolders: list[str] = []
    linked_folders: list[str] = []
    pending = [path]
    while pending:
        folder = pending.pop()
        for entry in folder.iterdir():
            if entry.name.startswith((".", "~$")):
                continue
            name = entry.relative_to(path).as_posix()
            if entry.is_dir():
                if entry.is_symlink():
                    linked_folders.append(name)
                elif recursive:
                    pending.append(entry)
                else:
                    subfolders.append(name)
            else:
                files.append(entry)
    files.sort(key=lambda p: p.relative_to(path).as_posix())
    outside = {p for p in files if p.is_symlink() and not _inside(p, root)}
    files = [p for p in files if p not in outside]
    skipped = [p for p in files if p.suffix.lower() not in NOTE_SUFFIXES]
    notes = [f"skipped {len(skipped)} file(s) that are not .txt/.md/.docx/.pdf"] if skipped else []
    if subfolders:  # not read: say so, rather than leave the user to count rows
        notes.append(
            f"skipped {len(subfolders)} subfolder(s), not read (--recursive reads them): "
            f"{shown(sorted(subfolders))}"
        )
    if outside:
        names = sorted(p.relative_to(path).as_posix() for p in outside)
        notes.append(f"skipped {len(names)} link(s) to files outside the folder: {shown(names)}")
    if linked_folders:
        notes.append(
            f"skipped {len(linked_folders)} linked folder(s), not followed: "
            f"{shown(sorted(linked_folders))}"
        )
    files = [p for p in files if p.suffix.lower() in NOTE_SUFFIXES]
    if not files:
        raise InputError("no .txt, .md, .docx or .pdf files in the folder", path)
    return open_notes(path, files, chunk_size, notes)


def _inside(link: Path, root: Path) -> bool:
    try:
        return link.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop: nothing can be read through it, so it
        return True  # stays, and comes out as a row with its read error


def open_notes(
    path: Path,
    files: list[Path],
    chunk_size: int,
    notes: list[str] | None = None,
    fmt: str | None = None,
) -> Source:
    """One case per file, the file name as its id; ``fmt`` reads them as that format."""

    def chunks() -> Iterator[Chunk]:
        for offset in range(0, len(files), chunk_size):
            part = files[offset : offset + chunk_size]
            texts, errors = [], []
            for file in part:
                text, error = read_note(file, fmt)
                texts.append(text)
                errors.append(error)
            yield Chunk(
                rows=list(range(offset + 1, offset + 1 + len(part))),
                ids={"file": [_note_id(path, p) for p in part]},
                texts=texts,
                errors=errors,
            )

    return Source(path, "notes", None, ["file"], len(files), chunks(), notes or [])


def _note_id(root: Path, file: Path) -> str:
    """A note's id: its path inside the folder read (its name, for a single note)."""
    return file.relative_to(root).as_posix() if root.is_dir() else file.name


def read_note(path: Path, fmt: str | None = None) -> tuple[str, str]:
    """(text, error) of one case note, read as ``fmt`` (default: by its suffix); never
    raises for a bad file."""
    suffix = f".{fmt}" if fmt else path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            return "", "empty file"
        if suffix in (".txt", ".md"):
            if (content := sniff_format(path)) != "text":
                # A PDF or image named .txt would come out as a row of mojibake, classified.
                return "", f"this looks like {ARTICLED.get(content, 'a binary')} file, not text"
            encoding = detect_encoding(path)
            return path.read_text(encoding=encoding, errors="replace"), ""
        if suffix == ".docx":
            import docx

            if problem := check_unpacked_size(path, MAX_DOCX_UNPACKED):
                return "", problem

            document = docx.Document(str(path))
            return "\n".join(p.text for p in document.paragraphs), ""
        if suffix == ".pdf":
            import pypdf

            reader = pypdf.PdfReader(str(path))
            text = "\n".join((page.extract_text() or "") for page in reader.pages)
            if reader.pages and not text.strip():
                # Pages but no text layer: a scan or photo. "empty text" would send the user
                # looking for a blank document; what is missing is OCR.
                return "", (
                    f"no text in the PDF's {len(reader.pages)} page(s): a scan or image? "
                    "It needs OCR first (e.g. ocrmypdf)"
                )
            return text, ""
    except PermissionError:
        return "", "file not readable (permission denied)"
    except FileNotFoundError:
        return "", "file not found (broken link?)"
    except Exception as exc:  # a corrupt .docx/.pdf raises library-specific errors
        return "", f"unreadable {suffix} file ({type(exc).__name__})"
    return "", f"unsupported file type {suffix}"
