"""Pictures for the manual (resources/help/img/): the real window on a small demo community, offscreen.

    python bench/help_screenshots.py [--out resources/help/img]    (needs no display)

Run it again after a screen changes; it prints each file and its size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="anju-help-"))
# An office screen (1366×768) rather than the offscreen default of 800×600, so windows and dialogs
# open at the size a clerk sees.
(TMP / "screen.json").write_text(
    '{"screens": [{"name": "office", "x": 0, "y": 0, "width": 1366, "height": 768, '
    '"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}', encoding="utf-8")
os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={TMP / 'screen.json'}"

MAX_WIDTH = 800  # the manual's pictures: small files, sharp enough to find a button


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources" / "help" / "img"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QWidget

    from app.models.demo.demo import create_demo_database
    from app.ui.app import build_window, ensure_application

    app = ensure_application()
    tmp = TMP
    os.environ["ANJU_DATA_DIR"] = str(tmp)  # the window's own settings stay out of the user's
    db_path = tmp / "demo.db"
    create_demo_database(db_path, households=60, seed=7)
    window = build_window(db_path, demo=True, user="李文（社区工作人员）")
    window.resize(1100, 680)
    window.show()

    def spin(until: Callable[[], bool] = lambda: False, seconds: float = 1.0) -> None:
        end = time.monotonic() + seconds
        while not until() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    total = 0

    def save(widget: QWidget, name: str) -> None:
        nonlocal total
        spin(seconds=0.4)
        image = widget.grab().toImage()
        if image.width() > MAX_WIDTH:
            image = image.scaledToWidth(MAX_WIDTH, Qt.TransformationMode.SmoothTransformation)
        # 256 colours: screens of flat colours lose nothing visible and the files shrink to a third.
        image = image.convertToFormat(QImage.Format.Format_Indexed8,
                                      Qt.ImageConversionFlag.ThresholdDither | Qt.ImageConversionFlag.AvoidDither)
        path = out / f"{name}.png"
        image.save(str(path), "PNG", 9)
        size = path.stat().st_size
        total += size
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {image.width()}×{image.height()}  "
              f"{size / 1024:.0f} KB")

    ctx = window.ctx
    # 户籍台账: a search by pinyin initials
    registry = window.tab("registryTab")
    window.tabs.setCurrentWidget(registry)
    spin(seconds=1.0)
    registry.search_box.setText("lz")
    registry.apply_search()
    spin(seconds=1.0)
    registry.table.selectRow(0)
    save(window, "registry")

    from app.ui.registry.household_dialog import HouseholdDialog

    household_id = registry.current_household_id()
    dialog = HouseholdDialog(ctx, household_id, window)
    dialog.show()
    save(dialog, "household")
    dialog.close()
    new = HouseholdDialog(ctx, None, window)
    new.show()
    save(new, "household_new")
    new.close()

    # F2: a visit
    registry.open_visit_entry()
    visit = registry._visit_dialog
    spin(seconds=0.5)
    save(visit, "visit")
    visit.close()

    # 楼栋网格: the due list
    places = window.tab("placesTab")
    window.tabs.setCurrentWidget(places)
    spin(lambda: not places.due.loading, 5)
    save(window, "places")

    # 就业培训: the figures, a list behind one, a job
    employment = window.tab("employmentTab")
    window.tabs.setCurrentWidget(employment)
    spin(lambda: employment.figures is not None and not employment._figures_running, 10)
    save(window, "employment")
    figure = employment.open_figure("unemployed")
    spin(lambda: figure.ready, 10)
    figure.resize(1000, 460)
    save(figure, "figure_list")
    figure.close()
    from app.ui.employment.employment_dialogs import JobDialog

    job = JobDialog(ctx, parent=window)
    job.show()
    save(job, "job")
    job.close()

    # 矛盾调解: the ledger and a new case
    mediation = window.tab("mediationTab")
    window.tabs.setCurrentWidget(mediation)
    spin(seconds=1.0)
    save(window, "mediation")
    from app.ui.mediation.mediation_dialogs import CaseDialog

    case = CaseDialog(window, ctx)
    case.show()
    save(case, "case")
    case.close()

    # Excel, printing, sync
    from app.ui.excel.export_dialog import ExportDialog

    export = ExportDialog(ctx, window)
    export.show()
    save(export, "export")
    export.close()
    from app.ui.printing.printing import PrintJob, PrintPreview

    number = ctx.db.scalar("SELECT number FROM household WHERE id = ?", (household_id,))
    preview = PrintPreview(ctx, PrintJob.select(ctx.db, "household-card", {"household": number}), window)
    preview.dialog.resize(900, 700)
    preview.dialog.show()
    spin(seconds=1.5)
    save(preview.dialog, "print")
    preview.dialog.close()
    from app.ui.sync.sync_dialog import SyncDialog

    sync = SyncDialog(ctx, window)
    sync.show()
    save(sync, "sync")
    sync.close()

    window.tabs.setCurrentWidget(registry)
    window.shutdown()
    print(f"total {total / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
