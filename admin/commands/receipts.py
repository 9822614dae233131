"""`renkei verify-receipt FILE`: check a printed receipt's proof, with no database and no app.

FILE is a consent receipt (the JSON the API, ``renkei consent receipt`` and the receipt page's
download give), a person's history, or a resident's own download from the portal
(``/portal/data.json``): every record proof in it is checked (:mod:`core.receipt_proof`; the
procedure by hand: docs/receipts.md). Imports neither Flask, SQLAlchemy nor the models, and reads
no setting: it runs where no database is reachable.

``--trusted-keys PATH`` (a ``.pub`` file or a folder of them; repeatable): the checkpoint must be
signed by one of these keys. Without it, the key the receipt carries is used and its fingerprint
printed, to be compared with the one published at the address the receipt names.

Exit codes: 0 valid, 1 not valid (what differs is named), 2 the file cannot be read or holds no proof.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("verify-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trusted-keys", "trusted_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A trusted public key (.pub) or a folder of them; the checkpoint must be signed by one.")
def verify_receipt_command(file: Path, trusted_paths: tuple[Path, ...]) -> None:
    """Check a printed receipt (or a resident's download) without a database.

    Each record's hash is recomputed from its fields and the previous record's hash, and the signed
    checkpoint's signature is checked."""
    from core import receipt_proof, signing

    try:
        document = json.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        click.echo(f"{file} を JSON として読めません / {file} cannot be read as JSON: {error}", err=True)
        raise SystemExit(2) from None
    trusted = signing.load_trusted(trusted_paths) if trusted_paths else None
    results = receipt_proof.verify_document(document, trusted)
    if not results:
        click.echo(f"{file} に記録の証明がありません / {file} holds no record proof (format {receipt_proof.FORMAT})",
                   err=True)
        raise SystemExit(2)
    for result in results:
        head = f"{result.chain} #{result.seq} ({result.where})"
        if result.valid:
            click.echo(f"有効 / valid: {head}")
        else:
            click.echo(f"無効 / NOT valid: {head}")
        for ja, en in result.problems:
            click.echo(f"  ✗ {ja}\n    {en}")
        for ja, en in result.notes:
            click.echo(f"  ・{ja}\n    {en}")
    bad = [result for result in results if not result.valid]
    if bad:
        click.echo(f"この控えは無効です: {len(results)} 件中 {len(bad)} 件の記録が一致しません。"
                   f" / This receipt is NOT valid: {len(bad)} of {len(results)} record(s) do not match.")
        raise SystemExit(1)
    click.echo(f"この控えは有効です: {len(results)} 件の記録がすべて一致しました。"
               f" / This receipt is valid: all {len(results)} record(s) match.")
