"""The export formats: one writer class per format."""

from jobrunner.reports.writers.base import RowProgress, Writer
from jobrunner.reports.writers.csv import CsvWriter
from jobrunner.reports.writers.json import JsonWriter
from jobrunner.reports.writers.xlsx import XlsxWriter

WRITERS: dict[str, type[Writer]] = {w.format: w for w in (CsvWriter, JsonWriter, XlsxWriter)}

__all__ = ["WRITERS", "CsvWriter", "JsonWriter", "RowProgress", "Writer", "XlsxWriter"]
