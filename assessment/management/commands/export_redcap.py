"""``python manage.py export_redcap --site CODE --out DIR --as USERNAME``: the REDCap files of
one or more clinics (records, data dictionary, repeating-instruments set-up; see
assessment/interop/redcap.py and docs/INTEROP.md), as the named user, logged as one export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assessment import access, services
from assessment.interop import redcap
from assessment.management.people import (
    add_as_argument,
    add_site_argument,
    command_user,
    report_sites,
)
from assessment.models import ExportKind
from assessment.replica import on_replica

FILES = {"records": "redcap-records.csv", "dictionary": "redcap-data-dictionary.csv",
         "repeating": "redcap-repeating-instruments.csv"}


class Command(BaseCommand):
    help = ("Write a clinic's records as REDCap files (records CSV, data dictionary, repeating "
            "instruments) into DIR, as USERNAME (a data manager or reviewer there).")
    needs = access.REPORT

    @staticmethod
    def example_args(out_dir: Path) -> list[str]:
        return ["--out", str(out_dir)]

    def add_arguments(self, parser: Any) -> None:
        add_site_argument(parser)
        parser.add_argument("--out", required=True, metavar="DIR",
                            help="folder to write into (created; existing REDCap files in it "
                                 "are refused, never overwritten)")
        add_as_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = command_user(options["username"])
        sites = report_sites(user, options["site"])
        out = Path(options["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out: {out} is a file, not a folder.")
        taken = [name for name in FILES.values() if (out / name).exists()]
        if taken:
            raise CommandError(f"--out: {out / taken[0]} exists; choose an empty folder.")
        # Patient data: the folder and files are private to the account that runs this.
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        previous_umask = os.umask(0o077)
        try:
            # One log row for the whole run: the dictionary and the set-up file hold no
            # patient data.
            log = services.export_started(user=user, kind=ExportKind.REDCAP_RECORDS,
                                          channel="command",
                                          site_codes=[site.code for site in sites])
            counter = redcap.Counter()
            # The rows come from the read replica, if there is one.
            redcap.write_csv(out / FILES["records"],
                             on_replica(redcap.records(user, sites, counter=counter)))
            redcap.write_csv(out / FILES["dictionary"], redcap.dictionary_rows())
            redcap.write_csv(out / FILES["repeating"], redcap.repeating_rows())
            services.export_finished(log=log, patient_count=counter.patients)
        finally:
            os.umask(previous_umask)
        self.stdout.write(f"Wrote {counter.patients} patient(s) of "
                          f"{', '.join(site.name for site in sites)} to {out}: "
                          f"{', '.join(FILES.values())}.")
