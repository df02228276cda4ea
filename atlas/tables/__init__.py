"""Table deliverables: their Frictionless Table Schemas (``schema``) and the XLSX templates made from them
(``template``). A shared module: it imports no stage, so intake, checks, products and the demo all use it."""

from atlas.tables.schema import TableField, TableResource, TableSpec, load_table_spec, table_deliverables

__all__ = ["TableField", "TableResource", "TableSpec", "load_table_spec", "table_deliverables"]
