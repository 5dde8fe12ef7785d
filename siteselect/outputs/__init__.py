"""What a run delivers: atomic files, the interactive map, the report and its figures.

The last step of the data flow: ``files`` (GeoPackage, GeoParquet, CSV, run.json,
written to a staging folder and swapped in at once), ``manifest`` (inputs and
their hashes), ``context`` (roads and layers drawn for orientation), ``map``
(the folium web map), ``report`` and ``figures``.
"""

from siteselect.outputs.files import OUTPUT_FILES, WRITERS, check_output_folder, write_outputs

__all__ = ["OUTPUT_FILES", "WRITERS", "check_output_folder", "write_outputs"]
