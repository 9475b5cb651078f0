"""The Dagster side: a folder per pipeline stage (its asset, its checks), each calling the library.

    defs/<stage>/assets.py   the stage's asset: one `multi_asset` whose specs are the lake tables the
                             stage writes (claimback.stages.WRITES), so each table is an asset of its
                             own, with its description and columns from claimback/schema.py
    defs/<stage>/checks.py   asset checks on those tables
    defs/specs.py            the specs, and their upstream assets, from claimback.stages WRITES/READS;
                             `stage_asset`, the multi-asset decorator every stage uses
    defs/resources.py        the one resource: the run's Settings
    defs/metadata.py         small frames and counts as metadata an analyst can read

pipelines/definitions.py loads every asset and check found under this package.
"""
